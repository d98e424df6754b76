"""The campaign dashboard in the admin: filters, KPI tiles, SVG charts, CSV export."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from campaigns.inputs import is_id
from campaigns.models import Campaign

from . import charts, selectors
from .models import AttributionModel, DailyMetric

MAX_DAYS = 366
CSV_COLUMNS = ["day", "channel", *selectors.SUMMED, "open_rate", "click_rate", "reply_rate", "bounce_rate", "roi"]


class FilterError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Filters:
    campaign: Campaign | None
    start: date
    end: date


def _date(params: dict[str, str], name: str, default: date) -> date:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FilterError(name, f"{raw!r} is not a date (YYYY-MM-DD)") from None


def filters_parse(params: dict[str, str]) -> Filters:
    """Read ``campaign``, ``from`` and ``to``; FilterError names the bad field."""
    today = timezone.now().date()
    end = _date(params, "to", today)
    if params.get("from", "").strip():
        start = _date(params, "from", end)
    elif end < date.min + timedelta(days=29):
        raise FilterError("to", "too early to count 30 days back from; give a 'from' date")
    else:
        start = end - timedelta(days=29)
    if start > end:
        raise FilterError("from", "must be on or before 'to'")
    if (end - start).days + 1 > MAX_DAYS:
        raise FilterError("from", f"the range is limited to {MAX_DAYS} days")
    campaign = None
    raw = params.get("campaign", "").strip()
    if raw:
        if not is_id(raw):
            raise FilterError("campaign", f"{raw!r} is not a campaign id")
        campaign = Campaign.objects.filter(pk=int(raw)).first()
        if campaign is None:
            raise FilterError("campaign", f"no campaign with id {raw}")
    return Filters(campaign, start, end)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(n) for n in range((end - start).days + 1)]


def _series(rows: list[dict], days: list[date], field: str) -> list[float]:
    by_day = {r["day"]: float(r[field] or 0) for r in rows}
    return [by_day.get(d, 0.0) for d in days]


def dashboard_context(f: Filters) -> dict[str, Any]:
    cid = f.campaign.pk
    days = _days(f.start, f.end)
    daily = selectors.metrics_by_day(campaign_id=cid, start=f.start, end=f.end)
    per_channel = list(selectors.metrics_list(campaign_id=cid, start=f.start, end=f.end).values())
    channels = sorted({r["channel"] for r in per_channel})
    totals = selectors.metrics_totals(campaign_id=cid, start=f.start, end=f.end)
    posts = selectors.metrics_by_post(campaign_id=cid, start=f.start, end=f.end, limit=10)
    credit = selectors.attribution_by_model(campaign_id=cid, start=f.start, end=f.end, by="channel")
    credit_channels = sorted({r["channel"] for r in credit})
    by_model = {m.label: [0.0] * len(credit_channels) for m in AttributionModel}
    labels = dict(AttributionModel.choices)
    for r in credit:
        by_model[labels[r["model"]]][credit_channels.index(r["channel"])] = r["revenue"]

    def channel_series(field: str) -> dict[str, list[float]]:
        out = {c or "(none)": _series([r for r in per_channel if r["channel"] == c], days, field) for c in channels}
        return {c: vs for c, vs in out.items() if any(vs)}

    return {
        "totals": totals,
        "by_channel": selectors.metrics_by_channel(campaign_id=cid, start=f.start, end=f.end),
        "roi": selectors.roi_by_channel(campaign_id=cid, start=f.start, end=f.end),
        "posts": posts,
        "charts": [
            charts.line_chart(
                "Daily activity (all channels)",
                days,
                {
                    "sends": _series(daily, days, "sends"),
                    "opens": _series(daily, days, "opens"),
                    "clicks": _series(daily, days, "clicks"),
                    "replies": _series(daily, days, "replies"),
                },
            ),
            charts.line_chart(
                "Leads per day",
                days,
                {
                    "captured": _series(daily, days, "leads_captured"),
                    "contacted": _series(daily, days, "leads_contacted"),
                    "qualified": _series(daily, days, "leads_qualified"),
                },
            ),
            charts.line_chart("Sends per channel", days, channel_series("sends")),
            charts.line_chart("Clicks per channel", days, channel_series("clicks")),
            charts.bar_chart(
                "Post performance (tracked clicks)", [(f"{p['post']} · {p['platform']}", p["clicks"]) for p in posts]
            ),
            charts.grouped_bar_chart("Revenue credited by attribution model", credit_channels or [], by_model),
        ],
    }


def csv_response(f: Filters) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{f.campaign.slug}-{f.start}-{f.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    rows = selectors.metrics_list(campaign_id=f.campaign.pk, start=f.start, end=f.end, channel=None).values()
    totals = selectors.metrics_list(campaign_id=f.campaign.pk, start=f.start, end=f.end, channel=DailyMetric.ALL)
    for row in sorted(
        [*rows, *totals.values()], key=lambda r: (r["day"], r["channel"] == DailyMetric.ALL, r["channel"])
    ):
        full = selectors.rates(row)
        writer.writerow(["" if full[c] is None else full[c] for c in CSV_COLUMNS])
    return response


def dashboard_view(request: HttpRequest, model_admin: admin.ModelAdmin) -> HttpResponse:
    try:
        f = filters_parse(request.GET.dict())
    except FilterError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    if f.campaign is not None and request.GET.get("format") == "csv":
        return csv_response(f)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Dashboard: {f.campaign}" if f.campaign else "Campaign dashboard",
        "opts": model_admin.model._meta,
        "campaigns": Campaign.objects.order_by("name").only("pk", "name"),
        "filters": f,
        "query": request.GET.urlencode(),
    }
    if f.campaign is not None:
        context.update(dashboard_context(f))
    return TemplateResponse(request, "admin/analytics/dashboard.html", context)

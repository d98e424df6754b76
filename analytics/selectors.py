"""Read access to analytics for the admin, the weekly summary and the API (metrics and attribution)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, FloatField, QuerySet, Sum
from django.db.models.functions import Coalesce

from campaigns.models import Event
from publishing.models import PublishTarget

from .models import AttributionCredit, DailyMetric, MetricSnapshot

SUMMED = [
    "sends", "delivered", "opens", "clicks", "replies", "bounces", "complaints", "unsubscribes",
    "leads_captured", "leads_contacted", "leads_responded", "leads_qualified", "leads_targeted",
    "posts_published", "conversions", "revenue", "spend",
]  # fmt: skip


def rates(row: dict[str, Any]) -> dict[str, Any]:
    """Add open/click/reply/bounce rates and ROI to a row of summed counters."""
    sends = row.get("sends") or 0
    spend = float(row.get("spend") or 0)
    out = dict(row)
    for name, part in (("open_rate", "opens"), ("click_rate", "clicks"), ("reply_rate", "replies"),
                       ("bounce_rate", "bounces"), ("complaint_rate", "complaints")):  # fmt: skip
        out[name] = round(row.get(part, 0) / sends, 4) if sends else None
    out["roi"] = round((float(row.get("revenue") or 0) - spend) / spend, 4) if spend else None
    return out


def metrics_list(
    *, campaign_id: int | None = None, start: date | None = None, end: date | None = None, channel: str | None = None
) -> QuerySet[DailyMetric]:
    """Daily rows; ``channel="all"`` for campaign totals, None for every channel row (not totals)."""
    qs = DailyMetric.objects.all()
    if campaign_id is not None:
        qs = qs.filter(campaign_id=campaign_id)
    if start:
        qs = qs.filter(day__gte=start)
    if end:
        qs = qs.filter(day__lte=end)
    qs = qs.exclude(channel=DailyMetric.ALL) if channel is None else qs.filter(channel=channel)
    return qs.order_by("day", "channel")


def metrics_by_day(*, campaign_id: int, start: date, end: date, channel: str = DailyMetric.ALL) -> list[dict]:
    return [rates(r) for r in metrics_list(campaign_id=campaign_id, start=start, end=end, channel=channel).values()]


def metrics_by_channel(*, campaign_id: int, start: date, end: date) -> list[dict]:
    """Counters summed over the range per channel, with rates and ROI. Lead counts are per-day sums."""
    qs = metrics_list(campaign_id=campaign_id, start=start, end=end).values("channel")
    return [rates(r) for r in qs.annotate(**{f: Sum(f) for f in SUMMED}).order_by("channel")]


def metrics_totals(*, campaign_id: int, start: date, end: date) -> dict:
    qs = metrics_list(campaign_id=campaign_id, start=start, end=end, channel=DailyMetric.ALL)
    row = qs.aggregate(**{f: Sum(f) for f in SUMMED})
    return rates({k: (v or 0) for k, v in row.items()})


def metrics_by_post(*, campaign_id: int, start: date, end: date, limit: int = 10) -> list[dict]:
    """Posts of the campaign by tracked clicks in the range, with their latest platform counters."""
    clicks = (
        Event.objects.filter(
            campaign_id=campaign_id,
            kind="click",
            target_id__isnull=False,
            occurred_at__date__gte=start,
            occurred_at__date__lte=end,
        )
        .values("target_id")
        .annotate(clicks=Count("id"))
    )
    by_target = {r["target_id"]: r["clicks"] for r in clicks}
    targets = PublishTarget.objects.filter(post__campaign_id=campaign_id, status=PublishTarget.Status.PUBLISHED)
    rows = []
    latest: dict[int, MetricSnapshot] = {}
    for snap in MetricSnapshot.objects.filter(target__in=targets, day__lte=end).order_by("target_id", "day"):
        latest[snap.target_id] = snap
    for target in targets.select_related("post", "account"):
        snap = latest.get(target.pk)
        rows.append({
            "target_id": target.pk, "post_id": target.post_id, "post": target.post.title,
            "platform": target.account.platform, "url": target.platform_url,
            "clicks": by_target.get(target.pk, 0),
            "impressions": snap.impressions if snap else 0, "likes": snap.likes if snap else 0,
            "replies": snap.replies if snap else 0, "reposts": snap.reposts if snap else 0,
        })  # fmt: skip
    rows.sort(key=lambda r: (-r["clicks"], -r["impressions"], r["target_id"]))
    return rows[:limit]


def attribution_by_model(*, campaign_id: int | None = None, start: date, end: date, by: str = "channel") -> list[dict]:
    """Credit and revenue per model and ``by`` ("channel", "campaign_id", "target_id" or "day")."""
    if by not in ("channel", "campaign_id", "target_id", "day"):
        raise ValueError("by: one of channel, campaign_id, target_id, day")
    qs = AttributionCredit.objects.filter(day__gte=start, day__lte=end)
    if campaign_id is not None:
        qs = qs.filter(campaign_id=campaign_id)
    return list(
        qs.values("model", by)
        .annotate(credit=Sum("credit", output_field=FloatField()), revenue=Sum("revenue", output_field=FloatField()))
        .order_by("model", by)
    )


def attribution_by_post(*, campaign_id: int, start: date, end: date, model: str) -> list[dict]:
    """Credit per post (its targets summed) for one model."""
    rows = (
        AttributionCredit.objects.filter(
            campaign_id=campaign_id, model=model, day__gte=start, day__lte=end, target_id__isnull=False
        )
        .values("target_id")
        .annotate(credit=Sum("credit"), revenue=Sum("revenue"))
    )
    posts = dict(PublishTarget.objects.filter(pk__in=[r["target_id"] for r in rows]).values_list("pk", "post_id"))
    out: dict[int, dict] = {}
    for r in rows:
        post_id = posts.get(r["target_id"])
        if post_id is None:
            continue
        agg = out.setdefault(post_id, {"post_id": post_id, "credit": 0.0, "revenue": 0.0})
        agg["credit"] += r["credit"]
        agg["revenue"] += r["revenue"]
    return sorted(out.values(), key=lambda r: -r["revenue"])


def roi_by_channel(*, campaign_id: int, start: date, end: date, model: str = "linear") -> list[dict]:
    """Attributed revenue (one model) against spend per channel: ROI = (revenue − spend) / spend."""
    revenue = {r["channel"]: r["revenue"] for r in attribution_by_model(campaign_id=campaign_id, start=start, end=end)
               if r["model"] == model}  # fmt: skip
    spend = {
        r["channel"]: float(r["spend"] or 0)
        for r in metrics_list(campaign_id=campaign_id, start=start, end=end)
        .order_by()
        .values("channel")
        .annotate(spend=Sum("spend"))
    }
    out = []
    for channel in sorted(set(revenue) | set(spend)):
        s, r = spend.get(channel, 0.0), revenue.get(channel, 0.0)
        out.append({"channel": channel, "revenue": round(r, 2), "spend": round(s, 2),
                    "roi": round((r - s) / s, 4) if s else None})  # fmt: skip
    return out


def qualified_leads_count(*, campaign_id: int) -> int:
    """Distinct leads of the campaign qualified or converted, all time (the 'clients reached')."""
    return Event.objects.filter(
        campaign_id=campaign_id, kind__in=("lead_qualified", "conversion"), lead_id__isnull=False
    ).aggregate(n=Count("lead_id", distinct=True))["n"]


def window_totals(*, campaign_id: int, start: date, end: date) -> dict:
    row = metrics_list(campaign_id=campaign_id, start=start, end=end, channel=DailyMetric.ALL).aggregate(
        sends=Coalesce(Sum("sends"), 0), bounces=Coalesce(Sum("bounces"), 0),
        replies=Coalesce(Sum("replies"), 0), complaints=Coalesce(Sum("complaints"), 0),
    )  # fmt: skip
    return row

"""The weekly summary email of a campaign, sent to its owner (action ``weekly_summary``)."""

from __future__ import annotations

from datetime import date, timedelta

from campaigns.models import Campaign

from . import selectors
from .models import AttributionModel


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(week: str) -> tuple[date, date]:
    """Monday and Sunday of an ISO week such as ``2026-W48``; ValueError names the field."""
    try:
        year, number = week.split("-W")
        monday = date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        raise ValueError(f"week: {week!r} is not an ISO week like 2026-W48") from None
    return monday, monday + timedelta(days=6)


def summary_text(campaign: Campaign, *, week: str) -> str:
    start, end = week_bounds(week)
    t = selectors.metrics_totals(campaign_id=campaign.pk, start=start, end=end)

    def pct(v: float | None) -> str:
        return "–" if v is None else f"{v:.1%}"

    lines = [
        f"{campaign.name} — week {week} ({start} to {end})",
        "",
        f"Sends: {t['sends']}   opens: {t['opens']} ({pct(t['open_rate'])})   clicks: {t['clicks']} ({pct(t['click_rate'])})",
        f"Replies: {t['replies']} ({pct(t['reply_rate'])})   bounces: {t['bounces']} ({pct(t['bounce_rate'])})",
        f"Leads: {t['leads_captured']} captured, {t['leads_contacted']} contacted, {t['leads_qualified']} qualified",
        f"Posts published: {t['posts_published']}   revenue: {t['revenue']}   spend: {t['spend']}"
        + (f"   ROI: {t['roi']:.2f}" if t["roi"] is not None else ""),
        "",
        "Top posts:",
    ]
    top = selectors.metrics_by_post(campaign_id=campaign.pk, start=start, end=end, limit=5)
    lines += [f"  {p['post']} on {p['platform']}: {p['clicks']} clicks, {p['impressions']} impressions" for p in top]
    if not top:
        lines.append("  (none published)")
    lines += ["", "Attribution (revenue credited to this campaign):"]
    credit = selectors.attribution_by_model(campaign_id=campaign.pk, start=start, end=end, by="campaign_id")
    by_model = {r["model"]: r for r in credit}
    for model in AttributionModel:
        r = by_model.get(model.value)
        lines.append(f"  {model.label}: {r['credit']:.2f} conversions, {r['revenue']:.2f} revenue" if r
                     else f"  {model.label}: none")  # fmt: skip
    return "\n".join(lines) + "\n"

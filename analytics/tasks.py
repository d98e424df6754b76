"""Functions django-q2 runs on a schedule (config/schedules.py). They only enqueue actions."""

from __future__ import annotations


def enqueue_metric_fetches() -> str:
    from .collection import metric_fetches_enqueue

    return f"{len(metric_fetches_enqueue())} fetch_metrics action(s) due"


def enqueue_rollup() -> str:
    """Every 15 minutes: the incremental rollup; once a day also yesterday and today in full."""
    from datetime import timedelta

    from django.utils import timezone

    from campaigns.actions import action_enqueue

    from .rollups import unsupported_reason

    if reason := unsupported_reason():
        return f"not enqueued: {reason}"
    now = timezone.now()
    slot = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    action_enqueue(key=f"rollup_metrics:{slot:%Y%m%dT%H%M}", action_type="rollup_metrics", payload={})
    today = now.date()
    action_enqueue(
        key=f"rollup_metrics:days:{today:%Y%m%d}",
        action_type="rollup_metrics",
        payload={"start": (today - timedelta(days=1)).isoformat(), "end": today.isoformat()},
    )
    return "rollup_metrics enqueued"


def enqueue_weekly_summaries() -> str:
    """Weekly: one ``weekly_summary`` action per active campaign with an owner, for the week just ended."""
    from datetime import timedelta

    from django.utils import timezone

    from campaigns.actions import action_enqueue
    from campaigns.models import Campaign

    from .summary import iso_week

    week = iso_week(timezone.now().date() - timedelta(days=7))
    campaigns = Campaign.objects.filter(
        status__in=[Campaign.Status.RUNNING, Campaign.Status.PAUSED, Campaign.Status.COMPLETED], owner__isnull=False
    ).exclude(owner__email="")
    n = 0
    for campaign in campaigns.only("pk"):
        action_enqueue(key=f"weekly_summary:{campaign.pk}:{week}", action_type="weekly_summary",
                       payload={"campaign_id": campaign.pk, "week": week}, campaign=campaign)  # fmt: skip
        n += 1
    return f"{n} weekly summary action(s) for {week}"

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

"""Functions django-q2 runs on a schedule (config/schedules.py). They only enqueue actions."""

from __future__ import annotations


def enqueue_metric_fetches() -> str:
    from .collection import metric_fetches_enqueue

    return f"{len(metric_fetches_enqueue())} fetch_metrics action(s) due"

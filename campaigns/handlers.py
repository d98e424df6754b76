"""Handlers that belong to the queue itself."""

from __future__ import annotations

from .models import Action
from .outcomes import Outcome


def noop(action: Action) -> Outcome:
    """Does nothing; used by health checks and the queue benchmark."""
    return Outcome.ok()


def event_partitions(action: Action) -> Outcome:
    """Daily: the event log's next months exist before their first event; old months leave it when
    EVENT_RETENTION_MONTHS is set (detached, not dropped: see campaigns/event_partitions.py)."""
    from django.conf import settings

    from .event_partitions import NotPartitioned, event_partitions_detach, event_partitions_ensure

    try:
        created = event_partitions_ensure()
        detached = (
            event_partitions_detach(older_than_months=settings.EVENT_RETENTION_MONTHS)
            if settings.EVENT_RETENTION_MONTHS
            else []
        )
    except NotPartitioned as exc:
        return Outcome.skipped(str(exc))
    return Outcome.ok(f"created: {', '.join(created) or 'none'}; detached: {', '.join(detached) or 'none'}",
                      result={"created": created, "detached": detached})  # fmt: skip

"""Read-only queries of the publishing app (the API and the admin read through these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from campaigns.audit import audit_trail
from campaigns.models import Action, ActionLog

from .models import PublishTarget


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    source: str  # "target", "post", "queue"
    what: str
    detail: str
    actor: str = ""


def target_actions(target: PublishTarget):
    return Action.objects.filter(
        Q(idempotency_key__startswith=f"post_social:{target.pk}:")
        | Q(idempotency_key__startswith=f"reconcile_publish:{target.pk}:")
    )


def target_timeline(target: PublishTarget) -> list[TimelineEntry]:
    """Why it went out, or why not: approvals, enqueues, every gate decision, attempt and outcome, in order."""
    entries = [
        TimelineEntry(e.created_at, "post", e.action, e.note or f"{e.old} → {e.new}", e.actor_label)
        for e in audit_trail(target.post)
    ]
    entries += [
        TimelineEntry(e.created_at, "target", e.action, e.note or f"{e.old} → {e.new}", e.actor_label)
        for e in audit_trail(target)
    ]
    actions = list(target_actions(target))
    entries += [TimelineEntry(a.created_at, "queue", "enqueued", a.idempotency_key) for a in actions]
    entries += [
        TimelineEntry(log.created_at, "queue", f"attempt {log.attempt}: {log.status}", log.message, log.actor_label)
        for log in ActionLog.objects.filter(action__in=actions).select_related("action")
    ]
    return sorted(entries, key=lambda e: e.at)

"""Tick producers of the publishing app (registered in settings.TICK_PRODUCERS)."""

from __future__ import annotations

from datetime import datetime

from campaigns.models import Action, Campaign

from .models import PublishTarget
from .services import target_enqueue

DUE_BATCH = 500


def due_targets_query(*, campaign_id: int, now: datetime):
    """Scheduled targets whose time has come, oldest first (uses the partial index target_due)."""
    return (
        PublishTarget.objects.filter(
            status=PublishTarget.Status.SCHEDULED, due_at__lte=now, post__campaign_id=campaign_id
        )
        .select_related("post")
        .order_by("due_at", "pk")
    )


def due_targets(*, campaign: Campaign, now: datetime, parent: Action, force_proof: bool = False) -> int:
    """Enqueue a publish action (deterministic key) for each due target; returns how many are new."""
    created = 0
    for target in due_targets_query(campaign_id=campaign.pk, now=now)[:DUE_BATCH]:
        created += target_enqueue(target=target, parent=parent, force_proof=force_proof)[1]
    return created

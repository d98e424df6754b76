"""Tick producers of the publishing app (registered in settings.TICK_PRODUCERS)."""

from __future__ import annotations

from datetime import datetime

from campaigns.models import Action, Campaign

from .models import PublishTarget
from .services import publish_enqueue

DUE_BATCH = 1000


def due_targets_query(*, campaign_id: int, now: datetime):
    """Scheduled targets whose time has come, oldest first, as the values a publish key needs.

    Reads the partial index target_due (status = scheduled) and no model instances: a tick may
    find a thousand due targets at once.
    """
    return (
        PublishTarget.objects.filter(
            status=PublishTarget.Status.SCHEDULED, due_at__lte=now, post__campaign_id=campaign_id
        )
        .order_by("due_at", "pk")
        .values_list("pk", "post__approval_seq", "generation")
    )


def due_targets(*, campaign: Campaign, now: datetime, parent: Action, force_proof: bool = False) -> int:
    """Enqueue a publish action (deterministic key) for each due target; returns how many are new."""
    created = 0
    for target_id, approval_seq, generation in due_targets_query(campaign_id=campaign.pk, now=now)[:DUE_BATCH]:
        created += publish_enqueue(
            target_id=target_id, approval_seq=approval_seq, generation=generation, campaign_id=campaign.pk,
            parent=parent, force_proof=force_proof,
        )[1]  # fmt: skip
    return created

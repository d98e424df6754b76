"""The outreach tick producer (registered in settings.TICK_PRODUCERS)."""

from __future__ import annotations

from datetime import datetime

from campaigns.actions import action_enqueue
from campaigns.models import Action, Campaign

from .models import Enrollment, SequenceStep

DUE_BATCH = 500


def send_key(*, campaign_id: int, lead_id: int, step_id: int) -> str:
    return f"send_email:{campaign_id}:{lead_id}:{step_id}"


def due_enrollments_query(*, campaign_id: int, now: datetime):
    """Active enrollments whose next step is due, oldest first: reads only the partial index enrollment_due."""
    return (
        Enrollment.objects.filter(campaign_id=campaign_id, status=Enrollment.Status.ACTIVE, next_due_at__lte=now)
        .order_by("next_due_at", "id")
        .values_list("id", "lead_id", "sequence_id", "next_position")
    )


def due_steps(*, campaign: Campaign, now: datetime, parent: Action, force_proof: bool = False) -> int:
    """Enqueue ``send_email:<campaign>:<lead>:<step>`` for each due step; returns how many are new.

    The key is deterministic, so a second tick in the same slot (or a later one before the action
    ran) adds nothing. The handler re-checks the gate right before sending.
    """
    rows = list(due_enrollments_query(campaign_id=campaign.pk, now=now)[:DUE_BATCH])
    if not rows:
        return 0
    steps = dict(
        ((seq, pos), pk)
        for pk, seq, pos in SequenceStep.objects.filter(sequence_id__in={r[2] for r in rows}).values_list(
            "pk", "sequence_id", "position"
        )
    )
    created = 0
    for _, lead_id, sequence_id, position in rows:
        step_id = steps.get((sequence_id, position))
        if step_id is None:
            continue
        payload = {"campaign_id": campaign.pk, "lead_id": lead_id, "step_id": step_id}
        if force_proof:
            payload["force_proof"] = True
        _, new = action_enqueue(key=send_key(campaign_id=campaign.pk, lead_id=lead_id, step_id=step_id),
                                action_type="send_email", payload=payload, campaign=campaign, parent=parent)  # fmt: skip
        created += new
    return created

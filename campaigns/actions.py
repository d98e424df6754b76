"""Action queue services: enqueue (get-or-create on the key), cancel, retry. The dispatcher runs them."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .audit import actor_fields
from .errors import InvalidTransition
from .models import Action, ActionLog, Campaign
from .registry import action_type_spec, validate_payload

S = Action.Status
_wake_state = threading.local()


def action_enqueue(
    *,
    key: str,
    action_type: str,
    payload: dict[str, Any] | None = None,
    campaign: Campaign | None = None,
    campaign_id: int | None = None,
    not_before: datetime | None = None,
    priority: int | None = None,
    parent: Action | None = None,
    max_attempts: int | None = None,
    wake: bool = True,
) -> tuple[Action, bool]:
    """Get-or-create the action for ``key``: the same key twice returns the existing action.

    Raises ValidationError naming the field for an unknown type, an empty key, or a key already
    used for another type. After commit, wakes the dispatcher through django-q2 if the action is due.
    """
    if not key or len(key) > 255:
        raise ValidationError({"idempotency_key": "required, at most 255 characters"})
    spec = action_type_spec(action_type)
    if spec is None:
        raise ValidationError({"action_type": f"unknown action type {action_type!r}"})
    if payload is not None and not isinstance(payload, dict):
        raise ValidationError({"payload": "must be a JSON object"})
    validate_payload(spec, payload or {})
    not_before = not_before or timezone.now()
    action, created = Action.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "action_type": action_type,
            "payload": payload or {},
            "campaign_id": campaign.pk if campaign is not None else campaign_id,
            "not_before": not_before,
            "due_at": not_before,
            "priority": spec.priority if priority is None else priority,
            "parent": parent,
            "max_attempts": max_attempts or spec.max_attempts,
        },
    )
    if not created and action.action_type != action_type:
        raise ValidationError({"idempotency_key": f"already used by a {action.action_type} action"})
    if created and wake and not_before <= timezone.now():
        transaction.on_commit(wake_dispatcher)
    return action, created


def wake_dispatcher() -> None:
    """Ask django-q2 for a dispatch pass now. At most one request a second per thread: a pass drains all."""
    now = time.monotonic()
    if now - getattr(_wake_state, "last", 0.0) < 1.0:
        return
    _wake_state.last = now
    from django_q.tasks import async_task

    async_task("campaigns.tasks.dispatch_pass", task_name="dispatch-wake", group="dispatch")


def _log(action: Action, *, actor: Any, message: str, status: str, level: str = ActionLog.Level.INFO) -> None:
    ActionLog.objects.create(
        action=action,
        attempt=action.attempts,
        level=level,
        status=status,
        message=message,
        actor_label=actor_fields(actor)["actor_label"],
    )


def _set_status(action: Action, to: str, *, actor: Any, note: str, updates: dict[str, Any]) -> None:
    old = action.status
    if to not in Action.TRANSITIONS.get(old, set()):
        raise InvalidTransition(f"action {action.idempotency_key}: cannot go from {old} to {to}")
    with transaction.atomic():
        changed = Action.objects.filter(pk=action.pk, status=old).update(status=to, **updates)
        if not changed:
            raise InvalidTransition(f"action {action.idempotency_key}: it changed while you were looking; reload")
        action.status = to
        for k, v in updates.items():
            setattr(action, k, v)
        _log(action, actor=actor, message=note, status=to)


def action_cancel(*, action: Action, actor: Any, reason: str = "") -> None:
    """Cancel a waiting action. A running one is refused: its handler may be mid-call."""
    if action.status == S.IN_PROGRESS:
        raise InvalidTransition(f"action {action.idempotency_key} is running; pause or kill instead of cancelling")
    _set_status(action, S.CANCELLED, actor=actor, note=f"cancelled: {reason}".strip(": "),
                updates={"finished_at": timezone.now()})  # fmt: skip


def action_retry(*, action: Action, actor: Any) -> None:
    """Put a dead-lettered or failed action back in the queue with a fresh attempt budget."""
    now = timezone.now()
    _set_status(
        action,
        S.PENDING,
        actor=actor,
        note="retried by hand",
        updates={"not_before": now, "due_at": now, "max_attempts": action.attempts + settings.ACTION_MAX_ATTEMPTS,
                 "finished_at": None},
    )  # fmt: skip


def action_reschedule(*, action: Action, not_before: datetime, actor: Any) -> bool:
    """Move a waiting action to a new time. Returns False if it already started or finished."""
    # A deliberate move changes its place in line too (unlike a retry or a release).
    changed = Action.objects.filter(pk=action.pk, status__in=Action.CLAIMABLE).update(
        not_before=not_before, due_at=not_before
    )
    if changed:
        action.not_before = action.due_at = not_before
        _log(action, actor=actor, message=f"rescheduled to {not_before.isoformat()}", status=action.status)
    return bool(changed)


def action_enqueue_many(*, specs: list[dict[str, Any]], wake: bool = True) -> int:
    """Enqueue many actions in one INSERT; keys that exist already are left alone (get-or-create).

    Each spec has key, action_type, payload and optionally campaign_id, not_before, priority. Every
    spec is validated like action_enqueue before anything is written. Returns how many were new.
    """
    rows = []
    now = timezone.now()
    for spec in specs:
        type_spec = action_type_spec(spec["action_type"])
        if type_spec is None:
            raise ValidationError({"action_type": f"unknown action type {spec['action_type']!r}"})
        validate_payload(type_spec, spec.get("payload") or {})
        rows.append(Action(
            idempotency_key=spec["key"], action_type=spec["action_type"], payload=spec.get("payload") or {},
            campaign_id=spec.get("campaign_id"), not_before=spec.get("not_before") or now,
            due_at=spec.get("not_before") or now,
            priority=type_spec.priority if spec.get("priority") is None else spec["priority"],
            max_attempts=type_spec.max_attempts,
        ))  # fmt: skip
    before = Action.objects.filter(idempotency_key__in=[r.idempotency_key for r in rows]).count()
    Action.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    if wake and rows:
        transaction.on_commit(wake_dispatcher)
    return len(rows) - before

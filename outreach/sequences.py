"""Templates (variables, render, preview, review), sequences, enrollment and due times.

Due times are computed in the lead's time zone (fallback: the campaign's) and moved into the
sequence's weekly send window; they are stored in UTC on the enrollment, which the producer reads.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from campaigns.audit import audit_record, audit_record_many, transition, transition_many
from campaigns.bound_sql import update_rows
from campaigns.errors import InvalidTransition

from .models import PLACEHOLDER, Enrollment, Lead, Sequence, SequenceStep, Template, lead_tz

T = Template.Status
TEMPLATE_FIELDS = {"name", "subject", "body_text", "body_html"}


class MissingValueError(ValueError):
    """A placeholder has no value for this lead and no fallback: the send is blocked with this reason."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def template_context(*, lead: Lead, campaign: Any, sender_name: str = "", unsubscribe_url: str = "") -> dict[str, str]:
    return {
        "name": lead.name,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "company": lead.company,
        "role": lead.role,
        "email": lead.email,
        "campaign": campaign.name if campaign else "",
        "sender_name": sender_name,
        "unsubscribe_url": unsubscribe_url,
    }


def _fill(text: str, context: dict[str, str], missing: list[str]) -> str:
    def one(match) -> str:
        name, fallback = match.group(1), match.group(2)
        value = (context.get(name) or "").strip()
        if value:
            return value
        if fallback is not None:
            return fallback.strip()
        missing.append(name)
        return ""

    return PLACEHOLDER.sub(one, text)


def template_render(*, template: Template, context: dict[str, str]) -> Rendered:
    """Fill the placeholders. Raises MissingValueError naming every empty variable without a fallback."""
    missing: list[str] = []
    rendered = Rendered(
        subject=_fill(template.subject, context, missing),
        text=_fill(template.body_text, context, missing),
        html=_fill(template.body_html, context, missing),
    )
    if missing:
        names = ", ".join(sorted(set(missing)))
        raise MissingValueError(f"template {template.name!r}: no value for {names} (add it to the lead or use "
                                f"{{{{ {missing[0]}|fallback }}}})")  # fmt: skip
    return rendered


def template_preview(*, template: Template, lead: Lead) -> Rendered | str:
    """What ``lead`` would receive, or the reason the send would be blocked."""
    context = template_context(lead=lead, campaign=template.campaign, sender_name="(sender)",
                               unsubscribe_url="https://example.invalid/u/preview/")  # fmt: skip
    try:
        return template_render(template=template, context=context)
    except MissingValueError as exc:
        return str(exc)


def template_create(*, campaign: Any, actor: Any, **fields: Any) -> Template:
    """A draft template; placeholders are validated (unknown → ValidationError naming the field)."""
    unknown = set(fields) - TEMPLATE_FIELDS
    if unknown:
        raise ValidationError({name: "not a template field" for name in sorted(unknown)})
    template = Template(campaign=campaign, author=actor if getattr(actor, "pk", None) else None, **fields)
    template.content_sha256 = template.compute_sha256()
    template.full_clean(exclude=["content_sha256"])
    with transaction.atomic():
        template.save()
        audit_record(obj=template, actor=actor, action="created", new=template.status)
    return template


def template_update(*, template: Template, actor: Any, **changes: Any) -> Template:
    """Edit; an approved template whose content changes goes back to review (the approval is voided)."""
    unknown = set(changes) - TEMPLATE_FIELDS
    if unknown:
        raise ValidationError({name: "not a field you can set" for name in sorted(unknown)})
    for key, value in changes.items():
        setattr(template, key, value)
    template.full_clean(exclude=["content_sha256"])
    new_sha = template.compute_sha256()
    with transaction.atomic():
        changed = new_sha != template.content_sha256
        template.content_sha256 = new_sha
        template.save()
        audit_record(obj=template, actor=actor, action="updated", note=", ".join(sorted(changes)))
        if changed and template.status == T.APPROVED:
            transition(template, T.PENDING_REVIEW, actor=actor, note="edited after approval: approval voided",
                       updates={"approved_sha256": ""})  # fmt: skip
    return template


def template_submit(*, template: Template, actor: Any) -> None:
    transition(template, T.PENDING_REVIEW, actor=actor)


def _review_refusal(template: Template, actor: Any) -> str | None:
    """Why ``actor`` may not decide on ``template`` (the same rules as posts), else None."""
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm("outreach.approve_template"):
        return "you need the 'approve outreach templates' permission"
    if template.author_id and template.author_id == actor.pk and not settings.REVIEW_ALLOW_SELF_APPROVAL:
        return "the author of a template cannot approve it; ask another reviewer"
    return None


def template_approve(*, template: Template, actor: Any) -> None:
    """Approve the exact current content (its SHA-256). Needs ``outreach.approve_template``; not the author."""
    refusal = _review_refusal(template, actor)
    if refusal:
        raise InvalidTransition(refusal)
    sha = template.compute_sha256()
    content = {"subject": template.subject, "text": template.body_text, "html": template.body_html}
    transition(template, T.APPROVED, actor=actor, note=f"sha256 {sha}",
               data={"sha256": sha, "decision": "approved", "content": content},
               updates={"approved_sha256": sha, "content_sha256": sha, "approved_at": timezone.now(),
                        "approved_by": actor, "rejection_reason": ""})  # fmt: skip


def template_reject(*, template: Template, actor: Any, reason: str) -> None:
    if not reason.strip():
        raise ValidationError({"reason": "required — say what has to change"})
    refusal = _review_refusal(template, actor)
    if refusal:
        raise InvalidTransition(refusal.replace("approve it", "review it"))
    transition(template, T.REJECTED, actor=actor, note=reason, updates={"rejection_reason": reason},
               data={"decision": "rejected", "sha256": template.content_sha256})  # fmt: skip


def template_request_changes(*, template: Template, actor: Any, comment: str) -> None:
    """Back to its author as a draft, with the reviewer's comment."""
    if not comment.strip():
        raise InvalidTransition("comment: say what should change")
    refusal = _review_refusal(template, actor)
    if refusal:
        raise InvalidTransition(refusal.replace("approve it", "review it"))
    transition(template, T.DRAFT, actor=actor, note=comment,
               data={"decision": "changes_requested", "sha256": template.content_sha256})  # fmt: skip


def template_reopen(*, template: Template, actor: Any) -> None:
    transition(template, T.DRAFT, actor=actor)


# --- due times -------------------------------------------------------------------------------


def next_send_time(*, after: datetime, tz: zoneinfo.ZoneInfo, sequence: Sequence) -> datetime:
    """The first instant ≥ ``after`` inside the send window (weekdays and hours in ``tz``), in UTC."""
    local = after.astimezone(tz)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() not in sequence.send_days:
            continue
        start = datetime.combine(day, sequence.window_start, tzinfo=tz)
        end = datetime.combine(day, sequence.window_end, tzinfo=tz)
        candidate = max(local, start) if offset == 0 else start
        if candidate < end:
            return candidate.astimezone(zoneinfo.ZoneInfo("UTC"))
    raise ValidationError({"send_days": "the send window never opens"})


def window_reopens_at(*, now: datetime, lead: Lead, campaign: Any, sequence: Sequence) -> datetime | None:
    """None if the window is open now for this lead, else when it opens next."""
    at = next_send_time(after=now, tz=lead_tz(lead, campaign), sequence=sequence)
    return None if at <= now else at


def _step_due(*, step: SequenceStep, base: datetime, lead: Lead, campaign: Any) -> datetime:
    return next_send_time(after=base + timedelta(hours=step.wait_hours), tz=lead_tz(lead, campaign),
                          sequence=step.sequence)  # fmt: skip


def enrollment_create(
    *, lead: Lead, sequence: Sequence, actor: Any, now: datetime | None = None
) -> tuple[Enrollment, bool]:
    """Enroll a lead (idempotent); the first step's due time is computed now."""
    now = now or timezone.now()
    first = sequence.steps.order_by("position").first()
    if first is None:
        raise ValidationError({"sequence": f"{sequence} has no steps"})
    with transaction.atomic():
        enrollment, created = Enrollment.objects.get_or_create(
            lead=lead, sequence=sequence,
            defaults={"campaign_id": sequence.campaign_id, "next_position": first.position,
                      "next_due_at": _step_due(step=first, base=now, lead=lead, campaign=sequence.campaign),
                      "created_at": now},
        )  # fmt: skip
        if created:
            audit_record(obj=enrollment, actor=actor, action="enrolled", new=enrollment.status)
    return enrollment, created


def enrollment_advance(*, enrollment: Enrollment, actor: Any, touched_at: datetime, note: str = "") -> None:
    """Move to the step after the current one (or complete). Caller holds the enrollment row lock."""
    following = (
        SequenceStep.objects.filter(sequence_id=enrollment.sequence_id, position__gt=enrollment.next_position)
        .select_related("sequence")
        .order_by("position")
        .first()
    )
    if following is None:
        transition(enrollment, Enrollment.Status.COMPLETED, actor=actor, note=note or "last step done",
                   updates={"next_due_at": None, "last_touch_at": touched_at})  # fmt: skip
        return
    due = _step_due(step=following, base=touched_at, lead=enrollment.lead, campaign=following.sequence.campaign)
    Enrollment.objects.filter(pk=enrollment.pk).update(next_position=following.position, next_due_at=due,
                                                       last_touch_at=touched_at)  # fmt: skip
    enrollment.next_position, enrollment.next_due_at, enrollment.last_touch_at = following.position, due, touched_at
    audit_record(obj=enrollment, actor=actor, action="advanced", new=str(following.position), note=note)


def enrollments_advance_many(*, moves: list[tuple[Enrollment, Any, str]], touched_at: datetime) -> None:
    """``enrollment_advance`` for many (enrollment, actor, note) at once; the caller holds their row
    locks. One query for the following steps, one UPDATE and one INSERT of audit rows for those
    that move on, one ``transition_many`` for those that complete."""
    if not moves:
        return
    steps: dict[int, list[SequenceStep]] = {}
    for step in (SequenceStep.objects.filter(sequence_id__in={e.sequence_id for e, _, _ in moves})
                 .select_related("sequence__campaign").order_by("position")):  # fmt: skip
        steps.setdefault(step.sequence_id, []).append(step)
    completing, moving = [], []
    for enrollment, actor, note in moves:
        following = next((s for s in steps.get(enrollment.sequence_id, []) if s.position > enrollment.next_position),
                         None)  # fmt: skip
        if following is None:
            completing.append((enrollment, actor, note))
            continue
        due = _step_due(step=following, base=touched_at, lead=enrollment.lead, campaign=following.sequence.campaign)
        moving.append((enrollment, actor, note, following.position, due))
    if completing:
        transition_many(Enrollment, [e.pk for e, _, _ in completing], Enrollment.Status.COMPLETED,
                        old=Enrollment.Status.ACTIVE, actor=None, actors={e.pk: a for e, a, _ in completing},
                        notes={e.pk: n or "last step done" for e, _, n in completing},
                        updates={"next_due_at": None, "last_touch_at": touched_at})  # fmt: skip
    if moving:
        update_rows(Enrollment, [m[0].pk for m in moving], updates={"last_touch_at": touched_at},
                    per_row={m[0].pk: {"next_position": m[3], "next_due_at": m[4]} for m in moving})  # fmt: skip
        audit_record_many(model=Enrollment, entries=[
            {"pk": e.pk, "actor": actor, "action": "advanced", "new": str(position), "note": note}
            for e, actor, note, position, _ in moving
        ])  # fmt: skip
        for enrollment, _, _, position, due in moving:
            enrollment.next_position, enrollment.next_due_at, enrollment.last_touch_at = position, due, touched_at


def enrollment_reschedule(*, enrollment: Enrollment, actor: Any, not_before: datetime, note: str) -> None:
    """Push the next step to ``not_before`` (or later, into the window): e.g. after an out-of-office."""
    step = SequenceStep.objects.select_related("sequence").get(sequence_id=enrollment.sequence_id,
                                                               position=enrollment.next_position)  # fmt: skip
    due = next_send_time(after=not_before, tz=lead_tz(enrollment.lead, step.sequence.campaign), sequence=step.sequence)
    Enrollment.objects.filter(pk=enrollment.pk, status=Enrollment.Status.ACTIVE).update(next_due_at=due)
    enrollment.next_due_at = due
    audit_record(obj=enrollment, actor=actor, action="rescheduled", new=due.isoformat(), note=note)


def public_base_url() -> str:
    return settings.OUTREACH_PUBLIC_BASE_URL.rstrip("/")

"""Action handlers of the outreach app (registered in settings.ACTION_TYPES).

``send_email`` follows DESIGN.md's order: gate and attempt row (``sending``) in one committed
transaction, then the call, then the result. An attempt found ``sending`` means an earlier run died
after the call may have left: it becomes ``needs_reconcile`` and is never resent blindly.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from campaigns.audit import audit_record, transition
from campaigns.controls import is_live
from campaigns.events import event_record
from campaigns.models import Action, Campaign, Event
from campaigns.outcomes import Outcome

from .models import Enrollment, EspEvent, ImapInbox, Lead, Reply, SendAttempt, SequenceStep
from .sending import (
    compliance_headers,
    email_fields,
    new_message_id,
    proof_write,
    tracked_email,
    unsubscribe_url,
)
from .sequences import MissingValueError, Rendered, enrollment_advance, template_context, template_render
from .services import lead_move

A = SendAttempt.Status

SEND_EMAIL_PAYLOAD = {
    "type": "object",
    "properties": {
        "campaign_id": {"type": "integer", "minimum": 1},
        "lead_id": {"type": "integer", "minimum": 1},
        "step_id": {"type": "integer", "minimum": 1},
        "force_proof": {"type": "boolean"},
    },
    "required": ["campaign_id", "lead_id", "step_id"],
    "additionalProperties": False,
}
PROCESS_ESP_EVENT_PAYLOAD = {
    "type": "object",
    "properties": {"event_id": {"type": "integer", "minimum": 1}},
    "required": ["event_id"],
    "additionalProperties": False,
}


def actor_of(action: Action) -> str:
    return f"action:{action.pk}"


def _condition_met(step: SequenceStep, lead: Lead, campaign_id: int) -> bool:
    C = SequenceStep.Condition
    if step.condition == C.ALWAYS:
        return True
    if step.condition == C.NO_REPLY:
        return not Reply.objects.filter(lead=lead).exclude(label__in=["out_of_office", "auto_reply"]).exists()
    kind = {C.OPENED: "email_opened", C.CLICKED: "email_clicked"}[step.condition]
    return Event.objects.filter(lead_id=lead.pk, campaign_id=campaign_id, kind=kind).exists()


def _refuse(*, lead: Lead, enrollment: Enrollment | None, actor: str, reason: str, stop: bool) -> None:
    """Record why it did not go out on the lead's timeline; a permanent refusal ends the enrollment."""
    audit_record(obj=lead, actor=actor, action="gate:refused", note=reason)
    if stop and enrollment is not None and enrollment.status == Enrollment.Status.ACTIVE:
        transition(enrollment, Enrollment.Status.STOPPED, actor=actor, note=reason,
                   updates={"stop_reason": reason[:255], "next_due_at": None})  # fmt: skip


def earlier_attempt_outcome(action: Action, attempts: list[SendAttempt], now) -> Outcome | None:
    """An earlier run of this action left an attempt: sent → skip; anything else → reconcile, never resend."""
    for attempt in attempts:
        if attempt.status == A.SENT:
            return Outcome.skipped(f"already sent as {attempt.message_id}")
        if attempt.status == A.SENDING:
            transition(attempt, A.NEEDS_RECONCILE, actor=actor_of(action),
                       note="a previous run stopped after the email may have been sent",
                       updates={"error_class": "unknown", "finished_at": now})  # fmt: skip
        return Outcome.unknown(f"attempt {attempt.pk} may have been sent; not resending blindly (needs_reconcile)")
    return None


def step_precheck(*, action: Action, enrollment: Enrollment | None, step: SequenceStep | None,
                  campaign: Campaign | None, now) -> Outcome | None:  # fmt: skip
    """What ends a send before the gate: gone, not this lead's next step, condition not met (moves on)."""
    if enrollment is None or step is None or campaign is None:
        return Outcome.permanent("lead, step or campaign no longer exists, or the lead is not enrolled")
    if enrollment.status != Enrollment.Status.ACTIVE or enrollment.next_position != step.position:
        return Outcome.skipped(f"enrollment is {enrollment.status} at step {enrollment.next_position}")
    if not _condition_met(step, enrollment.lead, campaign.pk):
        enrollment_advance(enrollment=enrollment, actor=actor_of(action), touched_at=now,
                           note=f"step {step.position} skipped: condition {step.condition} not met")  # fmt: skip
        return Outcome.skipped(f"condition {step.condition} not met; moved on")
    return None


def render_refusal(*, action: Action, enrollment: Enrollment, step: SequenceStep, campaign: Campaign,
                   url: str) -> Outcome | None:  # fmt: skip
    """Render before reserving: a missing value blocks the send with a reason instead of a broken email."""
    try:
        template_render(template=step.template, context=template_context(lead=enrollment.lead, campaign=campaign,
                        sender_name="x", unsubscribe_url=url))  # fmt: skip
    except MissingValueError as exc:
        _refuse(lead=enrollment.lead, enrollment=enrollment, actor=actor_of(action), reason=str(exc), stop=True)
        return Outcome.permanent(f"refused: {exc}")
    return None


def gate_refused(*, action: Action, enrollment: Enrollment, decision, now) -> Outcome:
    _refuse(lead=enrollment.lead, enrollment=enrollment, actor=actor_of(action), reason=decision.reason,
            stop=decision.retry_at is None)  # fmt: skip
    if decision.retry_at:
        return Outcome.release(f"not now: {decision.reason}",
                               after=max(1.0, (decision.retry_at - now).total_seconds()))  # fmt: skip
    return Outcome.permanent(f"refused: {decision.reason}")


def message_prepare(*, lead: Lead, campaign: Campaign, step: SequenceStep, mailbox, url: str) -> tuple[str, Rendered]:
    """(Message-ID, rendered email with tracked links) for one lead and step, from ``mailbox``."""
    rendered = template_render(template=step.template, context=template_context(
        lead=lead, campaign=campaign, sender_name=mailbox.from_name or mailbox.from_email, unsubscribe_url=url))  # fmt: skip
    return new_message_id(mailbox), tracked_email(rendered, lead=lead, campaign=campaign, step=step)


def message_fields(*, attempt: SendAttempt, lead: Lead, campaign: Campaign, mailbox, rendered: Rendered,
                   url: str) -> dict:  # fmt: skip
    return email_fields(
        lead=lead, mailbox=mailbox, rendered=rendered, message_id=attempt.message_id, key=attempt.idempotency_key,
        headers=compliance_headers(lead=lead, campaign_id=campaign.pk, mailbox=mailbox, url=url),
        attempt_id=attempt.pk, campaign_id=campaign.pk,
    )  # fmt: skip


def deliver(*, fields: dict, attempt: SendAttempt, live: bool, connection=None) -> tuple[str, tuple[str, str]]:
    """Send (LIVE) or write the artifact (PROOF): (ESP message id or "proof", (artifact path, sha256)).
    Raises the adapter's classified errors; ``send_failed`` records them."""
    if live:
        from publishing.adapters.email import EmailMessageSpec
        from publishing.adapters.email import send_email as adapter_send

        result = adapter_send(EmailMessageSpec(**fields), connection=connection)
        return result.esp_message_id or "", ("", "")
    return "proof", proof_write(fields=fields, name=f"email-attempt-{attempt.pk}")


def send_failed(*, exc: Exception, attempt: SendAttempt, enrollment: Enrollment, actor: str) -> Outcome:
    """The attempt's status after a classified send error, and what the dispatcher should do."""
    from publishing.adapters.base import OutcomeUnknownError, RetryAfterError

    now = timezone.now()
    if isinstance(exc, RetryAfterError):
        transition(attempt, A.FAILED, actor=actor, note=str(exc),
                   updates={"error": str(exc), "error_class": "retry_after", "finished_at": now})  # fmt: skip
        return Outcome.retry(str(exc), after=getattr(exc, "retry_after", None))
    if isinstance(exc, OutcomeUnknownError):
        transition(attempt, A.NEEDS_RECONCILE, actor=actor, note=str(exc),
                   updates={"error": str(exc), "error_class": "unknown", "finished_at": now})  # fmt: skip
        return Outcome.unknown(str(exc))
    with transaction.atomic():
        transition(attempt, A.FAILED, actor=actor, note=str(exc),
                   updates={"error": str(exc), "error_class": "permanent", "finished_at": now})  # fmt: skip
        _refuse(lead=enrollment.lead, enrollment=enrollment, actor=actor, reason=f"send failed: {exc}", stop=True)
    return Outcome.permanent(str(exc))


def sent_outcome(*, step: SequenceStep, lead: Lead, message_id: str, esp_id: str, artifact: tuple[str, str]) -> Outcome:
    mode = "PROOF" if esp_id == "proof" else "LIVE"
    return Outcome.ok(f"{mode}: step {step.position} to lead {lead.pk} as <{message_id}>", artifact_ref=artifact[0],
                      artifact_sha256=artifact[1], result={"message_id": message_id, "mode": mode.lower()})  # fmt: skip


def send_email(action: Action) -> Outcome:
    """One sequence step to one lead: gate → attempt row → send → result. Manual steps become tasks.

    The dispatcher normally runs these in groups (outreach.group_send.send_email_group), which takes
    the same steps for many leads at once; this is the path for one action, and the group's
    fallback for the unusual ones (an earlier attempt, a manual step).
    """
    from publishing.adapters.base import OutcomeUnknownError, PermanentError, RetryAfterError

    from .gate import attempt_reserve  # the gate imports services; keep handler import light

    actor = actor_of(action)
    p = action.payload
    now = timezone.now()
    earlier = list(SendAttempt.objects.filter(action_key=action.idempotency_key).exclude(status=A.FAILED))
    if (outcome := earlier_attempt_outcome(action, earlier, now)) is not None:
        return outcome

    with transaction.atomic():
        enrollment = (
            Enrollment.objects.select_for_update(of=("self",))
            .select_related("lead", "sequence")
            .filter(lead_id=p["lead_id"], sequence__steps__pk=p["step_id"])
            .first()
        )
        step = SequenceStep.objects.select_related("template", "sequence").filter(pk=p["step_id"]).first()
        campaign = Campaign.objects.filter(pk=p["campaign_id"]).first()
        if (outcome := step_precheck(action=action, enrollment=enrollment, step=step, campaign=campaign,
                                     now=now)) is not None:  # fmt: skip
            return outcome
        lead = enrollment.lead
        if step.channel == SequenceStep.Channel.MANUAL:
            return _manual_task(action=action, enrollment=enrollment, step=step, campaign=campaign, now=now)

        url = unsubscribe_url(lead=lead, campaign_id=campaign.pk) if lead.pk else ""
        if (outcome := render_refusal(action=action, enrollment=enrollment, step=step, campaign=campaign,
                                      url=url)) is not None:  # fmt: skip
            return outcome
        decision, attempt = attempt_reserve(
            key=f"{action.idempotency_key}:{action.attempts}", action_key=action.idempotency_key, lead=lead,
            campaign=campaign, channel="email", now=now, step=step, template=step.template, enrollment=enrollment,
            content_sha256=step.template.approved_sha256,
        )  # fmt: skip
        if attempt is None:
            return gate_refused(action=action, enrollment=enrollment, decision=decision, now=now)
        mailbox = decision.mailbox
        attempt.message_id, rendered = message_prepare(
            lead=lead, campaign=campaign, step=step, mailbox=mailbox, url=url
        )
        fields = message_fields(attempt=attempt, lead=lead, campaign=campaign, mailbox=mailbox, rendered=rendered,
                                url=url)  # fmt: skip
        SendAttempt.objects.filter(pk=attempt.pk).update(message_id=attempt.message_id,
                                                         subject=rendered.subject[:300])  # fmt: skip
    # Committed: the slot is taken and the attempt says "sending". A crash from here on is reconciled.

    try:
        esp_id, artifact = deliver(fields=fields, attempt=attempt, live=is_live(campaign) and not p.get("force_proof"))
    except (RetryAfterError, OutcomeUnknownError, PermanentError) as exc:
        return send_failed(exc=exc, attempt=attempt, enrollment=enrollment, actor=actor)

    sent_at = timezone.now()
    with transaction.atomic():
        transition(attempt, A.SENT, actor=actor, updates={"esp_message_id": esp_id[:255], "finished_at": sent_at})
        lead_move(lead=lead, to=Lead.Status.CONTACTED, actor=actor, note=f"step {step.position} sent")
        enrollment.refresh_from_db()
        if enrollment.status == Enrollment.Status.ACTIVE:
            enrollment_advance(
                enrollment=enrollment, actor=actor, touched_at=sent_at, note=f"step {step.position} sent"
            )
        event_record(kind="email_sent", campaign=campaign, channel="email", lead_id=lead.pk, source="outreach",
                     dedupe_key=f"email_sent:{attempt.pk}", occurred_at=sent_at,
                     data={"step": step.position, "message_id": attempt.message_id, "proof": esp_id == "proof"})  # fmt: skip
    return sent_outcome(step=step, lead=lead, message_id=attempt.message_id, esp_id=esp_id, artifact=artifact)


def _manual_task(*, action: Action, enrollment: Enrollment, step: SequenceStep, campaign: Campaign, now) -> Outcome:
    """A step on a channel without an API (e.g. a LinkedIn message): a task for a person, gated like a send."""
    from .gate import contact_gate
    from .models import OutreachTask

    actor, lead = actor_of(action), enrollment.lead
    decision = contact_gate(lead=lead, campaign=campaign, channel="manual", now=now, template=step.template,
                            enrollment=enrollment, step=step, check_caps=False)  # fmt: skip
    if not decision.allowed:
        _refuse(lead=lead, enrollment=enrollment, actor=actor, reason=decision.reason,
                stop=decision.retry_at is None)  # fmt: skip
        if decision.retry_at:
            return Outcome.release(decision.reason, after=(decision.retry_at - now).total_seconds())
        return Outcome.permanent(f"refused: {decision.reason}")
    try:
        text = template_render(template=step.template, context=template_context(lead=lead, campaign=campaign)).text
    except MissingValueError as exc:
        _refuse(lead=lead, enrollment=enrollment, actor=actor, reason=str(exc), stop=True)
        return Outcome.permanent(f"refused: {exc}")
    OutreachTask.objects.get_or_create(lead=lead, step=step, defaults={"text": text})
    enrollment_advance(enrollment=enrollment, actor=actor, touched_at=now, note="manual task created")
    return Outcome.ok(f"manual task for step {step.position}")


SEND_CONFIRMATION_PAYLOAD = {
    "type": "object",
    "properties": {"lead_id": {"type": "integer", "minimum": 1}, "campaign_id": {"type": "integer", "minimum": 1}},
    "required": ["lead_id", "campaign_id"],
    "additionalProperties": False,
}


def send_confirmation(action: Action) -> Outcome:
    """The double opt-in email (transactional: no unsubscribe headers needed, no caps)."""
    from django.conf import settings

    from publishing.adapters.base import OutcomeUnknownError, PermanentError, RetryAfterError

    from .capture import confirmation_fields
    from .models import CaptureForm, Mailbox

    lead = Lead.objects.filter(pk=action.payload["lead_id"]).first()
    form = CaptureForm.objects.select_related("campaign").filter(campaign_id=action.payload["campaign_id"]).first()
    if lead is None or form is None or not lead.email:
        return Outcome.permanent("lead or capture form no longer exists")
    if lead.consent_status != Lead.Consent.PENDING:
        return Outcome.skipped(f"consent is already {lead.consent_status}")
    mailbox = Mailbox.objects.filter(campaign_id=form.campaign_id, active=True).order_by("pk").first()
    fields = confirmation_fields(lead=lead, form=form,
                                 from_email=mailbox.from_email if mailbox else settings.DEFAULT_FROM_EMAIL)  # fmt: skip
    fields["idempotency_key"] = action.idempotency_key
    if not is_live(form.campaign):
        path, sha = proof_write(fields=fields, name=f"confirmation-lead-{lead.pk}")
        return Outcome.ok("PROOF: confirmation written", artifact_ref=path, artifact_sha256=sha)
    from publishing.adapters.email import EmailMessageSpec
    from publishing.adapters.email import send_email as adapter_send

    try:
        adapter_send(EmailMessageSpec(**fields))
    except RetryAfterError as exc:
        return Outcome.retry(str(exc), after=getattr(exc, "retry_after", None))
    except OutcomeUnknownError as exc:
        return Outcome.unknown(str(exc))
    except PermanentError as exc:
        return Outcome.permanent(str(exc))
    return Outcome.ok(f"confirmation sent to lead {lead.pk}")


def attempt_reconcile(*, attempt: SendAttempt, actor, was_sent: bool, note: str = "") -> None:
    """A person decides an outcome-unknown email: it went out (record it as sent, move the sequence on)
    or it did not (fail the attempt and put the send action back in the queue, which sends once more)."""
    from campaigns.actions import action_retry

    if attempt.status != A.NEEDS_RECONCILE:
        from campaigns.errors import InvalidTransition

        raise InvalidTransition(f"attempt {attempt.pk} is {attempt.status}, not needs_reconcile")
    now = timezone.now()
    with transaction.atomic():
        if was_sent:
            transition(
                attempt, A.SENT, actor=actor, note=note or "confirmed sent by hand", updates={"finished_at": now}
            )
            lead_move(lead=attempt.lead, to=Lead.Status.CONTACTED, actor=actor, note="reconciled: sent")
            enrollment = Enrollment.objects.select_for_update().filter(lead=attempt.lead, status="active",
                                                                       sequence__steps=attempt.step).first()  # fmt: skip
            if (
                enrollment is not None
                and attempt.step is not None
                and enrollment.next_position == attempt.step.position
            ):
                enrollment_advance(enrollment=enrollment, actor=actor, touched_at=attempt.created_at,
                                   note="reconciled: sent")  # fmt: skip
            event_record(kind="email_sent", campaign=attempt.campaign_id, channel="email", lead_id=attempt.lead_id,
                         source="outreach", dedupe_key=f"email_sent:{attempt.pk}", occurred_at=attempt.created_at,
                         data={"message_id": attempt.message_id, "reconciled": True})  # fmt: skip
            return
        transition(attempt, A.FAILED, actor=actor, note=note or "confirmed not sent by hand; sending again",
                   updates={"finished_at": now, "error_class": "not_sent"})  # fmt: skip
        action = Action.objects.filter(idempotency_key=attempt.action_key).first()
        if action is not None and action.status in (Action.Status.FAILED, Action.Status.DEAD_LETTER):
            action_retry(action=action, actor=actor)


def process_esp_event(action: Action) -> Outcome:
    """Turn one stored ESP event into touch events, suppressions, replies. Safe to run twice."""
    from .events import esp_event_process

    event = EspEvent.objects.filter(pk=action.payload["event_id"]).first()
    if event is None:
        return Outcome.skipped("event no longer stored (erased)")
    result = esp_event_process(event=event, actor=actor_of(action))
    return Outcome.ok(result)


POLL_IMAP_PAYLOAD = {
    "type": "object",
    "properties": {"inbox_id": {"type": "integer", "minimum": 1}},
    "required": ["inbox_id"],
    "additionalProperties": False,
}


def poll_imap(action: Action) -> Outcome:
    """Read one IMAP inbox's new messages into stored inbound events (each processed by its own action)."""
    from .imap_poll import ImapPollError, inbox_poll

    inbox = ImapInbox.objects.filter(pk=action.payload["inbox_id"]).first()
    if inbox is None or not inbox.enabled:
        return Outcome.skipped("inbox removed or disabled")
    try:
        return Outcome.ok(str(inbox_poll(inbox=inbox, actor=actor_of(action))))
    except ImapPollError as exc:
        return Outcome.retry(str(exc)) if exc.transient else Outcome.permanent(str(exc))


__all__ = ["attempt_reconcile", "poll_imap", "process_esp_event", "send_confirmation", "send_email"]

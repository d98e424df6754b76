"""Group send: many ``send_email`` actions of one campaign at once, with the single send's guarantees.

The order stays DESIGN.md's — gate and attempt row committed before the call, the result after —
but per group instead of per message:

1. One transaction under the campaign lock: the enrollments locked, the gate's facts loaded once
   (``GateFacts``: suppressions, caps, per-lead touches, mailboxes), ``contact_gate`` asked about
   each lead with them (the same one gate as every other send), and every allowed attempt written
   ``sending`` in one INSERT. Commit: each slot is taken before anything leaves.
2. The messages go out over one connection (SMTP, or the ESP backend's session). A failure is
   classified per message exactly as for one send; after one, the connection is reopened.
3. One transaction records the results: attempts ``sent`` (one compare-and-set UPDATE), leads
   ``contacted``, enrollments moved on, ``email_sent`` events — one statement each, audit rows in
   one INSERT each.

A crash between 1 and 3 leaves ``sending`` attempts, which the next run of each action turns into
``needs_reconcile`` (never a blind resend), as for one send. Actions the group does not take (an
earlier attempt exists, a manual step) go through ``handlers.send_email`` one by one.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.core.mail import get_connection
from django.db import transaction
from django.utils import timezone

from campaigns.audit import transition, transition_many
from campaigns.bound_sql import bulk_insert
from campaigns.controls import is_live
from campaigns.events import events_record_many
from campaigns.models import Action, Campaign
from campaigns.outcomes import Outcome

from . import handlers as h
from .gate import GateFacts, contact_gate
from .models import Enrollment, Lead, SendAttempt, SequenceStep
from .sending import unsubscribe_url
from .sequences import enrollments_advance_many

A = SendAttempt.Status
logger = logging.getLogger(__name__)


@dataclass
class _Item:
    action: Action
    enrollment: Enrollment
    step: SequenceStep
    attempt: SendAttempt
    fields: dict[str, Any]
    esp_id: str = ""
    artifact: tuple[str, str] = ("", "")


def send_email_group(actions: list[Action]) -> list[Outcome]:
    """One outcome per action, in order. Registered as the ``group_handler`` of ``send_email``."""
    outcomes: dict[int, Outcome] = {}
    now = timezone.now()
    keys = [a.idempotency_key for a in actions]
    earlier: dict[str, list[SendAttempt]] = defaultdict(list)
    for attempt in SendAttempt.objects.filter(action_key__in=keys).exclude(status=A.FAILED):
        earlier[attempt.action_key].append(attempt)
    steps = {s.pk: s for s in SequenceStep.objects.select_related("template", "sequence")
             .filter(pk__in={a.payload["step_id"] for a in actions})}  # fmt: skip
    by_campaign: dict[int, list[Action]] = defaultdict(list)
    for action in actions:
        step = steps.get(action.payload["step_id"])
        if earlier.get(action.idempotency_key) or step is None or step.channel != SequenceStep.Channel.EMAIL:
            outcomes[action.pk] = h.send_email(action)
        else:
            by_campaign[action.payload["campaign_id"]].append(action)
    for campaign_id, group in by_campaign.items():
        outcomes.update(_campaign_group(campaign_id, group, steps, now))
    return [outcomes[a.pk] for a in actions]


def _campaign_group(campaign_id: int, actions: list[Action], steps: dict[int, SequenceStep], now) -> dict:
    outcomes: dict[int, Outcome] = {}
    with transaction.atomic():
        items = _reserve(campaign_id, actions, steps, now, outcomes)
    # Committed: every item's slot is taken and its attempt says "sending".
    if items:
        _deliver_all(items, outcomes)
        _record_sent([i for i in items if i.action.pk not in outcomes], outcomes)
    return outcomes


def _reserve(campaign_id: int, actions: list[Action], steps: dict[int, SequenceStep], now,
             outcomes: dict[int, Outcome]) -> list[_Item]:  # fmt: skip
    # Lock order as attempt_reserve: the campaign row first; every reservation of the campaign queues here.
    campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
    enrollments = {
        (e.lead_id, e.sequence_id): e
        for e in Enrollment.objects.select_for_update(of=("self",)).select_related("lead", "sequence")
        .filter(lead_id__in={a.payload["lead_id"] for a in actions},
                sequence_id__in={steps[a.payload["step_id"]].sequence_id for a in actions})
    }  # fmt: skip
    facts = None
    pending: list[tuple[Action, Enrollment, SequenceStep, SendAttempt, Any, str]] = []
    for action in actions:
        step = steps[action.payload["step_id"]]
        enrollment = enrollments.get((action.payload["lead_id"], step.sequence_id))
        if (early := h.step_precheck(action=action, enrollment=enrollment, step=step, campaign=campaign,
                                     now=now)) is not None:  # fmt: skip
            outcomes[action.pk] = early
            continue
        lead = enrollment.lead
        url = unsubscribe_url(lead=lead, campaign_id=campaign.pk)
        if (refused := h.render_refusal(action=action, enrollment=enrollment, step=step, campaign=campaign,
                                        url=url)) is not None:  # fmt: skip
            outcomes[action.pk] = refused
            continue
        if facts is None:
            leads = [e.lead for e in enrollments.values()]
            facts = GateFacts.load(campaign=campaign, channel="email", leads=leads, now=now)
        decision = contact_gate(lead=lead, campaign=campaign, channel="email", now=now, template=step.template,
                                enrollment=enrollment, step=step, facts=facts)  # fmt: skip
        if not decision.allowed:
            outcomes[action.pk] = h.gate_refused(action=action, enrollment=enrollment, decision=decision, now=now)
            continue
        facts.reserved(lead=lead, mailbox=decision.mailbox, now=now)
        message_id, rendered = h.message_prepare(lead=lead, campaign=campaign, step=step, mailbox=decision.mailbox,
                                                 url=url)  # fmt: skip
        attempt = SendAttempt(
            idempotency_key=f"{action.idempotency_key}:{action.attempts}", action_key=action.idempotency_key,
            campaign=campaign, lead=lead, step=step, mailbox=decision.mailbox, channel="email", to_email=lead.email,
            created_at=now, content_sha256=step.template.approved_sha256, message_id=message_id,
            subject=rendered.subject[:300],
        )  # fmt: skip
        pending.append((action, enrollment, step, attempt, rendered, url))
    bulk_insert([p[3] for p in pending])  # one INSERT; it returns the ids
    return [
        _Item(action=action, enrollment=enrollment, step=step, attempt=attempt,
              fields=h.message_fields(attempt=attempt, lead=enrollment.lead, campaign=campaign,
                                      mailbox=attempt.mailbox, rendered=rendered, url=url))
        for action, enrollment, step, attempt, rendered, url in pending
    ]  # fmt: skip


def _deliver_all(items: list[_Item], outcomes: dict[int, Outcome]) -> None:
    from publishing.adapters.base import OutcomeUnknownError, PermanentError, RetryAfterError

    live = is_live(items[0].attempt.campaign)
    connection = get_connection(fail_silently=False) if live else None
    opened = _open(connection)
    try:
        for n, item in enumerate(items):
            try:
                item.esp_id, item.artifact = h.deliver(fields=item.fields, attempt=item.attempt,
                                                       live=live and not item.action.payload.get("force_proof"),
                                                       connection=connection if opened else None)  # fmt: skip
            except (RetryAfterError, OutcomeUnknownError, PermanentError) as exc:
                outcomes[item.action.pk] = h.send_failed(exc=exc, attempt=item.attempt, enrollment=item.enrollment,
                                                         actor=h.actor_of(item.action))  # fmt: skip
                _close(connection)  # the next message reconnects instead of writing into a broken session
                opened = _open(connection)
            except Exception as exc:  # a bug or an unclassified error: this one may have left, the rest did not
                _stopped(items, n, exc, outcomes)
                break
    finally:
        _close(connection)


def _stopped(items: list[_Item], n: int, exc: Exception, outcomes: dict[int, Outcome]) -> None:
    """The send loop broke at ``items[n]``: that one waits for reconciliation; the ones after it were
    never handed to the backend, so their attempts fail as not sent and their actions retry."""
    logger.exception("group send stopped at attempt %s", items[n].attempt.pk)
    error = f"{type(exc).__name__}: {exc}"
    current = items[n]
    transition(current.attempt, A.NEEDS_RECONCILE, actor=h.actor_of(current.action), note=error,
               updates={"error": error[:2000], "error_class": "unknown", "finished_at": timezone.now()})  # fmt: skip
    outcomes[current.action.pk] = Outcome.unknown(f"{error}; the email may have been sent: reconcile")
    rest = items[n + 1 :]
    if rest:
        note = f"not sent: the group stopped at attempt {current.attempt.pk} ({error})"
        transition_many(SendAttempt, [i.attempt.pk for i in rest], A.FAILED, old=A.SENDING, actor=None,
                        actors={i.attempt.pk: h.actor_of(i.action) for i in rest}, note=note[:500],
                        updates={"error": note[:2000], "error_class": "not_sent", "finished_at": timezone.now()})  # fmt: skip
        for item in rest:
            outcomes[item.action.pk] = Outcome.retry(note)


def _open(connection: Any) -> bool:
    """Open the shared connection; False (each send then opens its own and classifies the failure) if it fails."""
    if connection is None:
        return False
    try:
        connection.open()
    except Exception:  # refused, TLS, auth: the per-message send reports it, classified
        return False
    return True


def _close(connection: Any) -> None:
    if connection is None:
        return
    try:
        connection.close()
    except Exception:  # noqa: S110 - closing a dead connection: nothing more to learn
        pass


def _record_sent(items: list[_Item], outcomes: dict[int, Outcome]) -> None:
    if not items:
        return
    sent_at = timezone.now()
    actors = {i.attempt.pk: h.actor_of(i.action) for i in items}
    with transaction.atomic():
        # The ESP's ids, where it gave some (SMTP gives none: the column keeps its blank).
        esp_ids = (
            {i.attempt.pk: {"esp_message_id": i.esp_id[:255]} for i in items} if any(i.esp_id for i in items) else None
        )
        transition_many(SendAttempt, list(actors), A.SENT, old=A.SENDING, actor=None, actors=actors,
                        updates={"finished_at": sent_at}, per_row=esp_ids)  # fmt: skip
        new_leads = {i.enrollment.lead_id: i for i in items if i.enrollment.lead.status == Lead.Status.NEW}
        transition_many(Lead, list(new_leads), Lead.Status.CONTACTED, old=Lead.Status.NEW, actor=None,
                        actors={pk: h.actor_of(i.action) for pk, i in new_leads.items()},
                        notes={pk: f"step {i.step.position} sent" for pk, i in new_leads.items()})  # fmt: skip
        # A reply may have stopped an enrollment since the reservation: only active ones at this step move on.
        still = dict(Enrollment.objects.select_for_update().filter(
            pk__in=[i.enrollment.pk for i in items], status=Enrollment.Status.ACTIVE,
        ).values_list("pk", "next_position"))  # fmt: skip
        enrollments_advance_many(touched_at=sent_at, moves=[
            (i.enrollment, h.actor_of(i.action), f"step {i.step.position} sent") for i in items
            if still.get(i.enrollment.pk) == i.step.position
        ])  # fmt: skip
        events_record_many([
            {"kind": "email_sent", "campaign": i.attempt.campaign_id, "channel": "email",
             "lead_id": i.enrollment.lead_id, "source": "outreach", "dedupe_key": f"email_sent:{i.attempt.pk}",
             "occurred_at": sent_at,
             "data": {"step": i.step.position, "message_id": i.attempt.message_id, "proof": i.esp_id == "proof"}}
            for i in items
        ])  # fmt: skip
    for i in items:
        outcomes[i.action.pk] = h.sent_outcome(step=i.step, lead=i.enrollment.lead, message_id=i.attempt.message_id,
                                               esp_id=i.esp_id, artifact=i.artifact)  # fmt: skip

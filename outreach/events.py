"""ESP webhook events through django-anymail: store raw first, process later in an action.

anymail's views verify the request (basic auth, and the ESP's signature where it has one) and
answer 400 on failure before any signal fires, so a bad signature stores nothing. The receivers
below only store the event with a unique (esp, event id) — a replay is a no-op — and enqueue
``process_esp_event:<id>`` after commit. All interpretation happens in ``esp_event_process``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone

from campaigns.actions import action_enqueue
from campaigns.audit import audit_record
from campaigns.events import event_record
from campaigns.inputs import is_id
from campaigns.jsonsafe import storable

from .identity import normalise_email
from .models import Enrollment, EspEvent, Lead, Reply, SendAttempt
from .replies import InboundReply, classify, ooo_resume_at, reply_match
from .sequences import enrollment_reschedule
from .services import enrollments_stop, lead_bounced, lead_complained, lead_move, lead_unsubscribe

TOUCH_KINDS = {
    "delivered": "email_delivered",
    "opened": "email_opened",
    "clicked": "email_clicked",
}
HEADERS_KEPT = ("Message-ID", "In-Reply-To", "References", "Auto-Submitted", "X-Autoreply", "X-Autorespond",
                "Precedence", "From", "To", "Subject", "Date")  # fmt: skip


# The "esp" of replies read by outreach.imap_poll: the Message-ID dedupes across polls and inboxes.
IMAP_ESP = "imap"

_seen = threading.local()


def reset_receivers() -> None:
    _seen.ran = False


def receivers_ran() -> bool:
    return getattr(_seen, "ran", False)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _fallback_id(data: Any) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def esp_event_store(*, esp: str, kind: str, event_id: str, event_type: str, message_id: str, recipient: str,
                    payload: dict[str, Any]) -> tuple[EspEvent | None, bool]:  # fmt: skip
    """Store one event raw (idempotent on esp + event id) and enqueue its processing after commit.

    Returns (event, True) when stored now, (None, False) for a replay. One INSERT … ON CONFLICT DO
    NOTHING decides, so two deliveries of the same event racing each other store it once.
    """
    # What the provider sent is kept, but jsonb and text refuse NUL and lone surrogates (a 500 and a
    # retry loop otherwise): they are replaced, as are infinite numbers.
    event_id, event_type, message_id, recipient, payload = storable([event_id, event_type, message_id, recipient,
                                                                      payload])  # fmt: skip
    fields = {"esp": esp[:40], "event_id": event_id[:255], "kind": kind, "event_type": (event_type or "unknown")[:40],
              "message_id": (message_id or "")[:255], "recipient": (recipient or "")[:320], "payload": payload,
              "received_at": timezone.now(), "result": ""}  # fmt: skip
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute(
                    "INSERT INTO outreach_espevent (esp, event_id, kind, event_type, message_id, recipient, payload, "
                    "received_at, result) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (esp, event_id) DO NOTHING RETURNING id",
                    [*(fields[k] for k in ("esp", "event_id", "kind", "event_type", "message_id", "recipient")),
                     json.dumps(payload), fields["received_at"], ""],
                )  # fmt: skip
                row = cur.fetchone()
            if row is None:
                return None, False
            event = EspEvent(pk=row[0], **fields)
        else:
            event, created = EspEvent.objects.get_or_create(esp=fields.pop("esp"), event_id=fields.pop("event_id"),
                                                            defaults=fields)  # fmt: skip
            if not created:
                return None, False
        action_enqueue(key=f"process_esp_event:{event.pk}", action_type="process_esp_event",
                       payload={"event_id": event.pk})  # fmt: skip
    return event, True


def on_tracking(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    _seen.ran = True
    payload = _jsonable({
        "event_type": event.event_type, "timestamp": event.timestamp, "message_id": event.message_id,
        "recipient": event.recipient, "metadata": event.metadata, "tags": event.tags,
        "reject_reason": event.reject_reason, "click_url": event.click_url, "description": event.description,
        "esp_event": event.esp_event,
    })  # fmt: skip
    esp_event_store(esp=esp_name.lower(), kind=EspEvent.Kind.TRACKING,
                    event_id=event.event_id or _fallback_id(payload["esp_event"]), event_type=event.event_type,
                    message_id=event.message_id or "", recipient=event.recipient or "", payload=payload)  # fmt: skip


def inbound_store(*, esp: str, event_id: str | None, timestamp: Any, message: Any, from_addr: str, subject: str,
                  text: str) -> tuple[EspEvent | None, bool]:  # fmt: skip
    """Store one inbound email (anymail's inbound webhook or an IMAP poll) in the one shape that
    ``_process_inbound`` reads. Without an event id, the Message-ID (then a hash) dedupes it."""
    headers = {name: str(message[name]) for name in HEADERS_KEPT if message is not None and message[name] is not None}
    payload = _jsonable({
        "event_type": "inbound", "timestamp": timestamp, "from": from_addr,
        "subject": subject, "text": text[:100_000], "headers": headers,
    })  # fmt: skip
    return esp_event_store(esp=esp.lower(), kind=EspEvent.Kind.INBOUND,
                           event_id=event_id or headers.get("Message-ID") or _fallback_id(payload),
                           event_type="inbound", message_id=headers.get("Message-ID", ""), recipient=from_addr,
                           payload=payload)  # fmt: skip


def on_inbound(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    _seen.ran = True
    message = event.message
    from_addr = message.from_email.addr_spec if message and message.from_email else ""
    text = (getattr(message, "stripped_text", None) or message.text or "") if message else ""
    inbound_store(esp=esp_name, event_id=event.event_id, timestamp=event.timestamp, message=message or None,
                  from_addr=from_addr, subject=message.subject if message else "", text=text)  # fmt: skip


def _attempt_for(event: EspEvent) -> SendAttempt | None:
    ids = [i for i in {event.message_id.strip("<>"), event.message_id} if i]
    attempt = None
    if ids:
        attempt = (SendAttempt.objects.filter(message_id__in=ids) | SendAttempt.objects.filter(esp_message_id__in=ids)
                   ).select_related("lead").first()  # fmt: skip
    if attempt is None:
        attempt_id = (event.payload.get("metadata") or {}).get("attempt_id")
        if is_id(str(attempt_id or "")):  # the ESP echoes what we sent, but the payload is theirs
            attempt = SendAttempt.objects.select_related("lead").filter(pk=int(attempt_id)).first()
    return attempt


def esp_event_process(*, event: EspEvent, actor: str) -> str:
    """Interpret a stored event. Idempotent: touch events dedupe on the event, suppressions are get-or-create."""
    if event.processed_at:
        return f"already processed: {event.result}"
    result = (_process_inbound if event.kind == EspEvent.Kind.INBOUND else _process_tracking)(event, actor)
    EspEvent.objects.filter(pk=event.pk).update(processed_at=timezone.now(), result=result[:255])
    return result


def _process_tracking(event: EspEvent, actor: str) -> str:
    attempt = _attempt_for(event)
    lead = attempt.lead if attempt else Lead.objects.filter(email=normalise_email(event.recipient)).first()
    campaign_id = attempt.campaign_id if attempt else (lead.campaign_id if lead else None)
    dedupe = f"esp:{event.esp}:{event.event_id}"[:255]
    source = f"anymail:{event.esp}"
    kind = event.event_type
    data = {"message_id": event.message_id, "esp_event_id": event.pk}
    if kind == "clicked":
        data["url"] = event.payload.get("click_url") or ""
    if kind in TOUCH_KINDS:
        event_record(kind=TOUCH_KINDS[kind], campaign=campaign_id, channel="email", lead_id=lead.pk if lead else None,
                     source=source, dedupe_key=dedupe, data=data)  # fmt: skip
        return f"{TOUCH_KINDS[kind]} for lead {lead.pk if lead else '?'}"
    if lead is None and kind in ("bounced", "complained", "unsubscribed"):
        event_record(kind=f"email_{kind}", campaign=campaign_id, channel="email", source=source, dedupe_key=dedupe,
                     data={**data, "recipient": event.recipient})  # fmt: skip
        return f"{kind} for an unknown recipient"
    campaign = attempt.campaign if attempt else (lead.campaign if lead else None)
    with transaction.atomic():
        if kind == "bounced":
            lead_bounced(lead=lead, campaign=campaign, actor=actor, source=source, dedupe_key=dedupe)
        elif kind == "complained":
            lead_complained(lead=lead, campaign=campaign, actor=actor, source=source, dedupe_key=dedupe)
        elif kind == "unsubscribed":
            lead_unsubscribe(lead=lead, campaign=campaign, actor=actor, source=source)
        else:
            return f"{kind}: nothing to do"
    return f"{kind}: lead {lead.pk} suppressed"


def _process_inbound(event: EspEvent, actor: str) -> str:
    p = event.payload
    reply_in = InboundReply(from_email=p.get("from", ""), subject=p.get("subject", ""), text=p.get("text", ""),
                            headers=p.get("headers", {}))  # fmt: skip
    lead, attempt, how = reply_match(reply_in)
    label = classify(reply_in)
    now = timezone.now()
    with transaction.atomic():
        reply, _ = Reply.objects.get_or_create(
            event=event,
            defaults={"lead": lead, "attempt": attempt, "matched_by": how, "from_email": reply_in.from_email[:320],
                      "subject": reply_in.subject[:500], "text": reply_in.text, "label": label, "received_at": now},
        )  # fmt: skip
        if lead is None:
            return f"{label} reply from {reply_in.from_email}: no lead matched"
        campaign = attempt.campaign if attempt else lead.campaign
        source = "imap" if event.esp == IMAP_ESP else f"anymail:{event.esp}"
        event_record(kind="reply", campaign=campaign, channel="email", lead_id=lead.pk, source=source,
                     dedupe_key=f"reply:{event.pk}", data={"label": label, "matched_by": how})  # fmt: skip
        if label == Reply.Label.BOUNCE:
            lead_bounced(lead=lead, campaign=campaign, actor=actor, source="bounce reply",
                         dedupe_key=f"bounce-reply:{event.pk}")  # fmt: skip
        elif label == Reply.Label.UNSUBSCRIBE:
            lead_unsubscribe(lead=lead, campaign=campaign, actor=actor, source="reply asked to unsubscribe")
        elif label in (Reply.Label.OUT_OF_OFFICE, Reply.Label.AUTO_REPLY):
            if label == Reply.Label.OUT_OF_OFFICE:
                resume = ooo_resume_at(reply_in.text, now=now)
                for enrollment in Enrollment.objects.filter(lead=lead, status=Enrollment.Status.ACTIVE):
                    enrollment_reschedule(enrollment=enrollment, actor=actor, not_before=resume,
                                          note=f"out of office until {resume:%Y-%m-%d}")  # fmt: skip
        else:
            lead_move(lead=lead, to=Lead.Status.REPLIED, actor=actor, note=f"{label} reply")
            enrollments_stop(lead=lead, actor=actor, reason=f"{label} reply received")
            if label == Reply.Label.POSITIVE and campaign is not None:
                _alert_owner(campaign=campaign, lead=lead, reply=reply, actor=actor)
    return f"{label} reply from lead {lead.pk} (matched by {how})"


def _alert_owner(*, campaign: Any, lead: Lead, reply: Reply, actor: str) -> None:
    owner = campaign.owner
    audit_record(obj=lead, actor=actor, action="reply:positive", note=f"owner alerted: {owner or 'no owner'}")
    if owner is None or not owner.email:
        return
    subject = f"Positive reply from {lead} ({campaign.name})"
    body = f"{lead} <{lead.email}> replied:\n\n{reply.text[:2000]}\n"
    transaction.on_commit(lambda: send_mail(subject, body, None, [owner.email], fail_silently=True))

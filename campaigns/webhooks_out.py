"""Outgoing webhooks: subscriptions, the scan of the audit trail and action log, signed deliveries.

Durable, never a signal: ``webhook_scan`` reads new AuditEntry and ActionLog rows (re-reading a
trailing window, because a row's transaction may commit after a later one's) and writes one
WebhookDelivery per (subscription, row) — unique, so a re-read adds nothing — and enqueues
``deliver_webhook:<delivery>``. Deliveries are signed in the Standard Webhooks format and retried
with the queue's backoff; each HTTP attempt is a WebhookAttempt row.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .actions import action_enqueue
from .audit import audit_record
from .models import (
    Action,
    ActionLog,
    ApiToken,
    AuditEntry,
    WebhookAttempt,
    WebhookCursor,
    WebhookDelivery,
    WebhookSubscription,
)
from .outcomes import Outcome

LOOKBACK = timedelta(seconds=120)  # longer than any transaction that writes audit rows
SCAN_BATCH = 5000
USER_AGENT = "campaign-automation-webhooks/1"

SCAN_PAYLOAD = {"type": "object", "additionalProperties": False, "properties": {}}
DELIVER_PAYLOAD = {
    "type": "object",
    "required": ["delivery_id"],
    "additionalProperties": False,
    "properties": {"delivery_id": {"type": "integer", "minimum": 1}},
}


class DestinationRefused(ValueError):
    pass


def check_destination(url: str) -> None:
    """Refuse URLs whose host resolves to a loopback, private, link-local, multicast or reserved address
    (SSRF guard). Loopback is allowed only with WEBHOOK_ALLOW_LOOPBACK (tests)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefused("url: must be an http(s) URL with a host")
    if parts.username or parts.password:
        raise DestinationRefused("url: credentials in the URL are not allowed; use the signature")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)  # fmt: skip
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationRefused(f"url: {parts.hostname} does not resolve ({exc})") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if address.is_loopback and settings.WEBHOOK_ALLOW_LOOPBACK:
            continue
        if not address.is_global or address.is_multicast:
            raise DestinationRefused(f"url: {parts.hostname} resolves to {address}, a non-public address")


def subscription_save(*, subscription: WebhookSubscription, actor: Any) -> str:
    """Validate and save; a new subscription gets a secret, returned once (else "")."""
    if not isinstance(subscription.event_types, list) or not all(isinstance(t, str) for t in subscription.event_types):
        raise ValidationError({"event_types": "a list of event type patterns"})
    try:
        check_destination(subscription.url)
    except DestinationRefused as exc:
        raise ValidationError({"url": str(exc).removeprefix("url: ")}) from None
    secret = ""
    if not subscription.secret:
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        subscription.secret = secret
    with transaction.atomic():
        subscription.full_clean(exclude=["secret"])
        subscription.save()
        audit_record(obj=subscription, actor=actor, action="webhook:saved", data={"url": subscription.url})
    return secret


def sign(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks: ``v1,`` + base64(HMAC-SHA256(base64-decoded secret, "id.timestamp.body"))."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _matches(subscription: WebhookSubscription, event_type: str) -> bool:
    return not subscription.event_types or any(fnmatch.fnmatchcase(event_type, p) for p in subscription.event_types)


def _audit_event(entry: AuditEntry) -> tuple[str, dict[str, Any]]:
    model = entry.content_type.model
    event_type = f"{model}.{entry.action.replace(':', '.')}"
    data = {"object_type": model, "object_id": entry.object_id, "action": entry.action, "old": entry.old,
            "new": entry.new, "note": entry.note, "actor": entry.actor_label, "audit_id": entry.pk}  # fmt: skip
    return event_type, data


def _log_event(log: ActionLog) -> tuple[str, dict[str, Any]]:
    data = {"object_type": "action", "object_id": str(log.action_id), "action_type": log.action.action_type,
            "key": log.action.idempotency_key, "new": log.status, "attempt": log.attempt, "message": log.message,
            "actor": log.actor_label, "log_id": log.pk}  # fmt: skip
    return f"action.status.{log.status}", data


def webhook_scan(action: Action | None = None) -> Outcome:
    """Fan new audit and action-log rows out to the matching subscriptions (idempotent)."""
    now = timezone.now()
    cursor, _ = WebhookCursor.objects.get_or_create(name="default", defaults={"scanned_until": now})
    subscriptions = list(WebhookSubscription.objects.filter(is_active=True))
    since = cursor.scanned_until - LOOKBACK
    created = 0
    if subscriptions:
        rows: list[tuple[str, Any, str, dict[str, Any]]] = []
        own = [ContentType.objects.get_for_model(m) for m in (WebhookSubscription, ApiToken)]
        for entry in (
            AuditEntry.objects.filter(created_at__gte=since, created_at__lte=now)
            .exclude(content_type__in=own)  # the API's own bookkeeping is not an event of the campaign system
            .select_related("content_type")
            .order_by("created_at", "id")[:SCAN_BATCH]
        ):
            rows.append((f"audit:{entry.pk}", entry.created_at, *_audit_event(entry)))
        for log in (
            ActionLog.objects.filter(created_at__gte=since, created_at__lte=now)
            .exclude(status="")
            .exclude(action__action_type__in=["deliver_webhook", "webhook_scan"])
            .select_related("action")
            .order_by("created_at", "id")[:SCAN_BATCH]
        ):
            rows.append((f"actionlog:{log.pk}", log.created_at, *_log_event(log)))
        for sub in subscriptions:
            wanted = [
                WebhookDelivery(subscription=sub, source=source, message_id=f"msg_{sub.pk}_{source.replace(':', '_')}",
                                event_type=event_type, created_at=now,
                                payload={"type": event_type, "timestamp": at.isoformat(), "data": data})
                for source, at, event_type, data in rows
                if at >= sub.created_at and _matches(sub, event_type)
            ]  # fmt: skip
            WebhookDelivery.objects.bulk_create(wanted, ignore_conflicts=True)
        fresh = WebhookDelivery.objects.filter(created_at=now, status=WebhookDelivery.Status.PENDING)
        for delivery_id in fresh.values_list("pk", flat=True):
            _, made = action_enqueue(key=f"deliver_webhook:{delivery_id}", action_type="deliver_webhook",
                                     payload={"delivery_id": delivery_id})  # fmt: skip
            created += made
    WebhookCursor.objects.filter(pk=cursor.pk).update(scanned_until=now)
    return Outcome.ok(f"{created} deliveries enqueued")


def webhook_scan_enqueue() -> None:
    """django-q2 schedule: one scan action per minute slot."""
    action_enqueue(key=f"webhook_scan:{int(time.time() // 60)}", action_type="webhook_scan", payload={})


def deliver_webhook(action: Action) -> Outcome:
    """POST one delivery. 2xx: delivered. 410: the subscriber is gone (permanent). Anything else: retry."""
    delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=action.payload["delivery_id"]).first()
    if delivery is None:
        return Outcome.permanent("delivery deleted")
    if delivery.status == WebhookDelivery.Status.DELIVERED:
        return Outcome.skipped("already delivered")
    sub = delivery.subscription
    attempt = delivery.attempts + 1
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    status_code, error, excerpt = None, "", ""
    started = time.monotonic()
    try:
        if not sub.is_active:
            raise DestinationRefused("subscription is inactive")
        check_destination(sub.url)  # again at send time: DNS may have changed since the subscription
        response = requests.post(
            sub.url, data=body, timeout=settings.WEBHOOK_TIMEOUT_SECONDS, allow_redirects=False,
            headers={"content-type": "application/json", "user-agent": USER_AGENT, "webhook-id": delivery.message_id,
                     "webhook-timestamp": str(timestamp),
                     "webhook-signature": sign(secret=sub.secret, message_id=delivery.message_id,
                                               timestamp=timestamp, body=body)},
        )  # fmt: skip
        status_code, excerpt = response.status_code, response.text[:500]
    except DestinationRefused as exc:
        error = str(exc)
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
    duration = int((time.monotonic() - started) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    final = not ok and (
        status_code == 410 or error.startswith(("url:", "subscription")) or attempt >= action.max_attempts
    )
    with transaction.atomic():
        WebhookAttempt.objects.create(delivery=delivery, attempt=attempt, status_code=status_code, error=error,
                                      duration_ms=duration, response_excerpt=excerpt)  # fmt: skip
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            attempts=attempt, last_status_code=status_code, last_error=error or ("" if ok else excerpt[:1000]),
            status=WebhookDelivery.Status.DELIVERED if ok else (WebhookDelivery.Status.FAILED if final
                                                                else WebhookDelivery.Status.PENDING),
            delivered_at=timezone.now() if ok else None,
        )  # fmt: skip
    if ok:
        return Outcome.ok(f"delivered: HTTP {status_code} in {duration} ms")
    message = f"HTTP {status_code}" if status_code else error
    if final and (status_code == 410 or error):
        return Outcome.permanent(message)
    return Outcome.retry(message)


def subscription_deactivate(*, subscription: WebhookSubscription, actor: Any) -> None:
    """Stop deliveries (pending ones fail permanently at their next attempt). Audited."""
    with transaction.atomic():
        WebhookSubscription.objects.filter(pk=subscription.pk).update(is_active=False)
        subscription.is_active = False
        audit_record(obj=subscription, actor=actor, action="webhook:deactivated")

"""Idempotency-Key on POST/PATCH/DELETE (Stripe's model): the first response per (owner, key) is
stored with a fingerprint of the request and replayed to a retry.

- same key, same request → the stored response, with ``Idempotent-Replayed: true``;
- same key, different request → 422;
- same key while the first is still running → 409 with ``Retry-After``;
- a 5xx is not stored (the retry runs again); records expire after API_IDEMPOTENCY_TTL_SECONDS.

The in-flight row is committed before the view runs, so a concurrent retry on another process sees it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.request import Request

from ..apitokens import execute_relaxed
from ..models import IdempotencyRecord
from .auth import token_of
from .problems import IdempotencyConflict, IdempotencyMismatch

HEADER = "Idempotency-Key"
METHODS = ("POST", "PATCH", "PUT", "DELETE")
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag")
_TABLE = IdempotencyRecord._meta.db_table


class Replay(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def owner_of(request: Request) -> str:
    token = token_of(request)
    return f"token:{token.pk}" if token is not None else f"user:{request.user.pk}"


def fingerprint(request: Request) -> str:
    raw = request._request.body or b""
    try:  # the same JSON with keys in another order or other spacing is the same request
        raw = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON, or nested too deep: the parser answers 400 for both
        pass
    return hashlib.sha256(b"\n".join([request.method.encode(), request.path.encode(), raw])).hexdigest()


def begin(request: Request) -> IdempotencyRecord | None:
    """Claim the key, or raise Replay / IdempotencyMismatch / IdempotencyConflict. None: no key sent."""
    key = request.headers.get(HEADER)
    if request.method not in METHODS or key is None:
        return None
    if not key or len(key) > 255 or not key.isprintable():
        raise exceptions.ValidationError({HEADER: "1 to 255 printable characters"})
    owner, fp, now = owner_of(request), fingerprint(request), timezone.now()
    lock = now + timedelta(seconds=settings.API_IDEMPOTENCY_LOCK_SECONDS)
    expires = now + timedelta(seconds=settings.API_IDEMPOTENCY_TTL_SECONDS)
    # The times as the ORM stores them: sqlite3 would keep "+00:00", which the ORM's filters never match.
    times = [connection.ops.adapt_datetimefield_value(t) for t in (lock, now, expires)]
    with transaction.atomic(), connection.cursor() as cur:
        execute_relaxed(
            cur,
            f'INSERT INTO {_TABLE} (owner, "key", fingerprint, method, path, in_flight, response_headers, '  # noqa: S608
            "locked_until, created_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            'ON CONFLICT (owner, "key") DO NOTHING RETURNING id',
            [owner, key, fp, request.method, request.path[:500], True, "{}", *times],
        )
        row = cur.fetchone()
    if row is not None:
        return IdempotencyRecord(pk=row[0], owner=owner, key=key, fingerprint=fp)
    record = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
    if record is None or record.expires_at <= now or (record.in_flight and record.locked_until <= now):
        # Expired, or abandoned by a crashed request: take it over (one winner by compare-and-set).
        stale = IdempotencyRecord.objects.filter(owner=owner, key=key)
        if record is not None:
            stale = stale.filter(pk=record.pk, created_at=record.created_at, locked_until=record.locked_until)
        stale.delete()
        return begin(request)
    if record.fingerprint != fp:
        raise IdempotencyMismatch()
    if record.in_flight:
        raise IdempotencyConflict(retry_after=max(1, int((record.locked_until - now).total_seconds() + 0.999)))
    response = HttpResponse(bytes(record.response_body or b""), status=record.response_status)
    for name, value in record.response_headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    raise Replay(response)


def finish(record: IdempotencyRecord, response: Any) -> None:
    """Store a finished response; forget a 5xx so the retry runs again."""
    if response.status_code >= 500:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    headers = {name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)}
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        in_flight=False, response_status=response.status_code, response_body=bytes(response.content),
        response_headers=headers,
    )  # fmt: skip


def abandon(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, in_flight=True).delete()

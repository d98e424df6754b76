"""API tokens: issue (secret shown once, SHA-256 stored), revoke, and resolve a presented secret."""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from .audit import audit_record
from .models import ApiToken

PREFIX = "cas_"


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_scopes(token: ApiToken) -> None:
    scopes = token.scopes
    if not isinstance(scopes, list) or not scopes or set(scopes) - set(ApiToken.Scope.values):
        raise ValidationError({"scopes": f"a non-empty list of: {', '.join(ApiToken.Scope.values)}"})
    if ApiToken.Scope.REVIEWER in scopes and token.user_id is None:
        raise ValidationError({"user": "a reviewer token acts as a person: choose the user"})


def token_issue(*, token: ApiToken, actor: Any) -> str:
    """Save a new token and return its secret, which is not stored and cannot be shown again.

    The secret is ``cas_<prefix>_<random>``; 256 bits of randomness make a plain SHA-256 safe to store.
    """
    _check_scopes(token)
    prefix = secrets.token_hex(6)
    secret = f"{PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token.prefix = prefix
    token.key_sha256 = _sha256(secret)
    with transaction.atomic():
        token.save()
        audit_record(obj=token, actor=actor, action="token:issued", data={"scopes": token.scopes})
    return secret


def token_create(*, name: str, scopes: list[str], actor: Any, user: Any = None, expires_at=None,
                 rate_per_minute: int | None = None) -> tuple[ApiToken, str]:  # fmt: skip
    token = ApiToken(name=name, scopes=scopes, user=user, expires_at=expires_at, rate_per_minute=rate_per_minute)
    return token, token_issue(token=token, actor=actor)


def token_revoke(*, token: ApiToken, actor: Any) -> None:
    """Revoke at once; requests with it get 401 from the next one on."""
    if token.revoked_at is not None:
        return
    now = timezone.now()
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
        token.revoked_at = now
        audit_record(obj=token, actor=actor, action="token:revoked")


def token_resolve(secret: str) -> ApiToken | None:
    """The token for a presented secret, whatever its state (the caller checks expiry and revocation)."""
    if not secret.startswith(PREFIX):
        return None
    return ApiToken.objects.select_related("user").filter(key_sha256=_sha256(secret)).first()


_AUTH_SQL = """
WITH t AS (
    SELECT id, name, prefix, scopes, user_id, rate_per_minute, expires_at, last_used_at, created_at
      FROM {tokens} WHERE key_sha256 = %s AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > %s)
), up AS (
    INSERT INTO {windows} (scope, "window", count) SELECT 'token:' || t.id, %s, 1 FROM t
    ON CONFLICT (scope, "window") DO UPDATE SET count = {windows}.count + 1 RETURNING count
)
SELECT t.id, t.name, t.prefix, t.scopes, t.user_id, t.rate_per_minute, t.expires_at, t.last_used_at, t.created_at,
       (SELECT count FROM up)
  FROM t
"""


def token_authenticate(secret: str, *, window: int) -> tuple[ApiToken, int] | None:
    """The usable token for a presented secret and its request count in this throttle window, counted.

    On PostgreSQL one round trip does both (a data-modifying CTE): it is on every API request.
    """
    from django.db import connection

    from .models import ThrottleWindow

    if not secret.startswith(PREFIX):
        return None
    now = timezone.now()
    if connection.vendor != "postgresql":  # the SQLite demo: two statements
        token = ApiToken.objects.filter(key_sha256=_sha256(secret)).first()
        if token is None or not token.is_usable(now):
            return None
        row, _ = ThrottleWindow.objects.get_or_create(scope=f"token:{token.pk}", window=window)
        ThrottleWindow.objects.filter(pk=row.pk).update(count=models.F("count") + 1)
        return token, row.count + 1
    sql = _AUTH_SQL.format(tokens=ApiToken._meta.db_table, windows=ThrottleWindow._meta.db_table)
    with transaction.atomic(), connection.cursor() as cur:
        execute_relaxed(cur, sql, [_sha256(secret), now, window])
        row = cur.fetchone()
    if row is None:
        return None
    scopes = json.loads(row[3]) if isinstance(row[3], str) else row[3]
    token = ApiToken(id=row[0], name=row[1], prefix=row[2], scopes=scopes, user_id=row[4], rate_per_minute=row[5],
                     expires_at=row[6], last_used_at=row[7], created_at=row[8])  # fmt: skip
    return token, row[9]


def execute_relaxed(cursor: Any, sql: str, params: list[Any]) -> None:
    """Run ``sql`` inside an atomic block whose commit does not wait for the WAL flush.

    For rows whose loss in a crash is harmless and which the next synchronous commit flushes anyway
    (WAL is sequential): throttle counters and in-flight idempotency markers. A flush per API request
    would otherwise cost more than the request itself. The SET travels with the statement (one round
    trip) unless the connection binds parameters on the server, which refuses two statements.
    """
    db = cursor.db
    if db.vendor != "postgresql":
        cursor.execute(sql, params)
    elif db.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(sql, params)
    else:
        cursor.execute("SET LOCAL synchronous_commit = off; " + sql, params)
        cursor.nextset()

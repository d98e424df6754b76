"""API tokens: issue (secret shown once, SHA-256 stored), revoke, and resolve a presented secret."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
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

"""Social account services: the only writers of SocialAccount tokens and ``token_status``.

Token health: healthy → expiring (refresh due, or a 401) → refreshed | refresh_failed (transient,
retried; the old tokens stay) | revoked (a human reconnects). Every move is a compare-and-set
with an audit row (campaigns.audit.transition). Tokens never go into audit rows or messages.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.audit import audit_record, transition

from .adapters.base import (
    AdapterError,
    AuthError,
    Credentials,
    PermanentError,
    PublishRequest,
    PublishResult,
    RetryAfterError,
)
from .adapters.registry import get_adapter
from .crypto import DecryptionError
from .models import SocialAccount
from .ratebudget import budget_exhausted, budget_record

logger = logging.getLogger(__name__)

TS = SocialAccount.TokenStatus


class AccountUnavailable(Exception):
    """The account cannot be used until a human reconnects it (revoked), or until a refresh succeeds."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # None: needs a human


def _token_fields(credentials: Credentials) -> dict[str, Any]:
    return {
        "access_token": credentials.access_token,
        "refresh_token": credentials.refresh_token,
        "token_expires_at": credentials.expires_at,
        "scopes": list(credentials.scopes),
    }


def account_connect(
    *, platform: str, credentials: Credentials, actor: Any, display_name: str = "", extra: dict | None = None
) -> SocialAccount:
    """Create or update the account (platform, external id) with fresh tokens; it is healthy again.

    Locks the account row if it exists. Called by the connect flows after a successful OAuth exchange.
    """
    if not credentials.account_id:
        raise PermanentError(f"{platform}: the platform did not say which account this is (no id)")
    with transaction.atomic():
        account = (
            SocialAccount.objects.select_for_update()
            .filter(platform=platform, external_id=credentials.account_id)
            .first()
        )
        values = {
            **_token_fields(credentials),
            "handle": credentials.handle or credentials.account_id,
            "display_name": display_name,
            "token_error": "",
            "token_refreshed_at": timezone.now(),
            "is_active": True,
        }
        if extra:
            values["extra"] = {**(account.extra if account else {}), **extra}
        if account is None:
            account = SocialAccount.objects.create(platform=platform, external_id=credentials.account_id, **values)
            audit_record(obj=account, actor=actor, action="connected", new=account.token_status,
                         data={"scopes": list(credentials.scopes)})  # fmt: skip
            return account
        if account.token_status == TS.HEALTHY:
            SocialAccount.objects.filter(pk=account.pk).update(**values)
            audit_record(obj=account, actor=actor, action="reconnected", data={"scopes": list(credentials.scopes)})
        else:
            if account.token_status in (TS.REFRESHED,):
                transition(account, TS.EXPIRING, actor=actor, field="token_status", note="reconnect")
            transition(account, TS.HEALTHY, actor=actor, field="token_status", note="reconnected", updates=values)
        account.refresh_from_db()
    return account


def account_refresh(
    *, account_id: int, actor: Any, reason: str, stale_access_token: str | None = None
) -> SocialAccount:
    """Refresh the account's access token once, under a row lock (refresh tokens may be single-use).

    ``stale_access_token``: the token a 401 was answered to. If the stored one differs, another
    worker refreshed meanwhile and nothing is sent. Outcomes: refreshed (new tokens stored);
    refresh_failed (transient: old tokens kept, retried later); revoked (permanent: old tokens kept,
    a human reconnects). A failed refresh never overwrites a good refresh token.
    """
    with transaction.atomic():
        account = SocialAccount.objects.select_for_update().get(pk=account_id)
        if account.token_status == TS.REVOKED:
            return account
        if stale_access_token is not None and account.access_token != stale_access_token:
            return account  # someone else already refreshed: use theirs
        if account.token_status in (TS.HEALTHY, TS.REFRESHED, TS.REFRESH_FAILED):
            transition(account, TS.EXPIRING, actor=actor, field="token_status", note=reason)
        adapter = get_adapter(account.platform)
        try:
            fresh = adapter.refresh_token(account.credentials())
        except PermanentError as exc:
            transition(account, TS.REVOKED, actor=actor, field="token_status", note=str(exc)[:500],
                       updates={"token_error": str(exc)[:1000]})  # fmt: skip
            return account
        except AdapterError as exc:  # retry-after or outcome unknown: the old tokens stay
            transition(account, TS.REFRESH_FAILED, actor=actor, field="token_status", note=str(exc)[:500],
                       updates={"token_error": str(exc)[:1000]})  # fmt: skip
            return account
        transition(
            account, TS.REFRESHED, actor=actor, field="token_status", note=reason,
            updates={**_token_fields(fresh), "token_refreshed_at": timezone.now(), "token_error": ""},
        )  # fmt: skip
    return account


def account_revoke(*, account: SocialAccount, actor: Any, error: str) -> None:
    """The platform refused even a fresh token: the account needs a human to reconnect it."""
    if account.token_status in (TS.HEALTHY, TS.REFRESHED, TS.REFRESH_FAILED):
        transition(account, TS.EXPIRING, actor=actor, field="token_status", note=error[:500])
    if account.token_status != TS.REVOKED:
        transition(account, TS.REVOKED, actor=actor, field="token_status", note=error[:500],
                   updates={"token_error": error[:1000]})  # fmt: skip


def _refresh_due(account: SocialAccount, now: datetime) -> bool:
    ahead = timedelta(seconds=settings.TOKEN_REFRESH_AHEAD_SECONDS)
    return account.token_expires_at is not None and account.token_expires_at <= now + ahead


def account_credentials(*, account: SocialAccount, actor: Any) -> Credentials:
    """Decrypted credentials for an outbound call, refreshed first when expiry is near.

    Raises AccountUnavailable when the account is revoked, or when its token has expired and the
    refresh failed (``retry_after`` then says when to try again).
    """
    now = timezone.now()
    if account.token_status == TS.REVOKED:
        raise AccountUnavailable(f"account {account} needs reconnecting: {account.token_error or 'token revoked'}")
    if account.token_status == TS.REFRESH_FAILED or _refresh_due(account, now):
        account = account_refresh(account_id=account.pk, actor=actor, reason="expiry near")
        if account.token_status == TS.REVOKED:
            raise AccountUnavailable(f"account {account} needs reconnecting: {account.token_error}")
        if account.token_expires_at is not None and account.token_expires_at <= now:
            raise AccountUnavailable(f"account {account}: token expired, refresh failed", retry_after=60)
    return account.credentials()


def accounts_refresh_due(*, actor: Any = "system:token-refresher") -> dict[str, int]:
    """Refresh every active account whose token expires within TOKEN_REFRESH_AHEAD_SECONDS (or failed)."""
    cutoff = timezone.now() + timedelta(seconds=settings.TOKEN_REFRESH_AHEAD_SECONDS)
    due = SocialAccount.objects.filter(is_active=True, token_expires_at__lte=cutoff).exclude(token_status=TS.REVOKED)
    counts: dict[str, int] = {}
    for pk, handle in due.values_list("pk", "handle"):
        try:
            status = account_refresh(account_id=pk, actor=actor, reason="refresh ahead of expiry").token_status
        except DecryptionError:
            # Its status is left alone: a key missing from this deployment would otherwise mark every
            # account revoked at once. The others are still refreshed.
            logger.error("account %s (%s): stored token cannot be decrypted with FIELD_ENCRYPTION_KEYS", pk, handle)
            status = "undecryptable"
        counts[status] = counts.get(status, 0) + 1
    return counts


def call_outcome(call: Any, request: PublishRequest) -> PublishResult | AdapterError:
    """The platform's answer to one call: its result, or the classified error it raised."""
    try:
        return call(request)
    except AdapterError as exc:
        return exc


def publish_settle(
    adapter: Any, request: PublishRequest, *, account: SocialAccount, actor: Any, first: PublishResult | AdapterError
) -> PublishResult:
    """Act on the answer to a first LIVE publish call (made on a call thread): store the rate budget,
    and after a 401 refresh the token once and try once more.

    A 401 means the platform refused the call, so nothing was published and one more try cannot
    duplicate. A second 401 with a fresh token revokes the account. A refresh that failed for now
    becomes a RetryAfterError: the post waits, the account is retried by the refresher.
    """
    try:
        return _recorded(first, account)
    except AuthError as exc:
        first_error = exc
    refreshed = account_refresh(
        account_id=account.pk, actor=actor, reason=f"401 at publish: {first_error}"[:500],
        stale_access_token=request.credentials.access_token,
    )  # fmt: skip
    if refreshed.token_status == TS.REVOKED:
        raise AuthError(f"{first_error} (refresh refused: account revoked, reconnect it)", status=first_error.status)
    if refreshed.token_status == TS.REFRESH_FAILED:
        raise RetryAfterError(f"{first_error} (token refresh failed for now: {refreshed.token_error})", retry_after=60)
    again = dataclasses.replace(request, credentials=refreshed.credentials())
    try:
        return _recorded(call_outcome(adapter.publish, again), account)
    except AuthError as exc:
        account_revoke(account=refreshed, actor=actor, error=f"401 again after a refresh: {exc}")
        raise


def _recorded(answer: PublishResult | AdapterError, account: SocialAccount) -> PublishResult:
    """Whatever the platform said about the rate budget is stored, success or not; errors are raised."""
    if isinstance(answer, RetryAfterError) and answer.throttled:
        answer.retry_after = budget_exhausted(
            account, retry_after=answer.retry_after, rate_limit=answer.rate_limit, app_wide=answer.app_wide
        )
        raise answer
    budget_record(account, answer.rate_limit)
    if isinstance(answer, AdapterError):
        raise answer
    return answer

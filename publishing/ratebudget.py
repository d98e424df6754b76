"""Rate budgets learned from the platforms' answers: wait for the reset instead of failing.

Scopes: ``account:<pk>`` for every platform; ``app:<platform>`` for the Meta Graph API, whose
usage headers (X-App-Usage, X-Business-Use-Case-Usage) measure the whole app. A budget counts as
spent when nothing is left, or when less than RATE_BUDGET_RESERVE_FRACTION of its window is
left: calls stop pre-emptively, because concurrent workers would overshoot the last few.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .adapters.base import RateLimit
from .models import RateBudget, SocialAccount

APP_WIDE_PLATFORMS = frozenset({"facebook", "instagram"})
# A 429 without a reset time: hold the account this long.
DEFAULT_HOLD_SECONDS = 60.0
# Budgets are stored once this little is left (fraction of the limit, or calls when no limit is known).
LOW_FRACTION = 0.2
LOW_CALLS = 10


def budget_scopes(account: SocialAccount, *, app_wide: bool = True) -> list[str]:
    scopes = [f"account:{account.pk}"]
    if app_wide and account.platform in APP_WIDE_PLATFORMS:
        scopes.append(f"app:{account.platform}")
    return scopes


def _reserve(limit: int | None) -> int:
    return math.floor(limit * settings.RATE_BUDGET_RESERVE_FRACTION) if limit else 0


def budget_wait(account: SocialAccount, *, now: datetime | None = None) -> tuple[float, str] | None:
    """(seconds until the reset, which budget) when a budget of the account is spent, else None. One query."""
    return budgets_spent([account], now=now).get(account.pk)


def budgets_spent(accounts: list[SocialAccount], *, now: datetime | None = None) -> dict[int, tuple[float, str]]:
    """``budget_wait`` for many accounts in one query: {account pk: (seconds, which budget)} for the spent ones."""
    now = now or timezone.now()
    by_scope: dict[str, list[int]] = {}
    for account in accounts:
        for scope in budget_scopes(account):
            by_scope.setdefault(scope, []).append(account.pk)
    spent: dict[int, tuple[float, str]] = {}
    for budget in RateBudget.objects.filter(scope__in=list(by_scope), reset_at__gt=now):
        if budget.remaining is not None and budget.remaining <= _reserve(budget.limit):
            wait = (budget.reset_at - now).total_seconds()
            why = f"{budget.scope}: {budget.remaining} of {budget.limit or '?'} left until {budget.reset_at:%H:%M:%S}Z"
            for pk in by_scope[budget.scope]:
                if pk not in spent or wait > spent[pk][0]:
                    spent[pk] = (wait, why)
    return spent


def _low(rate_limit: RateLimit) -> bool:
    """Worth storing: within LOW_FRACTION of the limit (or LOW_CALLS when the limit is unknown)."""
    if rate_limit.remaining is None:
        return False
    if rate_limit.limit:
        return rate_limit.remaining <= max(_reserve(rate_limit.limit), math.ceil(rate_limit.limit * LOW_FRACTION))
    return rate_limit.remaining <= LOW_CALLS


def budget_record(
    account: SocialAccount, rate_limit: RateLimit | None, *, force: bool = False, app_wide: bool = True
) -> None:
    """Store what the platform said (one upsert per scope) when the budget runs low.

    Meta's usage headers speak for the app too, hence ``app_wide`` by default; ``app_wide=False``
    stores the account's budget alone.

    A roomy budget is not written: the hot path saves a write per call, and a stored low budget
    stops mattering by itself at its reset time (budget_wait ignores budgets past reset_at).
    """
    if rate_limit is None or not (force or _low(rate_limit)):
        return
    now = timezone.now()
    rows = [
        RateBudget(
            scope=scope,
            limit=rate_limit.limit,
            remaining=rate_limit.remaining,
            reset_at=rate_limit.reset_at,
            updated_at=now,
        )
        for scope in budget_scopes(account, app_wide=app_wide)
    ]
    RateBudget.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["scope"],
        update_fields=["limit", "remaining", "reset_at", "updated_at"],
    )


def budget_exhausted(
    account: SocialAccount, *, retry_after: float | None, rate_limit: RateLimit | None, app_wide: bool = False
) -> float:
    """A 429: the account's budget (``app_wide``: also the app's) is spent until the platform's reset.
    Returns the seconds to wait."""
    wait = retry_after if retry_after is not None else DEFAULT_HOLD_SECONDS
    reset_at = timezone.now() + timedelta(seconds=wait)
    spent = RateLimit(remaining=0, reset_at=reset_at, limit=rate_limit.limit if rate_limit else None)
    budget_record(account, spent, force=True, app_wide=app_wide)
    return wait

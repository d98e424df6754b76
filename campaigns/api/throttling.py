"""Per-token (or per-user) rate limit: a fixed one-minute window counted in the database, so every
web process shares it. One upsert per request. Headers: RateLimit-Limit/Remaining/Reset."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import connection
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from ..models import ThrottleWindow
from .auth import token_of

_TABLE = ThrottleWindow._meta.db_table


def _scope_and_limit(request: Request) -> tuple[str, int] | None:
    token = token_of(request)
    if token is not None:
        return f"token:{token.pk}", token.rate_per_minute or settings.API_THROTTLE_RATE
    if request.user and request.user.is_authenticated and request.user.pk:
        return f"user:{request.user.pk}", settings.API_THROTTLE_RATE
    return None


class TokenRateThrottle(BaseThrottle):
    def allow_request(self, request: Request, view: Any) -> bool:
        found = _scope_and_limit(request)
        if found is None:
            return True
        scope, limit = found
        now = time.time()
        window = int(now // 60)
        count = getattr(request._request, "_token_count", None)  # counted by TokenAuthentication
        if count is not None:
            return self._decide(request, limit, count, window, now)
        with connection.cursor() as cur:
            cur.execute(
                f'INSERT INTO {_TABLE} (scope, "window", count) VALUES (%s, %s, 1) '  # noqa: S608
                f'ON CONFLICT (scope, "window") DO UPDATE SET count = {_TABLE}.count + 1 RETURNING count',
                [scope, window],
            )
            count = cur.fetchone()[0]
        return self._decide(request, limit, count, window, now)

    def _decide(self, request: Request, limit: int, count: int, window: int, now: float) -> bool:
        self.reset = max(1, int((window + 1) * 60 - now + 0.999))
        # Kept on the request so every response (not only 429) carries the headers.
        request._rate_limit = (limit, max(0, limit - count), self.reset)  # type: ignore[attr-defined]
        return count <= limit

    def wait(self) -> float:
        return float(getattr(self, "reset", 60))


def rate_limit_headers(request: Any) -> dict[str, str]:
    info = getattr(request, "_rate_limit", None)
    if info is None:
        return {}
    limit, remaining, reset = info
    return {"RateLimit-Limit": str(limit), "RateLimit-Remaining": str(remaining), "RateLimit-Reset": str(reset)}

"""What Instagram and Facebook Pages share: the Meta Graph API's URLs, usage headers and error codes.

Graph errors are classified on ``error.code``, not on the HTTP status (contracts.md 2.4):
a throttled call may come back as 400 and an expired token as 400 or 401.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from .base import (
    AdapterError,
    AuthError,
    Credentials,
    DuplicateError,
    HttpRequest,
    PermanentError,
    RateLimit,
    RecentPost,
    RetryAfterError,
)
from .http import HttpResponse
from .live import LiveAdapter
from .ratelimits import DEFAULT_BACKOFF_SECONDS, now, retry_after_or

AUTH_CODES = frozenset({102, 190})
THROTTLE_CODES = frozenset({4, 9, 17, 32, 613})  # 9: Instagram's 50 posts per 24 h (community-reported)
# "Application request limit reached": the app's budget, shared by all its pages and accounts. The
# other throttles are one object's: 17 the user's, 32 the page's, 80000-80099 a business use case's.
APP_THROTTLE_CODE = 4
TRANSIENT_CODES = frozenset({1, 2})
DUPLICATE_CODE = 506
PERMANENT_CODES = frozenset({100, 368, 1609005})  # bad parameter, policy block, link could not be scraped
# Graph usage windows roll over an hour: without an estimate, a minute is too eager.
THROTTLE_BACKOFF_SECONDS = 300.0


def is_throttle(code: int) -> bool:
    return code in THROTTLE_CODES or 80000 <= code <= 80099


def is_permission(code: int) -> bool:
    return code == 10 or 200 <= code <= 299


def _json_header(headers: Mapping[str, str], name: str) -> Any:
    try:
        return json.loads(headers.get(name) or "null")
    except ValueError:
        return None


def _usage_entries(headers: Mapping[str, str]) -> list[dict]:
    entries = []
    app = _json_header(headers, "X-App-Usage")
    if isinstance(app, dict):
        entries.append(app)
    business = _json_header(headers, "X-Business-Use-Case-Usage")
    if isinstance(business, dict):
        entries += [
            e for usages in business.values() if isinstance(usages, list) for e in usages if isinstance(e, dict)
        ]
    return entries


def regain_minutes(headers: Mapping[str, str]) -> float:
    """The longest ``estimated_time_to_regain_access`` (minutes) across business use cases, 0 if none."""
    return max((float(e.get("estimated_time_to_regain_access") or 0) for e in _usage_entries(headers)), default=0.0)


def usage_rate_limit(headers: Mapping[str, str], *, at: datetime | None = None) -> RateLimit | None:
    """Percent of quota left (``limit`` 100): the tightest of call count, CPU time and total time."""
    entries = _usage_entries(headers)
    if not entries:
        return None
    used = max(float(e.get(k) or 0) for e in entries for k in ("call_count", "total_cputime", "total_time"))
    minutes = regain_minutes(headers)
    reset_at = (at or now()) + timedelta(minutes=minutes) if minutes else None
    return RateLimit(remaining=max(0, round(100 - used)), reset_at=reset_at, limit=100)


class GraphAdapter(LiveAdapter):
    def graph_url(self, path: str, query: Mapping[str, Any] | None = None) -> str:
        url = f"{settings.GRAPH_API_BASE_URL.rstrip('/')}/{settings.GRAPH_API_VERSION}/{path}"
        return f"{url}?{urlencode(query)}" if query else url

    def graph_get(self, credentials: Credentials, path: str, query: Mapping[str, Any]) -> HttpResponse:
        url = self.graph_url(path, {**query, "access_token": credentials.access_token})
        return self.call(HttpRequest(method="GET", url=url, headers={}))

    def recent_on_edge(
        self,
        credentials: Credentials,
        edge: str,
        *,
        since: datetime,
        limit: int,
        text_field: str,
        time_field: str,
        url_of: Callable[[dict], str],
        extra_fields: tuple[str, ...] = (),
    ) -> list[RecentPost]:
        """The account's posts on ``{account-id}/{edge}`` created at or after ``since``."""
        fields = ",".join(("id", text_field, time_field, *extra_fields))
        query = {"fields": fields, "since": int(since.timestamp()), "limit": limit}
        body = self.graph_get(credentials, f"{credentials.account_id}/{edge}", query).body or {}
        posts = [
            RecentPost(
                platform_post_id=str(item.get("id", "")),
                text=item.get(text_field, ""),
                created_at=graph_time(item.get(time_field)),
                url=url_of(item),
            )
            for item in body.get("data", [])
        ]
        return [p for p in posts if p.created_at is None or p.created_at >= since][:limit]

    def rate_limit(self, response: HttpResponse) -> RateLimit | None:
        return usage_rate_limit(response.headers)

    def error_for(self, response: HttpResponse) -> AdapterError:
        body = response.body if isinstance(response.body, dict) else {}
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        try:
            code = int(error.get("code"))
        except (TypeError, ValueError):
            return self.error_by_status(response, message=str(response.body)[:300])
        subcode = error.get("error_subcode")
        message = f"Graph error {code}{f'/{subcode}' if subcode else ''}: {error.get('message', '')}"
        text = f"{self.platform}: {message}"
        common = {"detail": body, "status": response.status, "rate_limit": self.rate_limit(response)}
        if code in AUTH_CODES:
            return AuthError(text, **common)
        if is_throttle(code):
            minutes = regain_minutes(response.headers)
            wait = minutes * 60 if minutes else retry_after_or(response.headers, THROTTLE_BACKOFF_SECONDS)
            return RetryAfterError(text, retry_after=wait, throttled=True, app_wide=code == APP_THROTTLE_CODE, **common)
        if code in TRANSIENT_CODES or error.get("is_transient"):
            wait = retry_after_or(response.headers, DEFAULT_BACKOFF_SECONDS)
            return RetryAfterError(text, retry_after=wait, **common)
        if code == DUPLICATE_CODE:
            return DuplicateError(f"{text} (duplicate post: the same message was posted recently)", **common)
        if is_permission(code):
            return PermanentError(f"{text} (permission missing)", **common)
        if code in PERMANENT_CODES:
            return PermanentError(text, **common)
        return self.error_by_status(response, message=message)


def graph_time(value: str | None) -> datetime | None:
    """Graph timestamps look like ``2026-03-01T12:00:00+0000``."""
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


def is_missing_object(exc: PermanentError) -> bool:
    """Graph's answer for a deleted or unknown object: code 100, subcode 33."""
    error = exc.detail.get("error") if isinstance(exc.detail, dict) else None
    return isinstance(error, dict) and error.get("code") == 100 and error.get("error_subcode") == 33

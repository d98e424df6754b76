"""Mastodon: POST /api/v1/statuses with Idempotency-Key (contracts.md 2.6)."""

from __future__ import annotations

import html
import re
from datetime import datetime
from urllib.parse import quote, urlencode

from django.conf import settings

from .base import AdapterError, Credentials, HttpRequest, PublishRequest, PublishResult, RateLimit, RecentPost
from .http import HttpResponse
from .live import LiveAdapter, chunks, counters
from .ratelimits import header_rate_limit, parse_iso, retry_after_seconds, seconds_until
from .validation import common_violations, mastodon_length, over_limit

DEFAULT_MAX_CHARACTERS = 500  # the default; instances raise it, so credentials.extra may override
MAX_STATUSES_PER_PAGE = 40
STATUS_COUNTERS = ("replies_count", "reblogs_count", "favourites_count")
METRIC_NAMES = {"likes": "favourites_count", "replies": "replies_count", "reposts": "reblogs_count"}
_BREAK = re.compile(r"<br\s*/?>|</p>\s*<p[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def plain_text(content: str) -> str:
    """Mastodon returns statuses as HTML; the reconciler compares plain text."""
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", content))).strip()


class MastodonAdapter(LiveAdapter):
    platform = "mastodon"
    display_name = "Mastodon"

    def _base(self, credentials: Credentials) -> str:
        return (credentials.extra.get("instance_url") or settings.MASTODON_BASE_URL).rstrip("/")

    def build_publish_request(self, request: PublishRequest) -> HttpRequest:
        body: dict = {"status": request.text, "visibility": "public"}
        if request.reply_to:
            body["in_reply_to_id"] = request.reply_to
        if request.media_ids:
            body["media_ids"] = list(request.media_ids)
        return HttpRequest(
            method="POST",
            url=f"{self._base(request.credentials)}/api/v1/statuses",
            headers={
                "Authorization": f"Bearer {request.credentials.access_token}",
                "Content-Type": "application/json",
                # Mastodon remembers the key for about an hour and answers a repeat with the first status.
                "Idempotency-Key": request.idempotency_key,
            },
            body=body,
        )

    def validate(self, request: PublishRequest) -> list[str]:
        limit = int(request.credentials.extra.get("max_characters") or DEFAULT_MAX_CHARACTERS)
        problems = common_violations(request, self.display_name, takes_media_ids=True)
        return problems + over_limit("text", mastodon_length(request.text), "characters", self.display_name, limit)

    def _publish(self, request: PublishRequest) -> PublishResult:
        response = self.call(self.build_publish_request(request))
        body = response.body if isinstance(response.body, dict) else {}
        return self.result(response, post_id=str(body.get("id", "")), url=body.get("url") or "")

    def lookup_recent(self, credentials: Credentials, since: datetime, limit: int) -> list[RecentPost]:
        query = {"limit": min(limit, MAX_STATUSES_PER_PAGE), "exclude_reblogs": "true"}
        response = self.call(
            HttpRequest(
                method="GET",
                url=f"{self._base(credentials)}/api/v1/accounts/{credentials.account_id}/statuses?{urlencode(query)}",
                headers={"Authorization": f"Bearer {credentials.access_token}"},
            )
        )
        posts = [
            RecentPost(
                platform_post_id=str(status["id"]),
                text=plain_text(status.get("content", "")),
                created_at=parse_iso(status.get("created_at")),
                url=status.get("url") or "",
            )
            for status in response.body or []
        ]
        return [p for p in posts if p.created_at is None or p.created_at >= since][:limit]

    def fetch_metrics(self, credentials: Credentials, platform_post_ids: list[str]) -> dict[str, dict[str, int]]:
        """GET /api/v1/statuses/{id} for each post; a deleted status (404) is left out."""
        metrics: dict[str, dict[str, int]] = {}
        for [status_id] in chunks(platform_post_ids, 1):
            response = self.client.send(
                HttpRequest(
                    method="GET",
                    url=f"{self._base(credentials)}/api/v1/statuses/{quote(status_id, safe='')}",
                    headers={"Authorization": f"Bearer {credentials.access_token}"},
                )
            )
            if response.status == 404:
                continue
            if not response.ok:
                raise self.error_for(response)
            if isinstance(response.body, dict):
                counts = {name: response.body.get(name) for name in STATUS_COUNTERS}
                metrics[status_id] = counters(counts, METRIC_NAMES)
        return metrics

    def rate_limit(self, response: HttpResponse) -> RateLimit | None:
        return header_rate_limit(response.headers, prefix="X-RateLimit", iso_reset=True)

    def error_for(self, response: HttpResponse) -> AdapterError:
        body = response.body if isinstance(response.body, dict) else {}
        message = str(body.get("error") or response.body or "")[:300]
        limit = self.rate_limit(response)
        wait = retry_after_seconds(response.headers)
        if response.status == 429 and wait is None and limit is not None:
            wait = seconds_until(limit.reset_at)
        return self.error_by_status(response, message=message, retry_after=wait)

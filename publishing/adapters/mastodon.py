"""Mastodon: POST /api/v1/statuses with Idempotency-Key (contracts.md 2.6); images via /api/v2/media.

An image is uploaded as multipart ``file`` to POST /api/v2/media: 200 = processed, 202 = still
processing, then GET /api/v1/media/{id} is polled (bounded) until its ``url`` is set, because a
status naming unprocessed media is refused.
"""

from __future__ import annotations

import dataclasses
import html
import re
import time
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote, urlencode

from django.conf import settings

from .base import (
    AdapterError,
    Credentials,
    HttpRequest,
    PublishRequest,
    PublishResult,
    RateLimit,
    RecentPost,
    RetryAfterError,
)
from .http import UNREACHED_BACKOFF_SECONDS, HttpResponse
from .live import LiveAdapter, chunks, counters
from .media import GIF, JPEG, PNG, WEBP, Image, ImageRule, placeholder_id, url_violations
from .ratelimits import header_rate_limit, parse_iso, retry_after_seconds, seconds_until
from .validation import common_violations, mastodon_length, over_limit

DEFAULT_MAX_CHARACTERS = 500  # the default; instances raise it, so credentials.extra may override
MAX_STATUSES_PER_PAGE = 40
MAX_MEDIA = 4
# Mastodon 4's default image_size_limit; instances change it (credentials.extra["image_size_limit"]).
DEFAULT_MAX_IMAGE_BYTES = 16 * 1024 * 1024
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
    image_rule = ImageRule("Mastodon", MAX_MEDIA, DEFAULT_MAX_IMAGE_BYTES, (JPEG, PNG, GIF, WEBP))
    # Images are usually processed at once (200); a 202 is polled this often, this many times.
    media_poll_attempts = 5
    media_poll_interval = 1.0

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

    def image_rule_for(self, request: PublishRequest) -> ImageRule:
        size = request.credentials.extra.get("image_size_limit")
        return dataclasses.replace(self.image_rule, max_bytes=int(size)) if size else self.image_rule

    def _auth(self, credentials: Credentials) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials.access_token}"}

    def build_upload_request(self, credentials: Credentials, image: Image) -> HttpRequest:
        return HttpRequest(
            method="POST",
            url=f"{self._base(credentials)}/api/v2/media",
            headers=self._auth(credentials),
            files={"file": (image.filename, image.content, image.mime_type)},
        )

    def upload_media(self, request: PublishRequest, images: Sequence[Image]) -> PublishRequest:
        ids = []
        for image in images:
            response = self.call(self.build_upload_request(request.credentials, image))
            body = response.body if isinstance(response.body, dict) else {}
            media_id = self.upload_id(response, str(body.get("id") or ""), "media upload")
            if response.status == 202 or not body.get("url"):
                self._wait_until_processed(request.credentials, media_id)
            ids.append(media_id)
        return dataclasses.replace(request, media_urls=(), media_ids=(*request.media_ids, *ids))

    def _wait_until_processed(self, credentials: Credentials, media_id: str) -> None:
        """GET /api/v1/media/{id}: 206 (or no ``url``) = still processing; bounded, then retry later."""
        url = f"{self._base(credentials)}/api/v1/media/{quote(media_id, safe='')}"
        for attempt in range(self.media_poll_attempts):
            time.sleep(self.media_poll_interval if attempt else 0)
            response = self.call(HttpRequest(method="GET", url=url, headers=self._auth(credentials)))
            if response.status == 200 and isinstance(response.body, dict) and response.body.get("url"):
                return
        raise RetryAfterError(
            f"{self.platform}: media {media_id} still processing after {self.media_poll_attempts} checks; "
            "nothing was published",
            retry_after=UNREACHED_BACKOFF_SECONDS,
            detail={"media_id": media_id},
        )

    def proof_media(self, request: PublishRequest, images: Sequence[Image]) -> tuple[list[HttpRequest], PublishRequest]:
        uploads = [self.build_upload_request(request.credentials, image) for image in images]
        ids = tuple(placeholder_id(image) for image in images)
        return uploads, dataclasses.replace(request, media_urls=(), media_ids=(*request.media_ids, *ids))

    def validate(self, request: PublishRequest) -> list[str]:
        limit = int(request.credentials.extra.get("max_characters") or DEFAULT_MAX_CHARACTERS)
        problems = common_violations(request, self.display_name, uploads_media_urls=True, takes_media_ids=True)
        if request.media_urls:
            problems += url_violations(request.media_urls, self.image_rule, attached=len(request.media_ids))
        else:
            problems += over_limit("media_ids", len(request.media_ids), "items", self.display_name, MAX_MEDIA)
        return problems + over_limit("text", mastodon_length(request.text), "characters", self.display_name, limit)

    def _publish(self, request: PublishRequest) -> PublishResult:
        request = self.with_media(request)
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

"""X API v2: POST /2/tweets (contracts.md 2.1); images first through POST /2/media/upload.

An image is uploaded in one shot (multipart ``media`` + ``media_category=tweet_image``,
scope ``media.write``); the answer's ``data.id`` goes into the post's ``media.media_ids``.
"""

from __future__ import annotations

import base64
import calendar
import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings

from .base import (
    AdapterError,
    AuthError,
    Credentials,
    DuplicateError,
    HttpRequest,
    PublishRequest,
    PublishResult,
    RateLimit,
    RecentPost,
)
from .http import HttpResponse
from .live import LiveAdapter, chunks, counters
from .media import GIF, JPEG, PNG, WEBP, Image, ImageRule, placeholder_id, url_violations
from .ratelimits import header_rate_limit, now, parse_iso, seconds_until
from .validation import common_violations, over_limit, x_weighted_length

MAX_WEIGHTED_LENGTH = 280
MAX_MEDIA = 4
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # X's limit for images (GIFs up to 15 MB need the chunked upload)
IMAGE_RULE = ImageRule("X", MAX_MEDIA, MAX_IMAGE_BYTES, (JPEG, PNG, GIF, WEBP))
MAX_IDS_PER_LOOKUP = 100
METRIC_NAMES = {
    "impressions": "impression_count",
    "likes": "like_count",
    "replies": "reply_count",
    "reposts": "retweet_count",
}


class XAdapter(LiveAdapter):
    platform = "x"
    display_name = "X"
    image_rule = IMAGE_RULE

    def _base(self) -> str:
        return settings.X_API_BASE_URL.rstrip("/")

    def _auth(self, credentials: Credentials) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials.access_token}"}

    def build_publish_request(self, request: PublishRequest) -> HttpRequest:
        body: dict = {"text": request.text}
        if request.reply_to:
            body["reply"] = {"in_reply_to_tweet_id": request.reply_to}
        if request.media_ids:
            body["media"] = {"media_ids": list(request.media_ids)}
        return HttpRequest(
            method="POST",
            url=f"{self._base()}/2/tweets",
            headers={**self._auth(request.credentials), "Content-Type": "application/json"},
            body=body,
        )

    def build_upload_request(self, credentials: Credentials, image: Image) -> HttpRequest:
        """POST /2/media/upload, one shot: the bytes as multipart ``media``, the category as a field."""
        return HttpRequest(
            method="POST",
            url=f"{self._base()}/2/media/upload",
            headers=self._auth(credentials),
            form={"media_category": "tweet_image"},
            files={"media": (image.filename, image.content, image.mime_type)},
        )

    def upload_media(self, request: PublishRequest, images: Sequence[Image]) -> PublishRequest:
        ids = []
        for image in images:
            response = self.call(self.build_upload_request(request.credentials, image))
            data = response.body.get("data") if isinstance(response.body, dict) else None
            ids.append(self.upload_id(response, data.get("id") if isinstance(data, dict) else None, "media upload"))
        return dataclasses.replace(request, media_urls=(), media_ids=(*request.media_ids, *ids))

    def proof_media(self, request: PublishRequest, images: Sequence[Image]) -> tuple[list[HttpRequest], PublishRequest]:
        uploads = [self.build_upload_request(request.credentials, image) for image in images]
        ids = tuple(placeholder_id(image) for image in images)
        return uploads, dataclasses.replace(request, media_urls=(), media_ids=(*request.media_ids, *ids))

    def validate(self, request: PublishRequest) -> list[str]:
        problems = common_violations(request, self.display_name, uploads_media_urls=True, takes_media_ids=True)
        problems += over_limit(
            "text", x_weighted_length(request.text), "weighted characters", self.display_name, MAX_WEIGHTED_LENGTH
        )
        if request.media_urls:
            problems += url_violations(request.media_urls, IMAGE_RULE, attached=len(request.media_ids))
        else:
            problems += over_limit("media_ids", len(request.media_ids), "items", self.display_name, MAX_MEDIA)
        for name, value in [("reply_to", request.reply_to), *(("media_ids", m) for m in request.media_ids)]:
            if value and not (value.isascii() and value.isdigit() and len(value) <= 19):
                problems.append(f"{name}: {value!r} is not an X numeric id (1-19 digits)")
        return problems

    def _publish(self, request: PublishRequest) -> PublishResult:
        request = self.with_media(request)
        response = self.call(self.build_publish_request(request))
        data = response.body.get("data") if isinstance(response.body, dict) else None
        post_id = str(data.get("id", "")) if isinstance(data, dict) else ""
        return self.result(response, post_id=post_id, url=self._post_url(request.credentials, post_id))

    def lookup_recent(self, credentials: Credentials, since: datetime, limit: int) -> list[RecentPost]:
        query = {
            "max_results": min(max(limit, 5), 100),  # the API accepts 5..100
            "start_time": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tweet.fields": "created_at",
        }
        response = self.call(
            HttpRequest(
                method="GET",
                url=f"{self._base()}/2/users/{credentials.account_id}/tweets?{urlencode(query)}",
                headers=self._auth(credentials),
            )
        )
        body = response.body if isinstance(response.body, dict) else {}
        return [
            RecentPost(
                platform_post_id=str(item["id"]),
                text=item.get("text", ""),
                created_at=parse_iso(item.get("created_at")),
                url=self._post_url(credentials, str(item["id"])),
            )
            for item in body.get("data") or []
        ][:limit]

    def fetch_metrics(self, credentials: Credentials, platform_post_ids: list[str]) -> dict[str, dict[str, int]]:
        """GET /2/tweets?ids=...&tweet.fields=public_metrics, 100 ids a call; missing ids (errors[]) are left out."""
        metrics: dict[str, dict[str, int]] = {}
        for ids in chunks(platform_post_ids, MAX_IDS_PER_LOOKUP):
            query = urlencode({"ids": ",".join(ids), "tweet.fields": "public_metrics"}, safe=",")
            response = self.call(
                HttpRequest(method="GET", url=f"{self._base()}/2/tweets?{query}", headers=self._auth(credentials))
            )
            body = response.body if isinstance(response.body, dict) else {}
            for item in body.get("data") or []:
                public = item.get("public_metrics") if isinstance(item, dict) else None
                if isinstance(public, dict) and item.get("id"):
                    metrics[str(item["id"])] = counters(public, METRIC_NAMES)
        return metrics

    def refresh_token(self, credentials: Credentials) -> Credentials:
        """POST /2/oauth2/token (grant_type=refresh_token). X rotates the refresh token: store the new one."""
        if not credentials.refresh_token:
            raise AuthError(f"{self.platform}: no refresh token (the app lacks offline.access); reconnect the account")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if settings.X_CLIENT_SECRET:  # confidential client: Basic auth; a public client sends client_id only
            pair = f"{settings.X_CLIENT_ID}:{settings.X_CLIENT_SECRET}".encode()
            headers["Authorization"] = f"Basic {base64.b64encode(pair).decode()}"
        form = {
            "grant_type": "refresh_token",
            "refresh_token": credentials.refresh_token,
            "client_id": settings.X_CLIENT_ID,
        }
        http = HttpRequest(method="POST", url=f"{self._base()}/2/oauth2/token", headers=headers, form=form)
        return self.credentials_from_token(credentials, self.call(http).body)

    def _post_url(self, credentials: Credentials, post_id: str) -> str:
        if not post_id:
            return ""
        return f"https://x.com/{credentials.handle or 'i/web'}/status/{post_id}"

    def rate_limit(self, response: HttpResponse) -> RateLimit | None:
        return header_rate_limit(response.headers, prefix="x-rate-limit")

    def error_for(self, response: HttpResponse) -> AdapterError:
        body = response.body if isinstance(response.body, dict) else {}
        problem_type = str(body.get("type", ""))
        message = str(body.get("detail") or body.get("title") or response.body or "")[:300]
        if response.status == 403 and "duplicate content" in message.lower():
            return DuplicateError(
                f"{self.platform}: duplicate content: X refused a post identical to a recent one ({message})",
                detail=response.body,
                status=response.status,
                rate_limit=self.rate_limit(response),
            )
        if response.status != 429:
            return self.error_by_status(response, message=message)
        limit = self.rate_limit(response)
        wait = seconds_until(limit.reset_at) if limit else None  # X sends no Retry-After
        if problem_type.endswith("/usage-capped"):
            period = str(body.get("period", ""))
            end = _usage_period_end(period)
            message = f"usage cap reached ({period or 'unknown period'}): {message}"
            wait = seconds_until(end) if end else wait
        return self.error_by_status(response, message=message, retry_after=wait)


def _usage_period_end(period: str) -> datetime | None:
    """A spend cap lifts when its UTC day or month ends; before that a retry only burns attempts."""
    today = now().replace(hour=0, minute=0, second=0, microsecond=0)
    if period.lower() == "daily":
        return today + timedelta(days=1)
    if period.lower() == "monthly":
        days_left = calendar.monthrange(today.year, today.month)[1] - today.day + 1
        return today + timedelta(days=days_left)
    return None

"""Instagram Graph API: a media container first, then media_publish (contracts.md 2.3).

The PROOF artifact shows the first call of the flow (the container); the publish call
depends on the container id the platform returns. Until media_publish is sent nothing is
public, so failures before it are safe to retry; only media_publish can end "unknown".
"""

from __future__ import annotations

import time
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings

from .base import (
    AdapterError,
    Credentials,
    HttpRequest,
    OutcomeUnknownError,
    PermanentError,
    PublishRequest,
    PublishResult,
    RecentPost,
    RetryAfterError,
)
from .graph import GraphAdapter, is_missing_object
from .http import UNREACHED_BACKOFF_SECONDS
from .live import chunks, counters
from .validation import common_violations, over_limit

MAX_CAPTION = 2200
INSIGHT_METRICS = ("views", "reach", "likes", "comments", "shares", "saved", "total_interactions")
METRIC_NAMES = {"impressions": "views", "likes": "likes", "replies": "comments", "reposts": "shares"}


class InstagramAdapter(GraphAdapter):
    platform = "instagram"
    display_name = "Instagram"
    # An image container is usually FINISHED at once; video takes minutes and is not polled for here.
    container_poll_attempts = 5
    container_poll_interval = 2.0

    def refresh_token(self, credentials: Credentials) -> Credentials:
        """GET graph.instagram.com/refresh_access_token (Instagram-login tokens, 60 days, ≥24 h old)."""
        query = urlencode({"grant_type": "ig_refresh_token", "access_token": credentials.access_token})
        url = f"{settings.INSTAGRAM_API_BASE_URL.rstrip('/')}/refresh_access_token?{query}"
        return self.credentials_from_token(credentials, self.call(HttpRequest(method="GET", url=url, headers={})).body)

    def build_publish_request(self, request: PublishRequest) -> HttpRequest:
        form: dict = {"caption": request.text, "access_token": request.credentials.access_token}
        if request.media_urls:
            form["image_url"] = request.media_urls[0]
        return HttpRequest(
            method="POST", url=self.graph_url(f"{request.credentials.account_id}/media"), headers={}, form=form
        )

    def validate(self, request: PublishRequest) -> list[str]:
        problems = common_violations(request, self.display_name, text_required=False, uploads_media_urls=True)
        problems += over_limit("text", len(request.text), "characters", self.display_name, MAX_CAPTION)
        if not request.media_urls:
            problems.append("media_urls: none given, Instagram requires an image")
        problems += over_limit("media_urls", len(request.media_urls), "images", f"this {self.display_name} adapter", 1)
        if request.reply_to:
            problems.append("reply_to: Instagram posts cannot be replies")
        return problems

    def _publish(self, request: PublishRequest) -> PublishResult:
        credentials = request.credentials
        container_id = self._create_container(request)
        self._wait_until_finished(credentials, container_id)
        try:
            response = self.call(
                HttpRequest(
                    method="POST",
                    url=self.graph_url(f"{credentials.account_id}/media_publish"),
                    headers={},
                    form={"creation_id": container_id, "access_token": credentials.access_token},
                )
            )
        except OutcomeUnknownError as exc:
            # The container's status_code tells: PUBLISHED = done, FINISHED = publish it again.
            exc.detail = {"container_id": container_id, "error": exc.detail}
            raise
        media_id = str(response.body.get("id", "")) if isinstance(response.body, dict) else ""
        return self.result(response, post_id=media_id, url=self._permalink(credentials, media_id))

    def _create_container(self, request: PublishRequest) -> str:
        try:
            response = self.call(self.build_publish_request(request))
        except OutcomeUnknownError as exc:
            # An unpublished container is invisible and expires in 24 h: a lost answer only costs a retry.
            raise RetryAfterError(
                f"{exc} (before media_publish: nothing was published)",
                retry_after=UNREACHED_BACKOFF_SECONDS,
                detail=exc.detail,
            ) from exc
        container_id = str(response.body.get("id", "")) if isinstance(response.body, dict) else ""
        if not container_id:
            raise RetryAfterError(
                f"{self.platform}: container answer without an id",
                retry_after=UNREACHED_BACKOFF_SECONDS,
                detail=response.body,
            )
        return container_id

    def _wait_until_finished(self, credentials: Credentials, container_id: str) -> None:
        for attempt in range(self.container_poll_attempts):
            if attempt:
                time.sleep(self.container_poll_interval)
            body = self.graph_get(credentials, container_id, {"fields": "status_code,status"}).body or {}
            status_code = body.get("status_code")
            if status_code == "FINISHED":
                return
            if status_code in ("ERROR", "EXPIRED"):
                raise PermanentError(
                    f"{self.platform}: container {container_id} is {status_code}: {body.get('status', '')}", detail=body
                )
        raise RetryAfterError(
            f"{self.platform}: container {container_id} not ready after {self.container_poll_attempts} checks",
            retry_after=UNREACHED_BACKOFF_SECONDS,
            detail={"container_id": container_id},
        )

    def _permalink(self, credentials: Credentials, media_id: str) -> str:
        if not media_id:
            return ""
        try:
            body = self.graph_get(credentials, media_id, {"fields": "permalink"}).body
        except AdapterError:
            return ""  # the post is out; a missing link must not turn success into failure
        return str(body.get("permalink", "")) if isinstance(body, dict) else ""

    def lookup_recent(self, credentials: Credentials, since: datetime, limit: int) -> list[RecentPost]:
        return self.recent_on_edge(
            credentials,
            "media",
            since=since,
            limit=limit,
            text_field="caption",
            time_field="timestamp",
            extra_fields=("permalink",),
            url_of=lambda item: item.get("permalink", ""),
        )

    def fetch_metrics(self, credentials: Credentials, platform_post_ids: list[str]) -> dict[str, dict[str, int]]:
        """GET /{media-id}/insights per post. Empty ``data`` (not yet counted, up to 48 h) gives no metrics."""
        metrics: dict[str, dict[str, int]] = {}
        for [media_id] in chunks(platform_post_ids, 1):
            try:
                body = self.graph_get(credentials, f"{media_id}/insights", {"metric": ",".join(INSIGHT_METRICS)}).body
            except PermanentError as exc:
                if is_missing_object(exc):
                    continue
                raise
            values = {}
            data = body.get("data") if isinstance(body, dict) else None
            for item in data if isinstance(data, list) else []:
                points = item.get("values") if isinstance(item, dict) else None
                if isinstance(points, list) and points and isinstance(points[0], dict) and item.get("name"):
                    values[str(item["name"])] = points[0].get("value")
            found = counters(values, METRIC_NAMES)
            if found:
                metrics[media_id] = found
        return metrics

"""Bluesky: com.atproto.repo.createRecord of an app.bsky.feed.post (contracts.md 2.5)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings

from .base import HttpRequest, PublishRequest
from .live import LiveAdapter


class BlueskyAdapter(LiveAdapter):
    platform = "bluesky"

    def build_publish_request(self, request: PublishRequest) -> HttpRequest:
        record = {
            "$type": "app.bsky.feed.post",
            "text": request.text,
            "createdAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        return HttpRequest(
            method="POST",
            url=f"{settings.BLUESKY_PDS_URL.rstrip('/')}/xrpc/com.atproto.repo.createRecord",
            headers={"Authorization": f"Bearer {request.credentials.access_token}", "Content-Type": "application/json"},
            body={"repo": request.credentials.account_id, "collection": "app.bsky.feed.post", "record": record},
        )

"""Mastodon: POST /api/v1/statuses with Idempotency-Key (contracts.md 2.6)."""

from __future__ import annotations

from django.conf import settings

from .base import HttpRequest, PublishRequest
from .live import LiveAdapter


class MastodonAdapter(LiveAdapter):
    platform = "mastodon"

    def build_publish_request(self, request: PublishRequest) -> HttpRequest:
        base = request.credentials.extra.get("instance_url") or settings.MASTODON_BASE_URL
        body: dict = {"status": request.text, "visibility": "public"}
        if request.reply_to:
            body["in_reply_to_id"] = request.reply_to
        return HttpRequest(
            method="POST",
            url=f"{base.rstrip('/')}/api/v1/statuses",
            headers={
                "Authorization": f"Bearer {request.credentials.access_token}",
                "Content-Type": "application/json",
                # Mastodon remembers the key for about an hour and answers a repeat with the first status.
                "Idempotency-Key": request.idempotency_key,
            },
            body=body,
        )

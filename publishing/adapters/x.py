"""X API v2: POST /2/tweets (contracts.md 2.1)."""

from __future__ import annotations

from django.conf import settings

from .base import HttpRequest, PublishRequest
from .live import LiveAdapter


class XAdapter(LiveAdapter):
    platform = "x"

    def build_publish_request(self, request: PublishRequest) -> HttpRequest:
        body: dict = {"text": request.text}
        if request.reply_to:
            body["reply"] = {"in_reply_to_tweet_id": request.reply_to}
        return HttpRequest(
            method="POST",
            url=f"{settings.X_API_BASE_URL.rstrip('/')}/2/tweets",
            headers={"Authorization": f"Bearer {request.credentials.access_token}", "Content-Type": "application/json"},
            body=body,
        )

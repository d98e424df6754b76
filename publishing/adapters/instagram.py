"""Instagram Graph API: a media container first, then media_publish (contracts.md 2.3).

The PROOF artifact shows the first call of the flow (the container); the publish call
depends on the container id the platform returns.
"""

from __future__ import annotations

from django.conf import settings

from .base import HttpRequest, PublishRequest
from .live import LiveAdapter


class InstagramAdapter(LiveAdapter):
    platform = "instagram"

    def build_publish_request(self, request: PublishRequest) -> HttpRequest:
        form: dict = {"caption": request.text, "access_token": request.credentials.access_token}
        if request.media_urls:
            form["image_url"] = request.media_urls[0]
        return HttpRequest(
            method="POST",
            url=f"{settings.GRAPH_API_BASE_URL.rstrip('/')}/{settings.GRAPH_API_VERSION}/{request.credentials.account_id}/media",
            headers={},
            form=form,
        )

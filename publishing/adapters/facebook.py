"""Facebook Page posts: POST /vNN.0/{page-id}/feed with a Page token (contracts.md 2.4)."""

from __future__ import annotations

from django.conf import settings

from .base import HttpRequest, PublishRequest
from .live import LiveAdapter


class FacebookAdapter(LiveAdapter):
    platform = "facebook"

    def build_publish_request(self, request: PublishRequest) -> HttpRequest:
        form: dict = {"message": request.text, "access_token": request.credentials.access_token}
        if request.link_url:
            form["link"] = request.link_url
        return HttpRequest(
            method="POST",
            url=f"{settings.GRAPH_API_BASE_URL.rstrip('/')}/{settings.GRAPH_API_VERSION}/{request.credentials.account_id}/feed",
            headers={},
            form=form,
        )

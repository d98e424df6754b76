"""LinkedIn Posts API: POST /rest/posts with versioning headers (contracts.md 2.2)."""

from __future__ import annotations

import re

from django.conf import settings

from .base import HttpRequest, PublishRequest
from .live import LiveAdapter

# "little text": LinkedIn silently truncates commentary at the first unescaped reserved character.
_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")


def escape_commentary(text: str) -> str:
    return _RESERVED.sub(r"\\\1", text)


class LinkedInAdapter(LiveAdapter):
    platform = "linkedin"

    def build_publish_request(self, request: PublishRequest) -> HttpRequest:
        return HttpRequest(
            method="POST",
            url=f"{settings.LINKEDIN_API_BASE_URL.rstrip('/')}/rest/posts",
            headers={
                "Authorization": f"Bearer {request.credentials.access_token}",
                "Content-Type": "application/json",
                "LinkedIn-Version": settings.LINKEDIN_API_VERSION,
                "X-Restli-Protocol-Version": "2.0.0",
            },
            body={
                "author": request.credentials.account_id,
                "commentary": escape_commentary(request.text),
                "visibility": "PUBLIC",
                "distribution": {
                    "feedDistribution": "MAIN_FEED",
                    "targetEntities": [],
                    "thirdPartyDistributionChannels": [],
                },
                "lifecycleState": "PUBLISHED",
                "isReshareDisabledByAuthor": False,
            },
        )

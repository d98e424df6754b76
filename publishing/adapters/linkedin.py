"""LinkedIn Posts API: POST /rest/posts with versioning headers (contracts.md 2.2).

One image: POST /rest/images?action=initializeUpload (owner = the author URN) answers an
``uploadUrl`` and an image URN; the bytes are PUT to the upload URL, and the post carries
``content.media.id`` = that URN.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from django.conf import settings

from .base import (
    AdapterError,
    AuthError,
    Credentials,
    DuplicateError,
    HttpRequest,
    PermanentError,
    PublishRequest,
    PublishResult,
    RecentPost,
)
from .http import HttpResponse
from .live import LiveAdapter, chunks, counters
from .media import GIF, JPEG, PNG, Image, ImageRule, url_violations
from .ratelimits import retry_after_seconds
from .validation import common_violations, over_limit

# "little text": LinkedIn silently truncates commentary at the first unescaped reserved character.
_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
_ESCAPED = re.compile(r"\\([\\|{}@\[\]()<>#*_~])")
_POST_URN = re.compile(r"urn:li:(?:share|ugcPost):\d+")
MAX_URNS_PER_STATISTICS = 20  # no documented cap; keeps the URL short
METRIC_NAMES = {
    "impressions": "impressionCount",
    "likes": "likeCount",
    "replies": "commentCount",
    "reposts": "shareCount",
    "clicks": "clickCount",
}
MAX_COMMENTARY = 3000  # documented loosely ("about 3,000"); unverified
# Images API: JPG, GIF, PNG, up to 36,152,320 pixels; no byte cap is documented, this one is ours.
MAX_IMAGE_BYTES = 10 * 1024 * 1024
PROOF_UPLOAD_URL = "(uploadUrl from the initializeUpload answer)"


def escape_commentary(text: str) -> str:
    return _RESERVED.sub(r"\\\1", text)


def unescape_commentary(text: str) -> str:
    return _ESCAPED.sub(r"\1", text)


def post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/" if urn else ""


class LinkedInAdapter(LiveAdapter):
    platform = "linkedin"
    display_name = "LinkedIn"
    image_rule = ImageRule("this LinkedIn adapter", 1, MAX_IMAGE_BYTES, (JPEG, PNG, GIF))

    def _headers(self, credentials: Credentials) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {credentials.access_token}",
            "LinkedIn-Version": settings.LINKEDIN_API_VERSION,
            "X-Restli-Protocol-Version": "2.0.0",
        }

    def refresh_token(self, credentials: Credentials) -> Credentials:
        """POST /oauth/v2/accessToken on www.linkedin.com; refresh tokens exist only for approved partners."""
        if not credentials.refresh_token:
            raise AuthError(
                f"{self.platform}: no refresh token (LinkedIn grants them to approved partners only); reconnect the account"
            )
        form = {
            "grant_type": "refresh_token",
            "refresh_token": credentials.refresh_token,
            "client_id": settings.LINKEDIN_CLIENT_ID,
            "client_secret": settings.LINKEDIN_CLIENT_SECRET,
        }
        url = f"{settings.LINKEDIN_OAUTH_BASE_URL.rstrip('/')}/oauth/v2/accessToken"
        http = HttpRequest(
            method="POST", url=url, headers={"Content-Type": "application/x-www-form-urlencoded"}, form=form
        )
        return self.credentials_from_token(credentials, self.call(http).body)

    def _posts_url(self) -> str:
        return f"{settings.LINKEDIN_API_BASE_URL.rstrip('/')}/rest/posts"

    def build_initialize_upload(self, credentials: Credentials) -> HttpRequest:
        return HttpRequest(
            method="POST",
            url=f"{settings.LINKEDIN_API_BASE_URL.rstrip('/')}/rest/images?action=initializeUpload",
            headers={**self._headers(credentials), "Content-Type": "application/json"},
            body={"initializeUploadRequest": {"owner": credentials.account_id}},
        )

    def build_image_put(self, credentials: Credentials, upload_url: str, image: Image) -> HttpRequest:
        return HttpRequest(
            method="PUT",
            url=upload_url,
            headers={"Authorization": f"Bearer {credentials.access_token}", "Content-Type": image.mime_type},
            content=image.content,
        )

    def upload_media(self, request: PublishRequest, images: Sequence[Image]) -> PublishRequest:
        urns = []
        for image in images:
            response = self.call(self.build_initialize_upload(request.credentials))
            value = response.body.get("value") if isinstance(response.body, dict) else None
            value = value if isinstance(value, dict) else {}
            upload_url = self.upload_id(response, value.get("uploadUrl"), "initializeUpload (uploadUrl)")
            urn = self.upload_id(response, value.get("image"), "initializeUpload (image)")
            self.call(self.build_image_put(request.credentials, upload_url, image))
            urns.append(urn)
        return dataclasses.replace(request, media_urls=(), media_ids=tuple(urns))

    def proof_media(self, request: PublishRequest, images: Sequence[Image]) -> tuple[list[HttpRequest], PublishRequest]:
        uploads: list[HttpRequest] = []
        for image in images:
            uploads.append(self.build_initialize_upload(request.credentials))
            uploads.append(self.build_image_put(request.credentials, PROOF_UPLOAD_URL, image))
        urns = tuple(f"urn:li:image:proof-{image.sha256[:16]}" for image in images)
        return uploads, dataclasses.replace(request, media_urls=(), media_ids=urns)

    def build_publish_request(self, request: PublishRequest) -> HttpRequest:
        body: dict = {
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
        }
        if request.media_ids:
            body["content"] = {"media": {"id": request.media_ids[0]}}
        return HttpRequest(
            method="POST",
            url=self._posts_url(),
            headers={**self._headers(request.credentials), "Content-Type": "application/json"},
            body=body,
        )

    def validate(self, request: PublishRequest) -> list[str]:
        problems = common_violations(request, self.display_name, uploads_media_urls=True)
        problems += url_violations(request.media_urls, self.image_rule)
        problems += over_limit("text", len(request.text), "characters", self.display_name, MAX_COMMENTARY)
        if request.reply_to:
            problems.append("reply_to: LinkedIn posts cannot be replies (comments use another API)")
        return problems

    def _publish(self, request: PublishRequest) -> PublishResult:
        request = self.with_media(request)
        response = self.call(self.build_publish_request(request))
        urn = response.headers.get("x-restli-id", "")
        return self.result(response, post_id=urn, url=post_url(urn))

    def lookup_recent(self, credentials: Credentials, since: datetime, limit: int) -> list[RecentPost]:
        query = {"q": "author", "author": credentials.account_id, "count": limit, "sortBy": "LAST_MODIFIED"}
        response = self.call(
            HttpRequest(
                method="GET",
                url=f"{self._posts_url()}?{urlencode(query)}",
                headers={**self._headers(credentials), "X-RestLi-Method": "FINDER"},
            )
        )
        posts = []
        for element in (response.body or {}).get("elements", []):
            created = element.get("createdAt") or element.get("publishedAt")
            created_at = datetime.fromtimestamp(created / 1000, UTC) if created else None
            if created_at and created_at < since:
                continue
            urn = element.get("id", "")
            text = unescape_commentary(element.get("commentary", ""))
            posts.append(RecentPost(platform_post_id=urn, text=text, created_at=created_at, url=post_url(urn)))
        return posts[:limit]

    def fetch_metrics(self, credentials: Credentials, platform_post_ids: list[str]) -> dict[str, dict[str, int]]:
        """organizationalEntityShareStatistics for the organisation's posts (needs rw_organization_admin).

        Share URNs go in ``shares=List(...)``, ugcPost URNs in ``ugcPosts=List(...)``; Rest.li 2.0 wants
        each URN encoded inside the unencoded ``List(...)``.
        """
        metrics: dict[str, dict[str, int]] = {}
        base = f"{settings.LINKEDIN_API_BASE_URL.rstrip('/')}/rest/organizationalEntityShareStatistics"
        for urns in chunks(platform_post_ids, MAX_URNS_PER_STATISTICS):
            lists = ""
            for param, prefix in (("shares", "urn:li:share:"), ("ugcPosts", "urn:li:ugcPost:")):
                listed = [quote(urn, safe="") for urn in urns if urn.startswith(prefix)]
                if listed:
                    lists += f"&{param}=List({','.join(listed)})"
            if not lists:
                continue  # not a post URN this endpoint reads
            org = quote(credentials.account_id, safe="")
            query = f"q=organizationalEntity&organizationalEntity={org}{lists}"
            response = self.call(HttpRequest(method="GET", url=f"{base}?{query}", headers=self._headers(credentials)))
            for element in (response.body or {}).get("elements", []) if isinstance(response.body, dict) else []:
                urn = element.get("share") or element.get("ugcPost")
                stats = element.get("totalShareStatistics")
                if urn and isinstance(stats, dict):
                    metrics[str(urn)] = counters(stats, METRIC_NAMES)
        return metrics

    def error_for(self, response: HttpResponse) -> AdapterError:
        body = response.body if isinstance(response.body, dict) else {}
        message = str(body.get("message") or response.body or "")[:300]
        input_codes = [e.get("code") for e in (body.get("errorDetails") or {}).get("inputErrors", [])]
        if response.status == 422 and "DUPLICATE_POST" in input_codes:
            match = _POST_URN.search(json.dumps(body))
            urn = match.group(0) if match else ""
            return DuplicateError(
                f"{self.platform}: duplicate post: LinkedIn says it repeats {urn or 'an earlier post'} ({message})",
                existing_id=urn,
                detail={"duplicate_of": urn, "response": body},
                status=response.status,
            )
        if response.status == 426:
            return PermanentError(
                f"{self.platform}: LinkedIn-Version {settings.LINKEDIN_API_VERSION} is retired (HTTP 426); "
                "set LINKEDIN_API_VERSION to a current YYYYMM",
                detail=response.body,
                status=response.status,
            )
        # LinkedIn documents no rate-limit headers; honour Retry-After when one is sent.
        return self.error_by_status(response, message=message, retry_after=retry_after_seconds(response.headers))

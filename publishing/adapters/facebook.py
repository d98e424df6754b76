"""Facebook Page posts: POST /vNN.0/{page-id}/feed with a Page token (contracts.md 2.4).

A post with an image goes to POST /{page-id}/photos instead: ``url`` (Graph fetches the image
itself) and ``message``. The adapter still fetches the image first, to check its type and size
before anything is posted; the answer names the photo (``id``) and the feed story (``post_id``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .base import Credentials, HttpRequest, PermanentError, PublishRequest, PublishResult, RecentPost
from .graph import GraphAdapter, is_missing_object
from .live import chunks, counters
from .media import GIF, JPEG, PNG, Image, ImageRule, url_violations
from .validation import common_violations, over_limit

MAX_MESSAGE = 63206
MAX_IMAGE_BYTES = 4 * 1024 * 1024  # Pages photo guidance: JPEG, PNG, GIF (also BMP, TIFF) under 4 MB
COUNT_FIELDS = "reactions.summary(total_count),comments.summary(total_count),shares"
METRIC_NAMES = {"likes": "reactions", "replies": "comments", "reposts": "shares"}


def post_url(post_id: str) -> str:
    page_id, _, story_id = post_id.partition("_")
    return f"https://www.facebook.com/{page_id}/posts/{story_id}" if story_id else ""


class FacebookAdapter(GraphAdapter):
    platform = "facebook"
    display_name = "Facebook"
    image_rule = ImageRule("this Facebook adapter", 1, MAX_IMAGE_BYTES, (JPEG, PNG, GIF))

    def with_media(self, request: PublishRequest) -> PublishRequest:
        """Check the image (type, size) by fetching it; Graph fetches it again from ``url``."""
        if request.media_urls:
            self.fetch_images(request)
        return request

    def proof_media(self, request: PublishRequest, images: Sequence[Image]) -> tuple[list[HttpRequest], PublishRequest]:
        return [], request  # no upload of ours: the photos call names the URL

    def build_publish_request(self, request: PublishRequest) -> HttpRequest:
        form: dict = {"message": request.text, "access_token": request.credentials.access_token}
        if request.media_urls:
            form["url"] = request.media_urls[0]
            return HttpRequest(
                method="POST", url=self.graph_url(f"{request.credentials.account_id}/photos"), headers={}, form=form
            )
        if request.link_url:
            form["link"] = request.link_url
        return HttpRequest(
            method="POST", url=self.graph_url(f"{request.credentials.account_id}/feed"), headers={}, form=form
        )

    def validate(self, request: PublishRequest) -> list[str]:
        problems = common_violations(request, self.display_name, uploads_media_urls=True)
        problems += url_violations(request.media_urls, self.image_rule)
        if request.media_urls and request.link_url:
            problems.append("link_url: a Facebook photo post cannot carry a link; put it in the text")
        problems += over_limit("text", len(request.text), "characters", self.display_name, MAX_MESSAGE)
        if request.reply_to:
            problems.append("reply_to: Facebook Page posts cannot be replies (comments use another edge)")
        return problems

    def _publish(self, request: PublishRequest) -> PublishResult:
        request = self.with_media(request)
        response = self.call(self.build_publish_request(request))
        body = response.body if isinstance(response.body, dict) else {}
        # /photos answers {"id": <photo>, "post_id": <page>_<story>}; /feed answers {"id": <page>_<story>}.
        post_id = str(body.get("post_id") or body.get("id") or "")
        return self.result(response, post_id=post_id, url=post_url(post_id))

    def lookup_recent(self, credentials: Credentials, since: datetime, limit: int) -> list[RecentPost]:
        return self.recent_on_edge(
            credentials,
            "feed",
            since=since,
            limit=limit,
            text_field="message",
            time_field="created_time",
            url_of=lambda item: post_url(str(item.get("id", ""))),
        )

    def fetch_metrics(self, credentials: Credentials, platform_post_ids: list[str]) -> dict[str, dict[str, int]]:
        """GET /{post-id}?fields=reactions.summary(total_count),comments.summary(total_count),shares per post."""
        metrics: dict[str, dict[str, int]] = {}
        for [post_id] in chunks(platform_post_ids, 1):
            try:
                body = self.graph_get(credentials, post_id, {"fields": COUNT_FIELDS}).body
            except PermanentError as exc:
                if is_missing_object(exc):
                    continue
                raise
            body = body if isinstance(body, dict) else {}
            shares = body.get("shares")
            counts = {
                "reactions": _summary_total(body.get("reactions")),
                "comments": _summary_total(body.get("comments")),
                # Graph leaves ``shares`` out of a post nobody has shared.
                "shares": shares.get("count") if isinstance(shares, dict) else 0 if shares is None else None,
            }
            metrics[post_id] = counters(counts, METRIC_NAMES)
        return metrics


def _summary_total(edge: object) -> int | None:
    summary = edge.get("summary") if isinstance(edge, dict) else None
    return summary.get("total_count") if isinstance(summary, dict) else None

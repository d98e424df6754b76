"""Facebook Page posts: POST /vNN.0/{page-id}/feed with a Page token (contracts.md 2.4)."""

from __future__ import annotations

from datetime import datetime

from .base import Credentials, HttpRequest, PermanentError, PublishRequest, PublishResult, RecentPost
from .graph import GraphAdapter, is_missing_object
from .live import chunks, counters
from .validation import common_violations, over_limit

MAX_MESSAGE = 63206
COUNT_FIELDS = "reactions.summary(total_count),comments.summary(total_count),shares"
METRIC_NAMES = {"likes": "reactions", "replies": "comments", "reposts": "shares"}


def post_url(post_id: str) -> str:
    page_id, _, story_id = post_id.partition("_")
    return f"https://www.facebook.com/{page_id}/posts/{story_id}" if story_id else ""


class FacebookAdapter(GraphAdapter):
    platform = "facebook"
    display_name = "Facebook"

    def build_publish_request(self, request: PublishRequest) -> HttpRequest:
        form: dict = {"message": request.text, "access_token": request.credentials.access_token}
        if request.link_url:
            form["link"] = request.link_url
        return HttpRequest(
            method="POST", url=self.graph_url(f"{request.credentials.account_id}/feed"), headers={}, form=form
        )

    def validate(self, request: PublishRequest) -> list[str]:
        problems = common_violations(request, self.display_name)
        problems += over_limit("text", len(request.text), "characters", self.display_name, MAX_MESSAGE)
        if request.reply_to:
            problems.append("reply_to: Facebook Page posts cannot be replies (comments use another edge)")
        return problems

    def _publish(self, request: PublishRequest) -> PublishResult:
        response = self.call(self.build_publish_request(request))
        post_id = str(response.body.get("id", "")) if isinstance(response.body, dict) else ""
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

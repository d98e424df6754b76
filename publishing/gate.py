"""The publish gate: checked right before every outbound call. Returns why not, or None."""

from __future__ import annotations

from campaigns.models import Campaign
from campaigns.services import strategy_sha256

from .models import Post, PublishTarget
from .services import approval_expired


def publish_refusal(target: PublishTarget) -> str | None:
    post: Post = target.post
    campaign: Campaign = post.campaign
    if campaign.status != Campaign.Status.RUNNING:
        return f"campaign {campaign.name!r} is {campaign.status}, not running"
    if campaign.strategy_approved_sha256 != strategy_sha256(campaign):
        return f"campaign {campaign.name!r}: strategy is not approved in its current form"
    if post.status not in (Post.Status.APPROVED, Post.Status.SCHEDULED):
        return f"post {post.pk} is {post.status}, not approved"
    current = post.compute_sha256()
    if not post.approved_sha256 or current != post.approved_sha256:
        return f"post {post.pk}: content {current[:12]} differs from the approved content {post.approved_sha256[:12] or '(none)'}"
    expired = approval_expired(post)
    if expired:
        return f"post {post.pk}: the approval expired ({expired})"
    if target.status != PublishTarget.Status.SCHEDULED:
        return f"target {target.pk} is {target.status}, not scheduled"
    return None

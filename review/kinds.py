"""What can be reviewed, and how: each kind names its model and the owning app's services.

Review never writes another app's status itself: approve / reject / request changes call the
owning service, which checks permissions, reviewer ≠ author and the content hash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import Model, QuerySet

from campaigns import services as campaign_services
from campaigns.models import Campaign
from outreach import sequences as template_services
from outreach.models import Template
from publishing import services as post_services
from publishing.models import Post


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    model: str  # "app_label.Model"
    approve: Callable[..., None]
    reject: Callable[..., None]
    request_changes: Callable[..., None]
    snapshot: Callable[[Any], dict[str, Any]]
    queryset: Callable[[], QuerySet]
    # Optional set-based approval: (objects, actor) -> {pk: why not}; else approve() one by one.
    approve_many: Callable[..., dict[Any, str]] | None = None

    @property
    def model_class(self) -> type[Model]:
        return apps.get_model(self.model)


def _post_snapshot(post: Post) -> dict[str, Any]:
    return {
        "title": post.title,
        "campaign_id": post.campaign_id,
        "platforms": ",".join(sorted({t.account.platform for t in post.targets.all()})),
        "author_id": post.author_id,
        "status": post.status,
        "scheduled_at": post.scheduled_at,
        "content_sha256": post.content_sha256,
    }


def _campaign_snapshot(campaign: Campaign) -> dict[str, Any]:
    return {
        "title": campaign.name,
        "campaign_id": campaign.pk,
        "platforms": ",".join(sorted(campaign.channels)),
        "author_id": campaign.owner_id,
        "status": campaign.status,
        "scheduled_at": None,
        "content_sha256": campaign_services.strategy_sha256(campaign),
    }


def _template_snapshot(template: Template) -> dict[str, Any]:
    return {
        "title": template.name,
        "campaign_id": template.campaign_id,
        "platforms": "email",
        "author_id": template.author_id,
        "status": template.status,
        "scheduled_at": None,
        "content_sha256": template.compute_sha256(),
    }


KINDS: dict[str, Kind] = {
    "post": Kind(
        name="post", label="Social post", model="publishing.Post",
        approve=lambda obj, actor: post_services.post_approve(post=obj, actor=actor),
        reject=lambda obj, actor, reason: post_services.post_reject(post=obj, actor=actor, reason=reason),
        request_changes=lambda obj, actor, comment: post_services.post_request_changes(
            post=obj, actor=actor, comment=comment),
        snapshot=_post_snapshot,
        queryset=lambda: Post.objects.select_related("campaign", "author").prefetch_related("targets__account"),
        approve_many=lambda objs, actor: post_services.post_approve_many(posts=objs, actor=actor),
    ),
    "strategy": Kind(
        name="strategy", label="Campaign strategy", model="campaigns.Campaign",
        approve=lambda obj, actor: campaign_services.campaign_approve(campaign=obj, actor=actor),
        reject=lambda obj, actor, reason: campaign_services.campaign_reject(campaign=obj, actor=actor, reason=reason),
        request_changes=lambda obj, actor, comment: campaign_services.campaign_request_changes(
            campaign=obj, actor=actor, comment=comment),
        snapshot=_campaign_snapshot,
        queryset=lambda: Campaign.objects.all(),
    ),
    "template": Kind(
        name="template", label="Email template", model="outreach.Template",
        approve=lambda obj, actor: template_services.template_approve(template=obj, actor=actor),
        reject=lambda obj, actor, reason: template_services.template_reject(template=obj, actor=actor, reason=reason),
        request_changes=lambda obj, actor, comment: template_services.template_request_changes(
            template=obj, actor=actor, comment=comment),
        snapshot=_template_snapshot,
        queryset=lambda: Template.objects.select_related("campaign", "author"),
    ),
}  # fmt: skip


def kind_for_model(model: type[Model]) -> Kind | None:
    label = model._meta.label
    return next((k for k in KINDS.values() if k.model == label), None)

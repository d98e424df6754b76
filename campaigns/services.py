"""Campaign services: the only writers of Campaign rows and of Campaign.status."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from .audit import audit_record, transition
from .errors import InvalidTransition
from .hashing import content_sha256
from .models import Campaign, ChannelConfig

S = Campaign.Status
# Fields a caller may set; status and approval fields move only through the services below, and the
# campaign's LIVE switch (mode) only through campaigns.controls.control_set.
EDITABLE_FIELDS = {
    "name", "slug", "description", "target_niche", "service_key", "target_clients", "target_mrr", "channels",
    "max_emails_per_day", "max_outreach_per_day", "strategy", "owner", "timezone", "start_date",
    "end_date", "objective", "kpi_targets",
}  # fmt: skip


def strategy_sha256(campaign: Campaign) -> str:
    return content_sha256({"strategy": campaign.strategy, "channels": sorted(campaign.channels)})


def _check_fields(fields: dict[str, Any]) -> None:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: "not a field you can set" for name in sorted(unknown)})


def _save_validated(campaign: Campaign) -> None:
    campaign.full_clean()
    try:
        with transaction.atomic():
            campaign.save()
    except IntegrityError as exc:  # a concurrent create won the unique name/slug race
        raise ValidationError({"name": f"a campaign with this name or slug already exists ({exc.__class__.__name__})"})


def campaign_create(*, actor: Any, **fields: Any) -> Campaign:
    """Create a draft campaign. Raises ValidationError naming each bad field; writes nothing then."""
    _check_fields(fields)
    if fields.get("name") and not fields.get("slug"):
        fields["slug"] = slugify(fields["name"])[:200]
    campaign = Campaign(**fields)
    with transaction.atomic():
        _save_validated(campaign)
        audit_record(obj=campaign, actor=actor, action="created", new=campaign.status)
    return campaign


def campaign_update(*, campaign: Campaign, actor: Any, **changes: Any) -> Campaign:
    """Edit fields. Changing the strategy or channels of an approved campaign voids its approval."""
    _check_fields(changes)
    if campaign.status in Campaign.TERMINAL:
        raise InvalidTransition(f"campaign {campaign.pk} is {campaign.status}; it can no longer be edited")
    for key, value in changes.items():
        setattr(campaign, key, value)
    with transaction.atomic():
        _save_validated(campaign)
        audit_record(obj=campaign, actor=actor, action="updated", note=", ".join(sorted(changes)))
        if campaign.status == S.APPROVED and strategy_sha256(campaign) != campaign.strategy_approved_sha256:
            transition(campaign, S.PENDING_REVIEW, actor=actor, note="strategy edited after approval; approval voided")
    return campaign


def campaign_submit(*, campaign: Campaign, actor: Any) -> None:
    if not campaign.strategy.strip():
        raise InvalidTransition("strategy: write the campaign's strategy before asking for review")
    transition(campaign, S.PENDING_REVIEW, actor=actor)


def campaign_approve(*, campaign: Campaign, actor: Any) -> None:
    """Approve the strategy as it is now; the approval is bound to its hash."""
    if not getattr(actor, "has_perm", lambda p: False)("campaigns.approve_campaign"):
        raise InvalidTransition("you do not have permission to approve campaigns")
    sha = strategy_sha256(campaign)
    transition(
        campaign,
        S.APPROVED,
        actor=actor,
        updates={
            "strategy_approved_sha256": sha,
            "strategy_approved_by": actor,
            "strategy_approved_at": timezone.now(),
        },
        data={
            "sha256": sha,
            "decision": "approved",
            "content": {"strategy": campaign.strategy, "channels": sorted(campaign.channels)},
        },
    )


def campaign_reject(*, campaign: Campaign, actor: Any, reason: str) -> None:
    if not reason.strip():
        raise InvalidTransition("reason: a rejection needs a reason")
    if not getattr(actor, "has_perm", lambda p: False)("campaigns.approve_campaign"):
        raise InvalidTransition("you do not have permission to reject campaigns")
    transition(campaign, S.REJECTED, actor=actor, note=reason, data={"decision": "rejected"})


def campaign_request_changes(*, campaign: Campaign, actor: Any, comment: str) -> None:
    """Back to draft with the reviewer's comment."""
    if not comment.strip():
        raise InvalidTransition("comment: say what should change")
    if not getattr(actor, "has_perm", lambda p: False)("campaigns.approve_campaign"):
        raise InvalidTransition("you do not have permission to review campaigns")
    transition(campaign, S.DRAFT, actor=actor, note=comment, data={"decision": "changes_requested"})


def campaign_reopen(*, campaign: Campaign, actor: Any) -> None:
    transition(campaign, S.DRAFT, actor=actor)


def campaign_start(*, campaign: Campaign, actor: Any) -> None:
    """Running requires a strategy approved for exactly its current text (DESIGN.md)."""
    if not campaign.strategy_approved_sha256 or campaign.strategy_approved_sha256 != strategy_sha256(campaign):
        raise InvalidTransition(f"campaign {campaign.pk}: the strategy is not approved in its current form")
    transition(campaign, S.RUNNING, actor=actor)


def campaign_pause(*, campaign: Campaign, actor: Any, note: str = "") -> None:
    transition(campaign, S.PAUSED, actor=actor, note=note)


def campaign_resume(*, campaign: Campaign, actor: Any) -> None:
    if campaign.status != S.PAUSED:
        raise InvalidTransition(
            f"campaign {campaign.pk}: only a paused campaign can be resumed (it is {campaign.status})"
        )
    campaign_start(campaign=campaign, actor=actor)


def campaign_complete(*, campaign: Campaign, actor: Any, note: str = "") -> None:
    transition(campaign, S.COMPLETED, actor=actor, note=note)


def campaign_kill(*, campaign: Campaign, actor: Any, note: str = "") -> None:
    transition(campaign, S.KILLED, actor=actor, note=note)


def campaign_channel_set(*, campaign: Campaign, actor: Any, channel: str, **limits: Any) -> ChannelConfig:
    """Create or update the per-channel limits of a campaign."""
    config = ChannelConfig.objects.filter(campaign=campaign, channel=channel).first() or ChannelConfig(
        campaign=campaign, channel=channel
    )
    for key, value in limits.items():
        setattr(config, key, value)
    config.full_clean()
    with transaction.atomic():
        config.save()
        audit_record(
            obj=campaign,
            actor=actor,
            action="channel_config",
            note=channel,
            data={k: str(v) for k, v in limits.items()},
        )
    return config

"""Writes of analytics rows a person makes (spend entries, conversions, rules)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from campaigns.audit import audit_record
from campaigns.channels import Channel
from campaigns.models import Campaign

from .models import SpendEntry
from .rollups import mark_dirty


def spend_record(
    *, campaign: Campaign, channel: str, day: date, amount: Decimal, actor: Any, note: str = ""
) -> SpendEntry:
    """Add a spend entry and mark its day for the next rollup. ValidationError names the field."""
    if channel not in Channel.values:
        raise ValidationError({"channel": f"unknown channel {channel!r}"})
    if amount is None or Decimal(amount) < 0:
        raise ValidationError({"amount": "must be ≥ 0"})
    with transaction.atomic():
        entry = SpendEntry.objects.create(
            campaign=campaign, channel=channel, day=day, amount=amount, note=note,
            created_by=actor if getattr(actor, "pk", None) else None,
        )  # fmt: skip
        mark_dirty(campaign_id=campaign.pk, day=day)
        audit_record(obj=entry, actor=actor, action="spend:recorded", note=f"{amount} on {channel} {day}")
    return entry


def spend_update(*, entry: SpendEntry, actor: Any, **changes: Any) -> SpendEntry:
    """Change a spend entry; both the old and the new day are rolled up again."""
    old_day, old_campaign = entry.day, entry.campaign_id
    with transaction.atomic():
        for key, value in changes.items():
            setattr(entry, key, value)
        entry.full_clean()
        entry.save()
        mark_dirty(campaign_id=old_campaign, day=old_day)
        mark_dirty(campaign_id=entry.campaign_id, day=entry.day)
        audit_record(obj=entry, actor=actor, action="spend:changed", note=", ".join(sorted(changes)))
    return entry


def spend_delete(*, entry: SpendEntry, actor: Any) -> None:
    with transaction.atomic():
        mark_dirty(campaign_id=entry.campaign_id, day=entry.day)
        audit_record(
            obj=entry, actor=actor, action="spend:deleted", note=f"{entry.amount} on {entry.channel} {entry.day}"
        )
        entry.delete()

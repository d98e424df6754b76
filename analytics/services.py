"""Writes of analytics rows a person makes (spend entries, conversions, rules)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from campaigns.audit import audit_record
from campaigns.channels import Channel
from campaigns.events import event_record
from campaigns.models import Campaign
from outreach.models import Lead
from outreach.services import lead_move

from .models import Conversion, SpendEntry
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


def conversion_record(
    *,
    lead: Any,
    value: Decimal,
    actor: Any,
    kind: str = "won",
    occurred_at: datetime | None = None,
    campaign: Campaign | None = None,
    note: str = "",
) -> Conversion:
    """Record a conversion (admin or API) and append its ``conversion`` event, once.

    The lead is moved to ``qualified`` through ``outreach.services.lead_move`` when its state machine
    allows it (from ``replied``); otherwise only the value is recorded. ValidationError names the field.
    """
    if kind not in Conversion.Kind.values:
        raise ValidationError({"kind": f"must be one of {', '.join(Conversion.Kind.values)}"})
    if value is None or Decimal(value) < 0:
        raise ValidationError({"value": "must be ≥ 0"})
    occurred_at = occurred_at or timezone.now()
    if occurred_at > timezone.now() + timedelta(minutes=5):
        raise ValidationError({"occurred_at": "cannot be in the future"})
    campaign_id = campaign.pk if campaign is not None else lead.campaign_id
    with transaction.atomic():
        conversion = Conversion.objects.create(
            lead=lead, campaign_id=campaign_id, kind=kind, value=value, occurred_at=occurred_at, note=note,
            created_by=actor if getattr(actor, "pk", None) else None,
        )  # fmt: skip
        event, _ = event_record(
            kind="conversion", campaign=campaign_id, lead_id=lead.pk, value=Decimal(value), occurred_at=occurred_at,
            source="analytics:conversion", dedupe_key=f"conversion:{conversion.pk}", data={"kind": kind},
        )  # fmt: skip
        Conversion.objects.filter(pk=conversion.pk).update(event_id=event.pk)
        conversion.event_id = event.pk
        # The lead's status is outreach's: move it through its service, if its machine allows.
        moved = lead_move(
            lead=lead, to=Lead.Status.QUALIFIED, actor=actor, note=f"conversion {conversion.pk}: {kind} {value}"
        )
        audit_record(obj=conversion, actor=actor, action="conversion:recorded",
                     note=f"{kind} {value}" + ("; lead qualified" if moved else f"; lead stays {lead.status}"))  # fmt: skip
    return conversion

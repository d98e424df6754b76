"""The one writer of the event log."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from .models import Campaign, Event


def event_record(
    *,
    kind: str,
    campaign: Campaign | int | None = None,
    channel: str = "",
    lead_id: int | None = None,
    target_id: int | None = None,
    source: str = "",
    dedupe_key: str | None = None,
    value: Decimal | None = None,
    occurred_at: datetime | None = None,
    data: dict[str, Any] | None = None,
) -> tuple[Event, bool]:
    """Append an event. With ``dedupe_key`` the same event twice (a webhook replay) is stored once."""
    fields = _fields(kind=kind, campaign=campaign, channel=channel, lead_id=lead_id, target_id=target_id,
                     source=source, value=value, occurred_at=occurred_at, data=data)  # fmt: skip
    if dedupe_key is None:
        return Event.objects.create(**fields), True
    return Event.objects.get_or_create(dedupe_key=dedupe_key, defaults=fields)


def _fields(*, kind: str, campaign: Campaign | int | None = None, channel: str = "", lead_id: int | None = None,
            target_id: int | None = None, source: str = "", value: Decimal | None = None,
            occurred_at: datetime | None = None, data: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "kind": kind,
        "campaign_id": campaign.pk if isinstance(campaign, Campaign) else campaign,
        "channel": channel,
        "lead_id": lead_id,
        "target_id": target_id,
        "source": source,
        "value": value,
        "occurred_at": occurred_at or timezone.now(),
        "data": data or {},
    }


def events_record_many(rows: list[dict[str, Any]]) -> int:
    """Append many events in one INSERT; rows take ``event_record``'s arguments and each needs a
    ``dedupe_key`` (a replayed row is skipped, as ``event_record`` would). Returns rows given."""
    Event.objects.bulk_create(
        [Event(dedupe_key=r["dedupe_key"], **_fields(**{k: v for k, v in r.items() if k != "dedupe_key"}))
         for r in rows],
        ignore_conflicts=True,
    )  # fmt: skip
    return len(rows)

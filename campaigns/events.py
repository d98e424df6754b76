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
    fields = {
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
    if dedupe_key is None:
        return Event.objects.create(**fields), True
    return Event.objects.get_or_create(dedupe_key=dedupe_key, defaults=fields)


def events_record_many(rows: list[dict[str, Any]]) -> int:
    """Append many events in one INSERT; rows take ``event_record``'s arguments and each needs a
    ``dedupe_key`` (a replayed row is skipped, as ``event_record`` would). Returns rows given."""
    now = timezone.now()
    Event.objects.bulk_create(
        [Event(kind=r["kind"], campaign_id=r["campaign"].pk if isinstance(r.get("campaign"), Campaign)
               else r.get("campaign"), channel=r.get("channel", ""), lead_id=r.get("lead_id"),
               target_id=r.get("target_id"), source=r.get("source", ""), dedupe_key=r["dedupe_key"],
               value=r.get("value"), occurred_at=r.get("occurred_at") or now, data=r.get("data") or {})
         for r in rows],
        ignore_conflicts=True,
    )  # fmt: skip
    return len(rows)

"""The one writer of the event log."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .bound_sql import bound_cursor
from .models import Campaign, Event, EventDedupe


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
    existing = _deduped(dedupe_key)
    if existing is not None:
        return existing, False
    try:
        # The key row is the uniqueness (the partitioned log cannot have a global unique index): a
        # concurrent writer of the same key waits on it and then rolls its event back here.
        with transaction.atomic():
            event = Event.objects.create(dedupe_key=dedupe_key, **fields)
            EventDedupe.objects.create(dedupe_key=dedupe_key, event_id=event.pk, occurred_at=event.occurred_at)
    except IntegrityError:
        existing = _deduped(dedupe_key)
        if existing is None:
            raise
        return existing, False
    return event, True


def _deduped(dedupe_key: str) -> Event | None:
    """The event stored under ``dedupe_key``, or None if the key is new.

    A key outlives its event when retention detached the event's month: the key still says "stored
    once", so the answer is an unsaved stand-in with the event's id and time, never a second event.
    """
    row = EventDedupe.objects.filter(pk=dedupe_key).values_list("event_id", "occurred_at").first()
    if row is None:
        return None
    event = Event.objects.filter(pk=row[0], occurred_at=row[1]).first()
    return event or Event(pk=row[0], occurred_at=row[1], dedupe_key=dedupe_key)


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
    """Append many events at once; rows take ``event_record``'s arguments and each needs a
    ``dedupe_key`` (a replayed row is skipped, as ``event_record`` would). Returns rows stored."""
    seen = _stored_keys({r["dedupe_key"] for r in rows})  # grows with the batch: a key twice in it is stored once
    fresh = []
    for r in rows:
        key = r["dedupe_key"]
        if key in seen:
            continue
        seen.add(key)
        fresh.append(Event(dedupe_key=key, **_fields(**{k: v for k, v in r.items() if k != "dedupe_key"})))
    if not fresh:
        return 0
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                _insert_sql(fresh)
            else:
                Event.objects.bulk_create(fresh)
                EventDedupe.objects.bulk_create(
                    [EventDedupe(dedupe_key=e.dedupe_key, event_id=e.pk, occurred_at=e.occurred_at) for e in fresh]
                )
    except IntegrityError:
        # A concurrent writer stored one of these keys between our read and our insert: fall back to
        # the one-at-a-time path, which settles each key on the dedupe row.
        stored = 0
        for r in rows:
            stored += event_record(**r)[1]
        return stored
    return len(fresh)


_INSERT_WITH_KEYS = """
    WITH e AS (
        INSERT INTO campaigns_event
            (kind, campaign_id, channel, lead_id, target_id, source, value, occurred_at, data, dedupe_key)
        SELECT k, c, ch, l, t, s, v, o, d::jsonb, dk
        FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::bigint[], %s::bigint[], %s::text[], %s::numeric[],
                    %s::timestamptz[], %s::text[], %s::text[]) AS u(k, c, ch, l, t, s, v, o, d, dk)
        RETURNING id, dedupe_key, occurred_at
    )
    INSERT INTO campaigns_eventdedupe (dedupe_key, event_id, occurred_at) SELECT dedupe_key, id, occurred_at FROM e
"""
_COLUMNS = ("kind", "campaign_id", "channel", "lead_id", "target_id", "source", "value", "occurred_at")


def _insert_sql(events: list[Event]) -> None:
    """PostgreSQL: the events and their key rows in one statement, the columns as arrays bound apart
    from the SQL (campaigns.bound_sql). 25 events: 3.1 ms of CPU per ``events_record_many`` with the
    two ``bulk_create`` calls, 1.75 ms with this."""
    params = [[getattr(e, name) for e in events] for name in _COLUMNS]
    params += [[json.dumps(e.data) for e in events], [e.dedupe_key for e in events]]
    with bound_cursor(connection) as cursor:
        cursor.execute(_INSERT_WITH_KEYS, params)


def _stored_keys(keys: set[str]) -> set[str]:
    return set(EventDedupe.objects.filter(pk__in=keys).values_list("pk", flat=True))

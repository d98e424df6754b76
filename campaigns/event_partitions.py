"""Monthly partitions of the event log (PostgreSQL): list them, create months ahead, detach old ones.

Migration 0006 made ``campaigns_event`` a table partitioned by range of ``occurred_at`` with one
partition per UTC month (``campaigns_event_y2026m12``) and a DEFAULT partition for rows outside
them. ``event_partitions_ensure`` runs daily (``auto:event-partitions``) so next months exist before
their first event; a month whose rows already sit in DEFAULT (a backfill of old events) is moved
out of it in the same transaction. ``event_partitions_detach`` takes months older than the
retention horizon out of the log without dropping them: the operator dumps, then drops (the
runbook in docs/analytics.md). On SQLite (the demo) the log is one table and these do nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

PARENT = "campaigns_event"
DEFAULT = f"{PARENT}_default"
NAME_RE = re.compile(rf"^{PARENT}_y(\d{{4}})m(\d{{2}})$")


class NotPartitioned(Exception):
    """The database is not PostgreSQL (or the migration has not run): nothing to manage."""


@dataclass(frozen=True)
class Partition:
    name: str
    month: date | None  # None for DEFAULT
    rows_estimate: int

    @property
    def label(self) -> str:
        return f"{self.month:%Y-%m}" if self.month else "default"


def _month(value: date | datetime) -> date:
    return date(value.year, value.month, 1)


def _next(month: date, n: int = 1) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _bound(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def partition_name(month: date) -> str:
    return f"{PARENT}_y{month:%Y}m{month:%m}"


def _require_partitioned() -> None:
    if connection.vendor != "postgresql":
        raise NotPartitioned("the event log is partitioned on PostgreSQL only; this database is " + connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass", [PARENT])
        if cursor.fetchone() is None:
            raise NotPartitioned(f"{PARENT} is not partitioned (migration campaigns 0006 not applied)")


def event_partitions() -> list[Partition]:
    """The attached partitions, oldest month first, DEFAULT last."""
    _require_partitioned()
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname, greatest(c.reltuples, 0)::bigint FROM pg_inherits i
               JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass""",
            [PARENT],
        )
        rows = cursor.fetchall()
    found = []
    for name, estimate in rows:
        match = NAME_RE.match(name)
        found.append(Partition(name, date(int(match[1]), int(match[2]), 1) if match else None, estimate))
    return sorted(found, key=lambda p: (p.month is None, p.month or date.min))


def event_partitions_ensure(*, through: date | None = None, start: date | None = None,
                            months_ahead: int | None = None) -> list[str]:  # fmt: skip
    """Create the missing monthly partitions from ``start`` (default: this month) to ``through``
    (default: ``months_ahead`` months on, default EVENT_PARTITIONS_AHEAD_MONTHS). Returns the names
    created. Idempotent."""
    _require_partitioned()
    if months_ahead is None:
        months_ahead = settings.EVENT_PARTITIONS_AHEAD_MONTHS
    today = timezone.now().astimezone(UTC).date()
    month = _month(start or today)
    last = _month(through or _next(_month(today), months_ahead))
    existing = {p.month for p in event_partitions()}
    created = []
    while month <= last:
        if month not in existing:
            _create_month(month)
            created.append(partition_name(month))
        month = _next(month)
    return created


def _create_month(month: date) -> None:
    name, low, high = partition_name(month), _bound(month), _bound(_next(month))
    with transaction.atomic(), connection.cursor() as cursor:
        # Built detached, filled with the month's rows from DEFAULT, then attached: PostgreSQL
        # refuses a new partition while DEFAULT holds rows of its range.
        cursor.execute(f'CREATE TABLE "{name}" (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
        # The names are ours (digits only); the values are bound.
        move = (
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE occurred_at >= %s AND occurred_at < %s RETURNING *) "  # noqa: S608
            f'INSERT INTO "{name}" SELECT * FROM moved'
        )
        cursor.execute(move, [low, high])
        cursor.execute(f'ALTER TABLE "{name}" ADD CHECK (occurred_at >= %s AND occurred_at < %s)', [low, high])
        cursor.execute(f'ALTER TABLE {PARENT} ATTACH PARTITION "{name}" FOR VALUES FROM (%s) TO (%s)', [low, high])


def event_partitions_detach(*, older_than_months: int, now: datetime | None = None) -> list[str]:
    """Detach the month partitions that end more than ``older_than_months`` months ago.

    The tables stay in the database (detached, renamed ``…_detached``) for a dump; nothing is
    dropped here. Returns the new names.
    """
    if older_than_months < 1:
        raise ValueError("older_than_months: must be at least 1 (the current month is never detached)")
    _require_partitioned()
    horizon = _next(_month((now or timezone.now()).astimezone(UTC)), -older_than_months)
    detached = []
    for partition in event_partitions():
        if partition.month is not None and _next(partition.month) <= horizon:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f'ALTER TABLE {PARENT} DETACH PARTITION "{partition.name}"')
                cursor.execute(f'ALTER TABLE "{partition.name}" RENAME TO "{partition.name}_detached"')
            detached.append(f"{partition.name}_detached")
    return detached

"""Daily rollups of the event log into ``analytics_dailymetric``, in one SQL statement per run.

``INSERT … SELECT … GROUP BY GROUPING SETS … ON CONFLICT … DO UPDATE … WHERE … IS DISTINCT FROM``:
per channel and the campaign total ("all") in one pass over the events; a re-run of unchanged days
finds every row equal and writes nothing (idempotent and cheap). Groups that vanished (a spend entry
deleted, no events) are removed by the same statement.

Incremental: the state row remembers the highest event id read; a run redoes only the (campaign,
day) pairs of newer events (plus ``DirtyDay`` rows from spend edits). Ids are handed out before
commit, so a transaction can commit an id lower than one already read: each run re-reads the last
``OVERLAP_IDS`` ids as well, and the daily schedule redoes yesterday and today in full.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from .models import DailyMetric, DirtyDay, RollupState

STATE = "daily"
OVERLAP_IDS = 10_000
LOCK_KEY = 0x616E616C79_01  # pg_advisory_xact_lock: one rollup at a time

# Event kinds per counter. Outreach's ESP events arrive with an "email_" prefix; both spellings count.
KINDS: dict[str, tuple[str, ...]] = {
    "send": ("email_sent", "dm_sent", "message_sent"),
    "delivered": ("email_delivered", "delivered"),
    "open": ("email_opened", "opened"),
    "click": ("click", "email_clicked", "clicked"),
    "reply": ("reply", "email_replied"),
    "bounce": ("email_bounced", "bounced"),
    "complaint": ("email_complained", "complained"),
    "unsubscribe": ("email_unsubscribed", "unsubscribed"),
    "captured": ("lead_captured",),
    "qualified": ("lead_qualified", "conversion"),
    "published": ("post_published",),
    "conversion": ("conversion",),
}
COUNTERS = [
    "leads_targeted", "leads_contacted", "leads_responded", "leads_qualified", "leads_captured",
    "posts_published", "sends", "delivered", "opens", "clicks", "replies", "bounces", "complaints",
    "unsubscribes", "conversions", "revenue", "spend",
]  # fmt: skip


def _in(kind: str) -> str:
    return "e.kind IN (" + ", ".join(f"'{k}'" for k in KINDS[kind]) + ")"


def _event_aggregates() -> str:
    return f"""
        count(DISTINCT e.lead_id) AS leads_targeted,
        count(DISTINCT e.lead_id) FILTER (WHERE {_in("send")}) AS leads_contacted,
        count(DISTINCT e.lead_id) FILTER (WHERE {_in("reply")}) AS leads_responded,
        count(DISTINCT e.lead_id) FILTER (WHERE {_in("qualified")}) AS leads_qualified,
        count(*) FILTER (WHERE {_in("captured")}) AS leads_captured,
        count(*) FILTER (WHERE {_in("published")}) AS posts_published,
        count(*) FILTER (WHERE {_in("send")}) AS sends,
        count(*) FILTER (WHERE {_in("delivered")}) AS delivered,
        count(*) FILTER (WHERE {_in("open")}) AS opens,
        count(*) FILTER (WHERE {_in("click")}) AS clicks,
        count(*) FILTER (WHERE {_in("reply")}) AS replies,
        count(*) FILTER (WHERE {_in("bounce")}) AS bounces,
        count(*) FILTER (WHERE {_in("complaint")}) AS complaints,
        count(*) FILTER (WHERE {_in("unsubscribe")}) AS unsubscribes,
        count(*) FILTER (WHERE {_in("conversion")}) AS conversions,
        coalesce(sum(e.value) FILTER (WHERE {_in("conversion")}), 0) AS revenue"""


DAY = "(e.occurred_at AT TIME ZONE 'UTC')::date"


def aggregate_select(*, events: str, spend_where: str) -> str:
    """The SELECT of the daily rows: ``events`` is a FROM clause binding alias ``e`` (a range or a join)."""
    event_cols = COUNTERS[:-1]
    # Built from this module's constants only; values always travel as parameters.
    return f"""
    WITH ev AS (
        SELECT e.campaign_id, {DAY} AS day,
               CASE WHEN GROUPING(e.channel) = 1 THEN '{DailyMetric.ALL}' ELSE e.channel END AS channel,
               {_event_aggregates()}
        FROM {events}
        GROUP BY GROUPING SETS ((e.campaign_id, {DAY}, e.channel), (e.campaign_id, {DAY}))
    ), sp AS (
        SELECT s.campaign_id, s.day,
               CASE WHEN GROUPING(s.channel) = 1 THEN '{DailyMetric.ALL}' ELSE s.channel END AS channel,
               sum(s.amount) AS spend
        FROM analytics_spendentry s
        WHERE {spend_where}
        GROUP BY GROUPING SETS ((s.campaign_id, s.day, s.channel), (s.campaign_id, s.day))
    )
    SELECT coalesce(ev.day, sp.day) AS day, coalesce(ev.campaign_id, sp.campaign_id) AS campaign_id,
           coalesce(ev.channel, sp.channel) AS channel,
           {", ".join(f"coalesce(ev.{c}, 0) AS {c}" for c in event_cols)},
           coalesce(sp.spend, 0) AS spend
    FROM ev FULL JOIN sp USING (campaign_id, day, channel)"""  # noqa: S608


def vanished_delete(*, table: str, where: str, fresh: str, keys: tuple[str, ...]) -> str:
    """``DELETE`` the rows of ``table`` (with its alias) matching ``where`` whose ``keys`` (each a
    template for ``str.format(alias)``, never NULL) are missing from the CTE ``fresh``.

    The anti-join is a ``FULL JOIN``, which PostgreSQL runs only as a hash or merge join, and the
    ids it finds are deleted through the primary key. A ``NOT EXISTS`` let the planner pick a
    nested-loop anti-join whenever the table's statistics were stale: right after a first run
    wrote 30,000 credit rows it expected 1 and compared 30,000 × 30,000 pairs (94 s for a 2 s
    statement on the partitioned event log).
    """
    name = table.split()[0]
    on = " AND ".join(f"{k.format('o')} = {k.format('n')}" for k in keys)
    return f"""
        DELETE FROM {name} WHERE id = ANY (ARRAY(
            SELECT o.id FROM (SELECT * FROM {table} WHERE {where}) o FULL JOIN {fresh} n ON {on}
            WHERE {keys[0].format("n")} IS NULL
        ))
        RETURNING 1"""  # noqa: S608 - constants; values are parameters


def upsert_sql(*, events: str, spend_where: str, existing: str) -> str:
    cols = ", ".join(COUNTERS)
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in COUNTERS)
    old = ", ".join(f"m.{c}" for c in COUNTERS)
    new = ", ".join(f"EXCLUDED.{c}" for c in COUNTERS)
    gone = vanished_delete(table="analytics_dailymetric m", where=existing, fresh="agg",
                           keys=("{}.day", "{}.campaign_id", "{}.channel"))  # fmt: skip
    return f"""
    WITH agg AS ({aggregate_select(events=events, spend_where=spend_where)}),
    up AS (
        INSERT INTO analytics_dailymetric AS m (day, campaign_id, channel, {cols}, updated_at)
        SELECT day, campaign_id, channel, {cols}, now() FROM agg
        ON CONFLICT (campaign_id, day, channel) DO UPDATE SET {sets}, updated_at = EXCLUDED.updated_at
        WHERE ({old}) IS DISTINCT FROM ({new})
        RETURNING 1
    ), gone AS ({gone}
    )
    SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM gone)"""  # noqa: S608


# A day range: every campaign's events in [start, end).
RANGE = {
    "events": "campaigns_event e WHERE e.campaign_id IS NOT NULL"
    " AND e.occurred_at >= %(start)s AND e.occurred_at < %(end)s",
    "spend_where": "s.day >= %(start)s::date AND s.day < %(end)s::date",
    "existing": "m.day >= %(start)s::date AND m.day < %(end)s::date",
}
# Some (campaign, day) pairs: one index range scan of (campaign_id, occurred_at) per pair.
PAIRS_SET = "SELECT * FROM unnest(%(cids)s::bigint[], %(days)s::date[])"
PAIRS = {
    "events": "unnest(%(cids)s::bigint[], %(days)s::date[]) AS d(cid, dday) JOIN campaigns_event e"
    " ON e.campaign_id = d.cid AND e.occurred_at >= d.dday::timestamp AT TIME ZONE 'UTC'"
    " AND e.occurred_at < (d.dday + 1)::timestamp AT TIME ZONE 'UTC'",
    "spend_where": f"(s.campaign_id, s.day) IN ({PAIRS_SET})",
    "existing": f"(m.campaign_id, m.day) IN ({PAIRS_SET})",
}


@dataclass(frozen=True)
class RollupResult:
    written: int  # rows inserted or changed
    removed: int
    days: int  # (campaign, day) pairs or days considered
    changed_days: tuple[date, ...] = ()  # distinct days redone


def unsupported_reason() -> str | None:
    """Why the rollup (and attribution) cannot run on this database, or None on PostgreSQL.

    Both are PostgreSQL SQL (GROUPING SETS, ``AT TIME ZONE``, advisory locks). The SQLite demo gets
    this one sentence where it would otherwise get a traceback every quarter of an hour.
    """
    if connection.vendor == "postgresql":
        return None
    return (f"the daily rollup and attribution run on PostgreSQL only; this database is {connection.vendor}, "
            "so the dashboard shows no rolled-up metrics (set DATABASE_URL to a PostgreSQL database)")  # fmt: skip


def _run(sql: str, params: dict) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written, removed = cursor.fetchone()
    return written, removed


def _lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def rollup_range(*, start: date, end: date) -> RollupResult:
    """Recompute every campaign's rows for days ``start`` … ``end`` (inclusive). Idempotent."""
    with transaction.atomic():
        _lock()
        params = {"start": midnight(start), "end": midnight(end + timedelta(1))}
        written, removed = _run(upsert_sql(**RANGE), params)
    days = tuple(start + timedelta(n) for n in range((end - start).days + 1))
    return RollupResult(written, removed, len(days), days)


def rollup_pairs(pairs: Iterable[tuple[int, date]]) -> RollupResult:
    """Recompute the rows of the given (campaign id, day) pairs only."""
    pairs = sorted(set(pairs))
    if not pairs:
        return RollupResult(0, 0, 0)
    params = {"cids": [c for c, _ in pairs], "days": [d for _, d in pairs]}
    with transaction.atomic():
        _lock()
        written, removed = _run(upsert_sql(**PAIRS), params)
    return RollupResult(written, removed, len(pairs), tuple(sorted({d for _, d in pairs})))


def dirty_pairs(since_id: int) -> tuple[set[tuple[int, date]], int]:
    """(campaign, day) pairs of events after ``since_id`` (minus the overlap), and the new high-water mark."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM campaigns_event")
        (top,) = cursor.fetchone()
        cursor.execute(
            "SELECT DISTINCT campaign_id, (occurred_at AT TIME ZONE 'UTC')::date FROM campaigns_event"
            " WHERE id > %s AND id <= %s AND campaign_id IS NOT NULL",
            [max(since_id - OVERLAP_IDS, 0), top],
        )
        pairs = set(cursor.fetchall())
    return pairs, top


def rollup_incremental() -> RollupResult:
    """Redo only the days that changed since the last run: new events and spend edits.

    Holds an advisory lock for the transaction, so two runs never interleave their watermarks.
    """
    with transaction.atomic():
        _lock()
        state, _ = RollupState.objects.select_for_update().get_or_create(name=STATE)
        pairs, top = dirty_pairs(state.last_event_id)
        dirty = list(DirtyDay.objects.values_list("pk", "campaign_id", "day"))
        pairs |= {(c, d) for _, c, d in dirty}
        result = rollup_pairs(pairs)
        DirtyDay.objects.filter(pk__in=[pk for pk, _, _ in dirty]).delete()
        RollupState.objects.filter(name=STATE).update(last_event_id=top, updated_at=timezone.now())
    return result


def mark_dirty(*, campaign_id: int, day: date) -> None:
    DirtyDay.objects.get_or_create(campaign_id=campaign_id, day=day)


def backfill(*, start: date, end: date, chunk_days: int = 7, progress: Callable[[str], None] | None = None) -> int:
    """Roll up ``start`` … ``end`` in chunks, reporting each; returns rows written."""
    total_days = (end - start).days + 1
    done = written = 0
    day = start
    while day <= end:
        last = min(day + timedelta(chunk_days - 1), end)
        result = rollup_range(start=day, end=last)
        written += result.written
        done += result.days
        if progress:
            progress(f"{day} … {last}: {result.written} row(s) written, {result.removed} removed "
                     f"({100 * done // total_days}%)")  # fmt: skip
        day = last + timedelta(1)
    return written

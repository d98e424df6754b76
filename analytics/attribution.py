"""Multi-touch attribution in SQL: who gets credit for each conversion.

A conversion is a ``conversion`` event with a lead and a value. Its touches are that lead's events
of the kinds in ``TOUCH_KINDS`` with a campaign, in the lookback window before it (inclusive of the
conversion instant, exclusive of its start), ordered by (occurred_at, id). Models:

- first_touch / last_touch: all credit to the first / last touch. One index probe per conversion
  (``LATERAL … ORDER BY … LIMIT 1`` on the (lead_id, occurred_at) index) — faster than numbering
  every touch;
- linear: 1/n to each touch;
- time_decay: weight 0.5^(age / half-life), normalised to 1 per conversion;
- position_based: 40 % first, 40 % last, 20 % shared by the middle (n = 1: 100 %, n = 2: 50/50).

The last three number the touches with window functions. Credits are summed per (day of the
conversion, campaign, channel, target) and upserted; groups that vanished are deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection, transaction

from .models import AttributionModel
from .rollups import midnight, vanished_delete

# Opens are left out: privacy proxies (Apple Mail) "open" every message.
TOUCH_KINDS = ("email_sent", "click", "email_clicked", "reply", "lead_captured", "dm_sent", "message_sent")
DEFAULT_LOOKBACK_DAYS = 30
DEFAULT_HALF_LIFE_DAYS = 7.0
LOCK_KEY = 0x61747472  # with the model's hash: one run per model at a time
M = AttributionModel


def _kinds() -> str:
    return ", ".join(f"'{k}'" for k in TOUCH_KINDS)


CONVERSIONS = """
    SELECT c.id AS conv_id, c.lead_id, c.occurred_at AS conv_at, coalesce(c.value, 0)::float8 AS value,
           (c.occurred_at AT TIME ZONE 'UTC')::date AS day
    FROM campaigns_event c
    WHERE c.kind = 'conversion' AND c.lead_id IS NOT NULL
      AND c.occurred_at >= %(start)s AND c.occurred_at < %(end)s"""


def _touch_filter(alias: str) -> str:
    return (
        f"{alias}.lead_id = conv.lead_id AND {alias}.occurred_at <= conv.conv_at"
        f" AND {alias}.occurred_at > conv.conv_at - %(lookback)s AND {alias}.kind IN ({_kinds()})"
        f" AND {alias}.campaign_id IS NOT NULL"
    )


def credit_select(model: str) -> str:
    """SELECT day, campaign_id, channel, target_id, credit, revenue for ``model`` (params: start,
    end, lookback, half_life_seconds)."""
    if model in (M.FIRST_TOUCH, M.LAST_TOUCH):
        direction = "ASC" if model == M.FIRST_TOUCH else "DESC"
        return f"""
        SELECT conv.day, t.campaign_id, t.channel, t.target_id, count(*)::float8 AS credit, sum(conv.value) AS revenue
        FROM ({CONVERSIONS}) conv
        CROSS JOIN LATERAL (
            SELECT e.campaign_id, e.channel, e.target_id FROM campaigns_event e
            WHERE {_touch_filter("e")}
            ORDER BY e.occurred_at {direction}, e.id {direction} LIMIT 1
        ) t
        GROUP BY 1, 2, 3, 4"""  # noqa: S608 - built from constants; values are parameters
    if model == M.LINEAR:
        weight = "1.0::float8 / count(*) OVER conv_w"
    elif model == M.TIME_DECAY:
        decay = "power(0.5::float8, extract(epoch FROM conv.conv_at - e.occurred_at)::float8 / %(half_life_seconds)s)"
        weight = f"{decay} / sum({decay}) OVER conv_w"
    elif model == M.POSITION_BASED:
        weight = """CASE count(*) OVER conv_w
                WHEN 1 THEN 1.0::float8
                WHEN 2 THEN 0.5::float8
                ELSE CASE WHEN row_number() OVER conv_ordered IN (1, count(*) OVER conv_w) THEN 0.4::float8
                          ELSE 0.2::float8 / (count(*) OVER conv_w - 2) END
            END"""
    else:
        raise ValueError(f"model: unknown attribution model {model!r}")
    return f"""
        SELECT day, campaign_id, channel, target_id, sum(w) AS credit, sum(w * value) AS revenue
        FROM (
            SELECT conv.day, conv.value, e.campaign_id, e.channel, e.target_id, {weight} AS w
            FROM ({CONVERSIONS}) conv
            JOIN campaigns_event e ON {_touch_filter("e")}
            WINDOW conv_w AS (PARTITION BY conv.conv_id),
                   conv_ordered AS (PARTITION BY conv.conv_id ORDER BY e.occurred_at, e.id)
        ) touches
        GROUP BY 1, 2, 3, 4"""  # noqa: S608 - built from constants; values are parameters


def upsert_sql(model: str) -> str:
    """Write one model's credit for a range of days: upsert changed groups, delete vanished ones.

    A re-run that finds the same numbers writes nothing (``IS DISTINCT FROM``), like the rollup.
    """
    cols = "day, campaign_id, channel, target_id, credit, revenue"
    group = ("{}.day", "{}.campaign_id", "{}.channel", "coalesce({}.target_id, -1)")
    where = "a.model = %(model)s AND a.day >= %(d0)s AND a.day <= %(d1)s"
    gone = vanished_delete(table="analytics_attributioncredit a", where=where, fresh="new", keys=group)
    return f"""
    WITH new AS ({credit_select(model)}),
    up AS (
        INSERT INTO analytics_attributioncredit AS a (model, {cols})
        SELECT %(model)s, {cols} FROM new
        ON CONFLICT ON CONSTRAINT attribution_unique DO UPDATE
            SET credit = EXCLUDED.credit, revenue = EXCLUDED.revenue
            WHERE (a.credit, a.revenue) IS DISTINCT FROM (EXCLUDED.credit, EXCLUDED.revenue)
        RETURNING 1
    ), gone AS ({gone}
    )
    SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM gone)"""  # noqa: S608 - constants; values are parameters


@dataclass(frozen=True)
class AttributionResult:
    model: str
    written: int  # rows inserted or changed
    removed: int
    days: int


def attribution_params(*, start: date, end: date, lookback_days: int, half_life_days: float) -> dict:
    return {
        "start": midnight(start),
        "end": midnight(end + timedelta(days=1)),
        "lookback": timedelta(days=lookback_days),
        "half_life_seconds": float(half_life_days) * 86400.0,
    }


def attribution_compute(
    *,
    model: str,
    start: date,
    end: date,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
) -> AttributionResult:
    """Replace ``model``'s credit rows for conversion days ``start`` … ``end`` (inclusive). Idempotent."""
    if model not in M.values:
        raise ValueError(f"model: unknown attribution model {model!r}; known: {', '.join(M.values)}")
    if lookback_days < 1:
        raise ValueError("lookback_days: must be at least 1")
    if half_life_days <= 0:
        raise ValueError("half_life_days: must be > 0")
    params = attribution_params(start=start, end=end, lookback_days=lookback_days, half_life_days=half_life_days)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_KEY, model])
        # The plan (one index probe per conversion and partition) costs enough to trigger JIT, whose
        # compile time is most of the statement: 3.5 s with it, 1.25 s without, over 50,000
        # conversions on a 15-month partitioned log (docs/benchmarks.md).
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(upsert_sql(model), {**params, "model": model, "d0": start, "d1": end})
        written, removed = cursor.fetchone()
    return AttributionResult(model, written, removed, (end - start).days + 1)


def attribution_compute_all(*, start: date, end: date, **options) -> list[AttributionResult]:
    return [attribution_compute(model=m, start=start, end=end, **options) for m in M.values]

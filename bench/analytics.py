"""Analytics benchmarks: daily rollup and attribution over a generated event log, each next to
the fastest bare SQL measured in the same run on the same data.

Usage: .venv/bin/python bench/analytics.py [--events 5000000] [--leads 1000000] [--rounds 2] [--reuse]
Targets (issue 8): rollup ≤ 1.5× a bare INSERT … SELECT … GROUP BY into an empty table; re-run ≤ 1.5×
a bare upsert of the same groups; attribution ≤ 1.5× the fastest bare formulation per model,
identical results; peak memory of this Python process < 1 GiB.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import time
from datetime import date

from _setup import setup

YEAR = (date(2025, 1, 1), date(2026, 3, 31))  # covers every generated event
ROUND6 = "round(credit::numeric, 6) AS credit, round(revenue::numeric, 6) AS revenue"

# The bare rollup: the same rows, written the plainest way, into a plain empty table.
BARE_COLUMNS = """
    e.campaign_id, (e.occurred_at AT TIME ZONE 'UTC')::date AS day,
    CASE WHEN GROUPING(e.channel) = 1 THEN 'all' ELSE e.channel END AS channel,
    count(DISTINCT e.lead_id),
    count(DISTINCT e.lead_id) FILTER (WHERE e.kind IN ('email_sent', 'dm_sent', 'message_sent')),
    count(DISTINCT e.lead_id) FILTER (WHERE e.kind IN ('reply', 'email_replied')),
    count(DISTINCT e.lead_id) FILTER (WHERE e.kind IN ('lead_qualified', 'conversion')),
    count(*) FILTER (WHERE e.kind = 'lead_captured'),
    count(*) FILTER (WHERE e.kind = 'post_published'),
    count(*) FILTER (WHERE e.kind IN ('email_sent', 'dm_sent', 'message_sent')),
    count(*) FILTER (WHERE e.kind IN ('email_delivered', 'delivered')),
    count(*) FILTER (WHERE e.kind IN ('email_opened', 'opened')),
    count(*) FILTER (WHERE e.kind IN ('click', 'email_clicked', 'clicked')),
    count(*) FILTER (WHERE e.kind IN ('reply', 'email_replied')),
    count(*) FILTER (WHERE e.kind IN ('email_bounced', 'bounced')),
    count(*) FILTER (WHERE e.kind IN ('email_complained', 'complained')),
    count(*) FILTER (WHERE e.kind IN ('email_unsubscribed', 'unsubscribed')),
    count(*) FILTER (WHERE e.kind = 'conversion'),
    coalesce(sum(e.value) FILTER (WHERE e.kind = 'conversion'), 0), 0
"""
BARE_FROM = """
    FROM campaigns_event e WHERE e.campaign_id IS NOT NULL
    GROUP BY GROUPING SETS ((e.campaign_id, (e.occurred_at AT TIME ZONE 'UTC')::date, e.channel),
                            (e.campaign_id, (e.occurred_at AT TIME ZONE 'UTC')::date))
"""
COUNTER_COLUMNS = (
    "leads_targeted, leads_contacted, leads_responded, leads_qualified, leads_captured, posts_published, sends, "
    "delivered, opens, clicks, replies, bounces, complaints, unsubscribes, conversions, revenue, spend"
)


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def sql(statement: str, params=None) -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(statement, params)
        return cur.rowcount


def one(statement: str, params=None):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchone()


def line(name: str, ours: float, limit: float, target: float = 1.5) -> str:
    ratio = ours / limit
    verdict = "ok" if ratio <= target else "OVER TARGET"
    return f"{name}: {ours:.2f} s vs bare SQL {limit:.2f} s → ratio {ratio:.2f} (target ≤ {target}) {verdict}"


def bench_rollup(rounds: int) -> list[str]:
    from analytics.rollups import rollup_range

    sql("DROP TABLE IF EXISTS bench_bare_daily")
    sql(f"CREATE TABLE bench_bare_daily (campaign_id bigint, day date, channel varchar(20), {', '.join(c + ' numeric' for c in COUNTER_COLUMNS.split(', '))})")  # fmt: skip
    bare_insert = f"INSERT INTO bench_bare_daily SELECT {BARE_COLUMNS} {BARE_FROM}"
    bare_upsert = (
        f"INSERT INTO bench_bare_upsert SELECT {BARE_COLUMNS} {BARE_FROM} "
        "ON CONFLICT (campaign_id, day, channel) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in COUNTER_COLUMNS.split(", "))
    )
    best = {"ours": 1e9, "bare": 1e9, "ours_again": 1e9, "bare_upsert": 1e9}
    for _ in range(rounds):
        sql("TRUNCATE bench_bare_daily")
        best["bare"] = min(best["bare"], timed(lambda: sql(bare_insert)))
        sql("TRUNCATE analytics_dailymetric")
        best["ours"] = min(best["ours"], timed(lambda: rollup_range(start=YEAR[0], end=YEAR[1])))
        best["ours_again"] = min(best["ours_again"], timed(lambda: rollup_range(start=YEAR[0], end=YEAR[1])))
        sql("DROP TABLE IF EXISTS bench_bare_upsert")
        sql("CREATE TABLE bench_bare_upsert AS SELECT * FROM bench_bare_daily")
        sql("CREATE UNIQUE INDEX ON bench_bare_upsert (campaign_id, day, channel)")
        best["bare_upsert"] = min(best["bare_upsert"], timed(lambda: sql(bare_upsert)))
    rows = one("SELECT count(*) FROM analytics_dailymetric")[0]
    diff = one(
        f"SELECT count(*) FROM ((SELECT campaign_id, day, channel, {COUNTER_COLUMNS} FROM analytics_dailymetric "
        f"EXCEPT SELECT campaign_id, day, channel, {COUNTER_COLUMNS} FROM bench_bare_daily) UNION ALL "
        f"(SELECT campaign_id, day, channel, {COUNTER_COLUMNS} FROM bench_bare_daily EXCEPT "
        f"SELECT campaign_id, day, channel, {COUNTER_COLUMNS} FROM analytics_dailymetric)) d"
    )[0]
    return [
        f"rollup: {rows:,} daily rows; rows differing from the bare SQL's: {diff}",
        line("rollup into an empty table (upsert, GROUPING SETS)", best["ours"], best["bare"]),
        line("rollup re-run of the same days (idempotent path)", best["ours_again"], best["bare_upsert"]),
    ]


# Bare attribution formulations: each the most direct SQL for one model; the fastest per model is the limit.
CONV = """SELECT id AS conv_id, lead_id, occurred_at AS conv_at, coalesce(value, 0)::float8 AS value,
                 (occurred_at AT TIME ZONE 'UTC')::date AS day
          FROM campaigns_event WHERE kind = 'conversion' AND lead_id IS NOT NULL"""
TOUCH = """t.lead_id = c.lead_id AND t.occurred_at <= c.conv_at AND t.occurred_at > c.conv_at - interval '30 days'
           AND t.kind IN ('email_sent', 'click', 'email_clicked', 'reply', 'lead_captured', 'dm_sent', 'message_sent')
           AND t.campaign_id IS NOT NULL"""


def bare_first_last(direction: str) -> dict[str, str]:
    rn = f"row_number() OVER (PARTITION BY c.conv_id ORDER BY t.occurred_at {direction}, t.id {direction})"
    return {
        "row_number": f"""SELECT day, campaign_id, channel, target_id, count(*)::float8, sum(value) FROM (
              SELECT c.day, c.value, t.campaign_id, t.channel, t.target_id, {rn} AS rn
              FROM ({CONV}) c JOIN campaigns_event t ON {TOUCH}) x WHERE rn = 1 GROUP BY 1, 2, 3, 4""",
        "distinct_on": f"""SELECT day, campaign_id, channel, target_id, count(*)::float8, sum(value) FROM (
              SELECT DISTINCT ON (c.conv_id) c.day, c.value, t.campaign_id, t.channel, t.target_id
              FROM ({CONV}) c JOIN campaigns_event t ON {TOUCH}
              ORDER BY c.conv_id, t.occurred_at {direction}, t.id {direction}) x GROUP BY 1, 2, 3, 4""",
        "lateral": f"""SELECT c.day, t.campaign_id, t.channel, t.target_id, count(*)::float8, sum(c.value)
              FROM ({CONV}) c CROSS JOIN LATERAL (SELECT campaign_id, channel, target_id FROM campaigns_event t
                  WHERE {TOUCH} ORDER BY t.occurred_at {direction}, t.id {direction} LIMIT 1) t GROUP BY 1, 2, 3, 4""",
    }


def bare_weighted(weight: str) -> dict[str, str]:
    return {
        "window": f"""SELECT day, campaign_id, channel, target_id, sum(w), sum(w * value) FROM (
              SELECT c.day, c.value, t.campaign_id, t.channel, t.target_id, {weight} AS w
              FROM ({CONV}) c JOIN campaigns_event t ON {TOUCH}) x GROUP BY 1, 2, 3, 4""",
    }


BARE_ATTRIBUTION = {
    "first_touch": bare_first_last("ASC"),
    "last_touch": bare_first_last("DESC"),
    "linear": bare_weighted("1.0::float8 / count(*) OVER (PARTITION BY c.conv_id)"),
    "time_decay": bare_weighted(
        "power(0.5::float8, extract(epoch FROM c.conv_at - t.occurred_at)::float8 / 604800.0)"
        " / sum(power(0.5::float8, extract(epoch FROM c.conv_at - t.occurred_at)::float8 / 604800.0))"
        " OVER (PARTITION BY c.conv_id)"
    ),
    "position_based": {
        **bare_weighted(
            "CASE WHEN count(*) OVER (PARTITION BY c.conv_id) = 1 THEN 1.0::float8"
            " WHEN count(*) OVER (PARTITION BY c.conv_id) = 2 THEN 0.5::float8"
            " WHEN row_number() OVER (PARTITION BY c.conv_id ORDER BY t.occurred_at, t.id)"
            "   IN (1, count(*) OVER (PARTITION BY c.conv_id)) THEN 0.4::float8"
            " ELSE 0.2::float8 / (count(*) OVER (PARTITION BY c.conv_id) - 2) END"
        ),
        **{
            f"two_row_numbers_{k}": v
            for k, v in bare_weighted(
                "CASE WHEN count(*) OVER (PARTITION BY c.conv_id) = 1 THEN 1.0::float8"
                " WHEN count(*) OVER (PARTITION BY c.conv_id) = 2 THEN 0.5::float8"
                " WHEN row_number() OVER (PARTITION BY c.conv_id ORDER BY t.occurred_at, t.id) = 1"
                "   OR row_number() OVER (PARTITION BY c.conv_id ORDER BY t.occurred_at DESC, t.id DESC) = 1"
                " THEN 0.4::float8 ELSE 0.2::float8 / (count(*) OVER (PARTITION BY c.conv_id) - 2) END"
            ).items()
        },
    },
}


def bench_attribution(rounds: int) -> list[str]:
    from analytics.attribution import attribution_compute

    out = []
    sql("DROP TABLE IF EXISTS bench_bare_credit")
    sql("CREATE TABLE bench_bare_credit (day date, campaign_id bigint, channel varchar(20), target_id bigint, "
        "credit float8, revenue float8)")  # fmt: skip
    conversions = one("SELECT count(*) FROM campaigns_event WHERE kind = 'conversion' AND lead_id IS NOT NULL")[0]
    out.append(f"attribution: {conversions:,} conversions, lookback 30 days, half-life 7 days")

    def ours(model: str) -> float:
        return timed(
            lambda: attribution_compute(model=model, start=YEAR[0], end=YEAR[1], lookback_days=30, half_life_days=7)
        )

    for model, variants in BARE_ATTRIBUTION.items():
        best_ours, best_again, best_bare, best_name, best_jit = 1e9, 1e9, 1e9, "", ""
        for _ in range(rounds):
            # Each formulation with PostgreSQL's JIT on (the server default) and off: the limit is the
            # fastest, and ours runs with it off (analytics/attribution.py says why).
            for (name, select), jit in itertools.product(variants.items(), ("on", "off")):
                sql("TRUNCATE bench_bare_credit")
                sql(f"SET jit = {jit}")
                elapsed = timed(lambda s=select: sql(f"INSERT INTO bench_bare_credit {s}"))
                sql("RESET jit")
                if elapsed < best_bare:
                    best_bare, best_name, best_jit = elapsed, name, jit
            sql("DELETE FROM analytics_attributioncredit WHERE model = %s", [model])
            best_ours = min(best_ours, ours(model))
            best_again = min(best_again, ours(model))
        # Identical results: the fastest bare variant's rows against ours, to 6 decimals.
        sql("TRUNCATE bench_bare_credit")
        sql(f"INSERT INTO bench_bare_credit {variants[best_name]}")
        cols = f"day, campaign_id, channel, coalesce(target_id, -1), {ROUND6}"
        diff = one(
            f"SELECT count(*) FROM ((SELECT {cols} FROM analytics_attributioncredit WHERE model = %s EXCEPT "
            f"SELECT {cols} FROM bench_bare_credit) UNION ALL (SELECT {cols} FROM bench_bare_credit EXCEPT "
            f"SELECT {cols} FROM analytics_attributioncredit WHERE model = %s)) d",
            [model, model],
        )[0]
        rows = one("SELECT count(*) FROM analytics_attributioncredit WHERE model = %s", [model])[0]
        out.append(
            line(f"attribution {model} into an empty table ({rows:,} rows, {diff} differing; bare: {best_name}, jit {best_jit})",
                 best_ours, best_bare)
        )  # fmt: skip
        out.append(line(f"attribution {model} re-run (idempotent path)", best_again, best_bare))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--reuse", action="store_true", help="keep the events of a previous run")
    parser.add_argument("--only", choices=["rollup", "attribution"])
    args = parser.parse_args()
    setup("cas_h3_bench")
    from analytics_generate import generate
    from django.db import connection

    if not args.reuse:
        timings = generate(events=args.events, leads=args.leads)
        print(f"generated {args.events:,} events over {args.leads:,} leads: insert {timings['insert']:.1f} s, "
              f"indexes {timings['indexes']:.1f} s")  # fmt: skip
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM campaigns_event")
        print(f"events in the log: {cur.fetchone()[0]:,}")
    results = []
    if args.only in (None, "rollup"):
        results += bench_rollup(args.rounds)
    if args.only in (None, "attribution"):
        results += bench_attribution(args.rounds)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results.append(f"peak memory of this Python process: {peak:,.0f} MiB (target < 1024 MiB)")
    print("\n".join(results))


if __name__ == "__main__":
    main()

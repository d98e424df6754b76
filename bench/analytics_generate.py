"""Generate the analytics benchmark data in SQL: campaigns, then N events over M leads in one
INSERT … SELECT generate_series (bounded: about a minute for 5,000,000 rows on 2 cores).

Each lead's events fall in a 60-day window that starts at a lead-dependent day of 2025, so a
conversion has a few touches in its lookback window, as in life. Kinds are weighted like a
campaign mix: sends, deliveries, opens, clicks (some from preview bots), replies, bounces,
captures, publications and about 1 % conversions with a value.

On PostgreSQL the log is partitioned by month: the months of 2025 (and January 2026, where the
last windows end) are created first, so the rows land in their months as they would in life.
"""

from __future__ import annotations

import time
from datetime import date

KIND_WEIGHTS = [
    ("email_sent", 34), ("email_delivered", 15), ("email_opened", 15), ("click", 10), ("click_bot", 2),
    ("reply", 3), ("email_bounced", 2), ("email_complained", 1), ("email_unsubscribed", 1),
    ("lead_captured", 3), ("post_published", 2), ("email_clicked", 4), ("dm_sent", 7), ("conversion", 1),
]  # fmt: skip
CHANNELS = ["email", "x", "linkedin", "instagram", "facebook", "bluesky", "mastodon"]


def _kind_case() -> str:
    total = sum(w for _, w in KIND_WEIGHTS)
    parts, acc = [], 0
    for kind, weight in KIND_WEIGHTS:
        acc += weight
        parts.append(f"WHEN r.k < {acc / total:.6f} THEN '{kind}'")
    return "CASE " + " ".join(parts[:-1]) + f" ELSE '{KIND_WEIGHTS[-1][0]}' END"


def generate(*, events: int, leads: int, campaigns: int = 50, seed: float = 0.42) -> dict[str, float]:
    from django.db import connection

    from campaigns.event_partitions import NotPartitioned, event_partitions_ensure
    from campaigns.models import Campaign

    timings = {}
    t = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("TRUNCATE analytics_dailymetric, analytics_attributioncredit, analytics_spendentry, "
                    "analytics_dirtyday, analytics_rollupstate")  # fmt: skip
        cur.execute("TRUNCATE campaigns_event, campaigns_eventdedupe RESTART IDENTITY")
    try:
        event_partitions_ensure(start=date(2025, 1, 1), through=date(2026, 1, 1))
    except NotPartitioned:
        pass
    Campaign.objects.filter(slug__startswith="bench-").delete()
    created = Campaign.objects.bulk_create(
        Campaign(name=f"Bench {i}", slug=f"bench-{i}", channels=CHANNELS) for i in range(campaigns)
    )
    ids = [c.pk for c in created]
    channels = "ARRAY[" + ", ".join(f"'{c}'" for c in CHANNELS) + "]"
    with connection.cursor() as cur:
        cur.execute("SELECT setseed(%s)", [seed])
        # Drop the secondary indexes while loading and build them once afterwards (as a bulk import would).
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'campaigns_event' "
                    "AND indexname NOT LIKE '%%pkey'")  # fmt: skip
        index_defs = cur.fetchall()
        for name, _ in index_defs:
            cur.execute(f'ALTER TABLE campaigns_event DROP CONSTRAINT IF EXISTS "{name}"')
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')
        cur.execute(
            f"""
            INSERT INTO campaigns_event (occurred_at, kind, campaign_id, channel, lead_id, target_id, source, value, data)
            SELECT timestamptz '2025-01-01 00:00+00' + ((r.lead * 7919) %% 300) * interval '1 day'
                       + r.t * interval '60 days',
                   {_kind_case()},
                   (%(ids)s::bigint[])[1 + (r.lead %% %(n_campaigns)s)],
                   ({channels})[1 + floor(r.c * 7)::int],
                   CASE WHEN r.n < 0.03 AND r.k < 0.99 THEN NULL ELSE r.lead END,
                   CASE WHEN r.c > 0.142857 THEN 1 + (r.lead %% 5000) END,
                   '', CASE WHEN r.k >= 0.99 THEN round((100 + r.t * 4900)::numeric, 2) END, '{{}}'::jsonb
            FROM (SELECT 1 + floor(random() * %(leads)s)::bigint AS lead, random() AS t, random() AS k, random() AS c,
                         random() AS n
                  FROM generate_series(1, %(events)s)) r
            """,
            {"ids": ids, "n_campaigns": campaigns, "leads": leads, "events": events},
        )
        timings["insert"] = time.perf_counter() - t
        t = time.perf_counter()
        for _, definition in index_defs:
            # A partitioned table's index reads "ON ONLY parent": rebuilt on the parent and every partition.
            cur.execute(definition.replace(" ON ONLY ", " ON "))
        cur.execute("VACUUM ANALYZE campaigns_event")
        timings["indexes"] = time.perf_counter() - t
    return timings

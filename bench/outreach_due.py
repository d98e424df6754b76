"""Due-step selection of the outreach producer over 1,000,000 enrolled leads.

Usage: .venv/bin/python bench/outreach_due.py [--leads 1000000] [--campaigns 4]
Target (issue 7): < 50 ms for one producer batch (500 due enrollments of one campaign), plan printed.
The physical limit beside it: reading the same 500 rows' columns straight from the partial index
with a bare SQL statement (no ORM), i.e. the cost of the bytes themselves.
"""

from __future__ import annotations

import argparse
import time

from _setup import median_seconds, setup

DB = "cas_h2_outreach_bench"


def build(n_leads: int, n_campaigns: int) -> int:
    """n_leads leads, each enrolled once; about half due (past), the rest over the next 30 days."""
    from django.db import connection

    from campaigns.models import Campaign
    from outreach.models import Sequence, SequenceStep, Template

    with connection.cursor() as cur:
        cur.execute("TRUNCATE outreach_enrollment, outreach_sequencestep, outreach_sequence, outreach_template, "
                    "outreach_lead, campaigns_campaign RESTART IDENTITY CASCADE")  # fmt: skip
    campaigns = [Campaign.objects.create(name=f"c{i}", slug=f"c{i}", status="running") for i in range(n_campaigns)]
    sequences = []
    for c in campaigns:
        t = Template.objects.create(campaign=c, name="t", subject="s", body_text="b", content_sha256="x")
        s = Sequence.objects.create(campaign=c, name="s", send_days=[0, 1, 2, 3, 4, 5, 6])
        SequenceStep.objects.create(sequence=s, position=1, template=t)
        sequences.append(s)
    with connection.cursor() as cur:
        started = time.perf_counter()
        cur.execute(
            """INSERT INTO outreach_lead (name, company, role, email, phone, linkedin_url, timezone, source_channel,
                   source_ref, utm_source, utm_medium, utm_campaign, utm_term, utm_content, referrer, consent_status,
                   consent_source, consent_text, tags, enrichment, score, status, identity_sha256, created_at,
                   updated_at, campaign_id)
               SELECT 'Lead ' || g, 'Co', '', 'lead' || g || '@example.com', '', '', '', 'csv', '', '', '', '', '',
                      '', '', 'unknown', '', '', '[]', '{}', 0, 'new', encode(sha256(('email:lead' || g ||
                      '@example.com')::bytea), 'hex'), now(), now(), NULL
               FROM generate_series(1, %s) g""",
            [n_leads],
        )
        cur.execute(
            """INSERT INTO outreach_enrollment (lead_id, sequence_id, campaign_id, status, next_position, next_due_at,
                   stop_reason, created_at)
               SELECT l.id, s.id, s.campaign_id,
                      CASE WHEN l.id %% 10 = 0 THEN 'completed' ELSE 'active' END, 1,
                      now() + ((l.id * 7919) %% 86400 - 43200) * interval '1 minute', '', now()
               FROM outreach_lead l
               JOIN (SELECT id, campaign_id, row_number() OVER (ORDER BY id) - 1 AS k FROM outreach_sequence) s
                 ON s.k = l.id %% %s""",
            [len(sequences)],
        )
        cur.execute("ANALYZE outreach_lead; ANALYZE outreach_enrollment")
        print(f"built {n_leads:,} leads and enrollments in {time.perf_counter() - started:.1f} s")
    return campaigns[0].pk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--campaigns", type=int, default=4)
    args = parser.parse_args()
    setup(DB)
    from django.db import connection
    from django.utils import timezone

    from outreach.producers import DUE_BATCH, due_enrollments_query

    campaign_id = build(args.leads, args.campaigns)
    now = timezone.now()
    query = due_enrollments_query(campaign_id=campaign_id, now=now)[:DUE_BATCH]
    ours = median_seconds(lambda: list(query.all()))
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(r[0] for r in cur.fetchall())
        bare = ("SELECT id, lead_id, sequence_id, next_position FROM outreach_enrollment WHERE campaign_id = %s "
                "AND status = 'active' AND next_due_at <= %s ORDER BY next_due_at, id LIMIT 500")  # fmt: skip

        def raw() -> None:
            cur.execute(bare, [campaign_id, now])
            cur.fetchall()

        limit = median_seconds(raw)
        cur.execute("SELECT count(*) FROM outreach_enrollment WHERE status = 'active' AND next_due_at <= %s", [now])
        due_total = cur.fetchone()[0]
    print(plan)
    print(f"enrolled: {args.leads:,}; active and due now (all campaigns): {due_total:,}; batch {DUE_BATCH}")
    print(f"due-step selection: {ours * 1000:.2f} ms (target < 50 ms) vs physical limit (bare SQL, same index) "
          f"{limit * 1000:.2f} ms → ratio {limit / ours:.2f}")  # fmt: skip
    assert "enrollment_due" in plan, "the plan must use the partial index enrollment_due"


if __name__ == "__main__":
    main()

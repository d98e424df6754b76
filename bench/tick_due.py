"""Due selection of a tick over 100,000 scheduled targets of which 1,000 are due.

Usage: .venv/bin/python bench/tick_due.py [--targets 100000] [--due 1000]
Target (issue 4): < 50 ms, and the plan must use an index (printed). The physical limit printed
beside it is a bare SQL count over the same rows through the same partial index.
"""

from __future__ import annotations

import argparse

from _setup import median_seconds, setup


def build(n_targets: int, n_due: int) -> int:
    """One running campaign, n_targets scheduled targets (n_due in the past), inserted in SQL."""
    from django.db import connection

    from campaigns.models import Campaign
    from publishing.models import Post, SocialAccount

    with connection.cursor() as cur:
        cur.execute("TRUNCATE publishing_publishtarget, publishing_post, publishing_socialaccount, campaigns_campaign "
                    "RESTART IDENTITY CASCADE")  # fmt: skip
    campaign = Campaign.objects.create(name="bench", slug="bench", status="running")
    other = Campaign.objects.create(name="other", slug="other", status="running")
    accounts = [SocialAccount.objects.create(platform="x", handle=f"a{i}", external_id=str(i)) for i in range(4)]
    with connection.cursor() as cur:
        # Posts: one per 4 targets, spread over two campaigns; targets scheduled over the next 30 days.
        cur.execute(
            """INSERT INTO publishing_post (campaign_id, title, body, media_urls, link_url, status, content_sha256,
                   approved_sha256, approval_seq, rejection_reason, created_at, updated_at)
               SELECT CASE WHEN g %% 2 = 0 THEN %s ELSE %s END, 'p' || g, 'body ' || g, '[]', '', 'scheduled',
                      md5(g::text), md5(g::text), 1, '', now(), now()
               FROM generate_series(1, %s) g""",
            [campaign.pk, other.pk, n_targets // 4],
        )
        cur.execute(
            """INSERT INTO publishing_publishtarget (post_id, account_id, status, due_at, platform_post_id,
                   platform_url, published_sha256, artifact_path, artifact_sha256, last_error, generation, created_at)
               SELECT p.id, a.id, 'scheduled',
                      now() + (row_number() OVER ()) * interval '20 seconds', '', '', '', '', '', '', 0, now()
               FROM publishing_post p CROSS JOIN (SELECT id FROM publishing_socialaccount WHERE id = ANY(%s)) a""",
            [[a.pk for a in accounts]],
        )
        # Make n_due of them (in the bench campaign) due: due_at in the past.
        cur.execute(
            """UPDATE publishing_publishtarget t SET due_at = now() - interval '1 minute'
               WHERE t.id IN (SELECT t2.id FROM publishing_publishtarget t2 JOIN publishing_post p ON p.id = t2.post_id
                              WHERE p.campaign_id = %s ORDER BY t2.id LIMIT %s)""",
            [campaign.pk, n_due],
        )
        cur.execute("ANALYZE publishing_publishtarget; ANALYZE publishing_post")
    assert Post.objects.count() == n_targets // 4
    return campaign.pk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    args = parser.parse_args()
    setup()
    from django.db import connection
    from django.utils import timezone

    from publishing.producers import DUE_BATCH, due_targets_query

    campaign_id = build(args.targets, args.due)
    now = timezone.now()
    query = due_targets_query(campaign_id=campaign_id, now=now)
    assert query.count() == args.due, query.count()

    def ours():
        # Exactly what the producer reads before it enqueues.
        assert len(list(query[:DUE_BATCH])) == min(args.due, DUE_BATCH)

    def bare():
        with connection.cursor() as cur:
            cur.execute(
                "SELECT t.id, p.approval_seq, t.generation FROM publishing_publishtarget t "
                "JOIN publishing_post p ON p.id = t.post_id "
                "WHERE t.status = 'scheduled' AND t.due_at <= %s AND p.campaign_id = %s",
                [now, campaign_id],
            )
            assert len(cur.fetchall()) == args.due

    t_ours, t_bare = median_seconds(ours), median_seconds(bare)
    with connection.cursor() as cur:
        sql, params = query[:DUE_BATCH].query.sql_with_params()
        cur.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params)
        plan = "\n".join("    " + row[0] for row in cur.fetchall())
    print(f"tick_due: {args.targets:,} scheduled targets, {args.due:,} due; median of 20")
    print(f"  due selection (the producer's query, up to {DUE_BATCH} rows): {t_ours * 1000:.1f} ms (target < 50 ms)")
    print(f"  bare SQL over the same rows: {t_bare * 1000:.1f} ms → ratio {t_bare / t_ours:.2f} of the bare speed")
    print("  plan of one batch:")
    print(plan)
    assert "target_due" in plan, "the due selection must use the partial index target_due"


if __name__ == "__main__":
    main()

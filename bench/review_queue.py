"""Review queue at scale: 100,000 pending items across kinds.

Prints the review changelist's server time and query count (targets: < 300 ms, ≤ 10 queries) and a
bulk approval of 1,000 posts through the admin action, audit rows included (target: < 2 s), each
next to a bare SQL version of the same work measured in the same run.

Usage: .venv/bin/python bench/review_queue.py [--items 100000] [--approve 1000]
"""

from __future__ import annotations

import argparse
import statistics
import time

from _setup import setup


def build(n_items: int) -> tuple[int, int]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.db import connection

    from campaigns.models import Campaign
    from publishing.models import SocialAccount

    with connection.cursor() as cur:
        cur.execute("TRUNCATE campaigns_campaign, campaigns_action, campaigns_auditentry, publishing_socialaccount, "
                    "review_reviewitem, review_reviewcursor RESTART IDENTITY CASCADE")  # fmt: skip
    User = get_user_model()
    author = User.objects.get_or_create(username="bench-author")[0]
    reviewer = User.objects.get_or_create(username="bench-reviewer", defaults={"is_staff": True})[0]
    reviewer.user_permissions.add(*Permission.objects.filter(codename__in=["approve_post", "approve_campaign"]))
    campaign = Campaign.objects.create(name="bench", slug="bench", status="running", channels=["mastodon"])
    account = SocialAccount.objects.create(platform="mastodon", handle="@bench", external_id="1")
    n_strategies = n_items // 100
    n_posts = n_items - n_strategies
    with connection.cursor() as cur:
        cur.execute(
            """INSERT INTO campaigns_campaign (name, slug, description, target_niche, service_key, target_clients,
                   target_mrr, channels, max_emails_per_day, max_outreach_per_day, mode, strategy, owner_id, timezone,
                   objective, kpi_targets, status, strategy_approved_sha256, created_at, updated_at)
               SELECT 'c' || g, 'c-' || g, '', '', '', 0, 0, '["x"]', 50, 100, 'proof', 'plan ' || g, %s, 'UTC',
                      'leads', '{}', 'pending_review', '', now(), now() FROM generate_series(1, %s) g""",
            [author.pk, n_strategies],
        )
        # content_sha256 is the real hash of each body (the bulk approval checks it).
        cur.execute(
            """INSERT INTO publishing_post (campaign_id, author_id, title, body, media_urls, link_url, status,
                   content_sha256, approved_sha256, approval_seq, rejection_reason, created_at, updated_at)
               SELECT %s, %s, 'post ' || g, 'body ' || g, '[]', '', 'pending_review',
                      encode(sha256(convert_to('{"body":"body ' || g || '","link_url":"","media_urls":[]}', 'UTF8')), 'hex'),
                      '', 0, '', now(), now() FROM generate_series(1, %s) g""",
            [campaign.pk, author.pk, n_posts],
        )
        cur.execute(
            """INSERT INTO publishing_publishtarget (post_id, account_id, status, platform_post_id, platform_url,
                   published_sha256, artifact_path, artifact_sha256, last_error, generation, created_at)
               SELECT id, %s, 'pending', '', '', '', '', '', '', 0, now() FROM publishing_post""",
            [account.pk],
        )
        # The queue index, as review.index would build it (posts and strategies waiting since minutes to weeks).
        cur.execute(
            """INSERT INTO review_reviewitem (content_type_id, object_id, kind, title, campaign_id, platforms,
                   author_id, status, submitted_at, scheduled_at, content_sha256, expired_reason, updated_at)
               SELECT (SELECT id FROM django_content_type WHERE app_label = 'publishing' AND model = 'post'), p.id,
                      'post', p.title, p.campaign_id, 'mastodon', p.author_id, p.status,
                      now() - (p.id % 20000) * interval '1 minute', NULL::timestamptz, p.content_sha256, '', now()
               FROM publishing_post p
               UNION ALL
               SELECT (SELECT id FROM django_content_type WHERE app_label = 'campaigns' AND model = 'campaign'), c.id,
                      'strategy', c.name, c.id, 'x', c.owner_id, c.status, now() - c.id * interval '1 minute', NULL::timestamptz,
                      '', '', now()
               FROM campaigns_campaign c WHERE c.status = 'pending_review'"""
        )
        cur.execute("ANALYZE")
    from review.models import ReviewCursor

    ReviewCursor.objects.create(name="audit", last_audit_id=10**12)  # the index is current
    return reviewer.pk, n_posts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--approve", type=int, default=1_000)
    args = parser.parse_args()
    setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from campaigns.models import AuditEntry
    from publishing.models import Post
    from review.models import ReviewItem

    settings.ALLOWED_HOSTS = ["testserver"]
    reviewer_id, n_posts = build(args.items)
    client = Client()
    client.force_login(get_user_model().objects.get(pk=reviewer_id))
    url = "/admin/review/reviewitem/"
    client.get(url)  # warm caches (templates, content types)

    samples, queries = [], 0
    for _ in range(10):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(url)
            samples.append(time.perf_counter() - started)
        assert response.status_code == 200
        queries = len(ctx.captured_queries)
    t_page = statistics.median(samples)

    def bare_page():
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM review_reviewitem WHERE status = 'pending_review'")
            cur.fetchone()
            cur.execute("SELECT i.*, c.name, u.username FROM review_reviewitem i LEFT JOIN campaigns_campaign c "
                        "ON c.id = i.campaign_id LEFT JOIN auth_user u ON u.id = i.author_id "
                        "WHERE i.status = 'pending_review' ORDER BY i.submitted_at, i.id LIMIT 50")  # fmt: skip
            cur.fetchall()

    bare = []
    for _ in range(10):
        started = time.perf_counter()
        bare_page()
        bare.append(time.perf_counter() - started)
    t_bare_page = statistics.median(bare)

    ids = list(ReviewItem.objects.filter(kind="post", status="pending_review").order_by("id")
               .values_list("pk", flat=True)[: args.approve])  # fmt: skip
    audit_before = AuditEntry.objects.count()
    started = time.perf_counter()
    response = client.post(url, {"action": "approve", "_selected_action": ids, "confirm": "yes"})
    t_bulk = time.perf_counter() - started
    assert response.status_code == 302, response.content[:500]
    approved = Post.objects.filter(status="scheduled").count()
    audit_rows = AuditEntry.objects.count() - audit_before
    assert approved == args.approve, approved

    # Bare SQL: the same state changes and audit rows for the next 1,000, with no checks.
    next_ids = list(
        Post.objects.filter(status="pending_review").order_by("id").values_list("pk", flat=True)[: args.approve]
    )
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("UPDATE publishing_post SET status = 'scheduled', approved_sha256 = content_sha256, "
                    "approved_at = now(), approval_seq = approval_seq + 1 WHERE id = ANY(%s)", [next_ids])  # fmt: skip
        cur.execute("UPDATE publishing_publishtarget SET status = 'scheduled', due_at = now() WHERE post_id = ANY(%s)",
                    [next_ids])  # fmt: skip
        cur.execute("""INSERT INTO campaigns_auditentry (content_type_id, object_id, actor_id, actor_label, action, old,
                           new, note, data, created_at)
                       SELECT 1, id::text, NULL, 'bare', 'status:approved', 'pending_review', 'approved', '', '{}', now()
                       FROM unnest(%s::bigint[]) id""", [next_ids])  # fmt: skip
    t_bare_bulk = time.perf_counter() - started

    print(f"review_queue: {args.items:,} pending items ({n_posts:,} posts, {args.items - n_posts:,} strategies)")
    print(f"  changelist: {t_page * 1000:.0f} ms server time (median of 10), {queries} queries "
          f"(targets < 300 ms, ≤ 10) vs bare SQL page {t_bare_page * 1000:.1f} ms → ratio {t_bare_page / t_page:.2f}")  # fmt: skip
    print(f"  bulk approval of {args.approve:,} posts via the admin action: {t_bulk:.2f} s with {audit_rows:,} audit rows "
          f"(target < 2 s) vs bare SQL {t_bare_bulk:.2f} s → ratio {t_bare_bulk / t_bulk:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

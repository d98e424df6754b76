"""Platform metric collection: which targets are due, and storing what the adapters return.

Cadence: hourly for the first 48 hours after publication, then daily up to 30 days. One action per
account and slot (``fetch_metrics:<account>:<slot>``) asks for all its due posts in one call, so an
account spends one request of its rate budget per slot however many posts it has; a platform's
429 comes back as a retry at the time the platform names.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from campaigns.actions import action_enqueue
from campaigns.models import Action
from publishing.models import PublishTarget

HOURLY_FOR = timedelta(hours=48)
DAILY_UNTIL = timedelta(days=30)
MAX_IDS_PER_ACTION = 100
# Known counters get their own columns; platforms name them differently.
COLUMN_ALIASES = {
    "impressions": ("impressions", "impression_count", "views", "reach"),
    "likes": ("likes", "like_count", "favourites_count", "favorites", "reactions"),
    "replies": ("replies", "reply_count", "replies_count", "comments", "comment_count"),
    "reposts": ("reposts", "retweet_count", "reblogs_count", "repost_count", "shares", "share_count"),
    "clicks": ("clicks", "url_link_clicks", "click_count", "link_clicks"),
}


def fetch_slot(published_at: datetime, now: datetime) -> str | None:
    """The slot a target is due in at ``now``: an hour while young, a day until 30 days, else None."""
    age = now - published_at
    if age < timedelta(0) or age > DAILY_UNTIL:
        return None
    return now.strftime("%Y%m%dT%H") if age < HOURLY_FOR else now.strftime("%Y%m%d")


def metric_fetches_enqueue(*, now: datetime | None = None) -> list[Action]:
    """Enqueue the due ``fetch_metrics`` actions (get-or-create on the key: safe to run any time)."""
    now = now or timezone.now()
    due: dict[tuple[int, str], list[int]] = defaultdict(list)
    targets = (
        PublishTarget.objects.filter(
            status=PublishTarget.Status.PUBLISHED, published_at__gte=now - DAILY_UNTIL, published_at__lte=now
        )
        .exclude(platform_post_id="")
        .values_list("pk", "account_id", "published_at")
        .order_by("account_id", "pk")
    )
    for target_id, account_id, published_at in targets:
        slot = fetch_slot(published_at, now)
        if slot:
            due[(account_id, slot)].append(target_id)
    actions = []
    for (account_id, slot), ids in due.items():
        for part, start in enumerate(range(0, len(ids), MAX_IDS_PER_ACTION)):
            suffix = f":{part}" if part else ""
            action, _ = action_enqueue(
                key=f"fetch_metrics:{account_id}:{slot}{suffix}",
                action_type="fetch_metrics",
                payload={"account_id": account_id, "target_ids": ids[start : start + MAX_IDS_PER_ACTION]},
            )
            actions.append(action)
    return actions


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():  # int() refuses "²"
        return int(value)
    return None


def snapshot_columns(metrics: dict[str, Any]) -> dict[str, int]:
    columns = {}
    for column, names in COLUMN_ALIASES.items():
        for name in names:
            value = _as_int(metrics.get(name))
            if value is not None:
                columns[column] = value
                break
    return columns


SNAPSHOT_UPSERT = """
INSERT INTO analytics_metricsnapshot
    (target_id, day, impressions, likes, replies, reposts, clicks, metrics, fetched_at, fetch_count)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, 1)
ON CONFLICT (target_id, day) DO UPDATE SET
    impressions = EXCLUDED.impressions, likes = EXCLUDED.likes, replies = EXCLUDED.replies,
    reposts = EXCLUDED.reposts, clicks = EXCLUDED.clicks, metrics = EXCLUDED.metrics,
    fetched_at = EXCLUDED.fetched_at, fetch_count = analytics_metricsnapshot.fetch_count + 1
"""


def snapshots_store(*, readings: dict[int, dict[str, Any]], fetched_at: datetime) -> int:
    """Upsert today's snapshot of each target (``readings``: target id → the platform's metrics)."""
    day = fetched_at.astimezone(UTC).date()
    rows = []
    for target_id, metrics in readings.items():
        cols = snapshot_columns(metrics)
        rows.append(
            (
                target_id,
                day,
                *(cols.get(c, 0) for c in ("impressions", "likes", "replies", "reposts", "clicks")),
                json.dumps(metrics, default=str),
                fetched_at,
            )
        )
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(SNAPSHOT_UPSERT, rows)
    return len(rows)

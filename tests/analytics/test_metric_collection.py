from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from analytics.collection import fetch_slot, metric_fetches_enqueue
from analytics.models import MetricSnapshot
from campaigns.dispatcher import Dispatcher
from campaigns.models import Action, ControlFlag
from config.schedules import SCHEDULES
from tests.analytics.fakes import FakeMetricsAdapter, rate_limited
from tests.factories import AccountFactory, PostFactory, TargetFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)


@pytest.fixture
def fake_adapter(monkeypatch, settings):
    """The real adapters may not offer fetch_metrics yet: this test-only one does."""
    from publishing.adapters import registry

    monkeypatch.setitem(registry.ADAPTER_CLASSES, "mastodon", "tests.analytics.fakes.FakeMetricsAdapter")
    FakeMetricsAdapter.calls, FakeMetricsAdapter.answer, FakeMetricsAdapter.error = [], {}, None
    settings.PUBLISHING_MODE = "live"
    ControlFlag.objects.update_or_create(scope="global", defaults={"live": True})
    return FakeMetricsAdapter


def _published(account, *, age: timedelta, post_id: str, mode: str = "live"):
    post = PostFactory()
    post.campaign.mode = mode
    post.campaign.save(update_fields=["mode"])
    return TargetFactory(post=post, account=account, status="published", platform_post_id=post_id,
                         published_at=NOW - age)  # fmt: skip


def test_cadence_is_hourly_for_48_hours_then_daily_until_30_days():
    assert fetch_slot(NOW - timedelta(hours=47), NOW) == "20261120T10"
    assert fetch_slot(NOW - timedelta(hours=49), NOW) == "20261120"
    assert fetch_slot(NOW - timedelta(days=29), NOW) == "20261120"
    assert fetch_slot(NOW - timedelta(days=31), NOW) is None


def test_due_targets_are_batched_per_account_and_slot_and_enqueued_once():
    account = AccountFactory()
    young = _published(account, age=timedelta(hours=3), post_id="a")
    old1 = _published(account, age=timedelta(days=3), post_id="b")
    old2 = _published(account, age=timedelta(days=10), post_id="c")
    _published(account, age=timedelta(days=40), post_id="d")
    actions = metric_fetches_enqueue(now=NOW)
    got = {a.idempotency_key: a.payload["target_ids"] for a in actions}
    assert got == {
        f"fetch_metrics:{account.pk}:20261120T10": [young.pk],
        f"fetch_metrics:{account.pk}:20261120": [old1.pk, old2.pk],
    }
    metric_fetches_enqueue(now=NOW + timedelta(minutes=20))  # same hour: nothing new
    assert Action.objects.filter(action_type="fetch_metrics").count() == 2
    metric_fetches_enqueue(now=NOW + timedelta(hours=1))  # next hour: only the young one again
    assert Action.objects.filter(action_type="fetch_metrics").count() == 3


def test_fetch_metrics_stores_one_snapshot_per_target_and_day(fake_adapter):
    account = AccountFactory()
    a = _published(account, age=timedelta(hours=3), post_id="111")
    b = _published(account, age=timedelta(hours=5), post_id="222")
    fake_adapter.answer = {
        "111": {"impressions": 100, "favourites_count": 4, "replies_count": 1, "reblogs_count": 2, "bookmarks": 9},
        "222": {"impressions": 7},
    }
    with time_machine.travel(NOW, tick=False):
        metric_fetches_enqueue()
        Dispatcher(worker_id="t").drain()
    assert [ids for _, ids in fake_adapter.calls] == [["111", "222"]]
    snap = MetricSnapshot.objects.get(target=a)
    assert (snap.day, snap.impressions, snap.likes, snap.replies, snap.reposts) == (date(2026, 11, 20), 100, 4, 1, 2)
    assert snap.metrics["bookmarks"] == 9
    # An hour later the day's row is overwritten with the newer totals, not duplicated.
    fake_adapter.answer["111"]["impressions"] = 180
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        metric_fetches_enqueue()
        Dispatcher(worker_id="t").drain()
    snap.refresh_from_db()
    assert (snap.impressions, snap.fetch_count) == (180, 2)
    assert MetricSnapshot.objects.filter(target=b).count() == 1
    assert MetricSnapshot.objects.count() == 2


def test_a_rate_limited_fetch_waits_as_long_as_the_platform_says(fake_adapter):
    account = AccountFactory()
    _published(account, age=timedelta(hours=3), post_id="111")
    fake_adapter.error = rate_limited(900)
    with time_machine.travel(NOW, tick=False):
        (action,) = metric_fetches_enqueue()
        Dispatcher(worker_id="t").drain()
    action.refresh_from_db()
    assert action.status == "retry_wait"
    assert action.not_before == NOW + timedelta(seconds=900)
    assert not MetricSnapshot.objects.exists()


def test_proof_campaigns_are_never_read_from_the_platform(fake_adapter):
    account = AccountFactory()
    _published(account, age=timedelta(hours=3), post_id="111", mode="proof")
    with time_machine.travel(NOW, tick=False):
        (action,) = metric_fetches_enqueue()
        Dispatcher(worker_id="t").drain()
    action.refresh_from_db()
    assert action.status == "succeeded"
    assert fake_adapter.calls == []


def test_the_collection_job_is_scheduled_hourly():
    (entry,) = [s for s in SCHEDULES if s["name"] == "auto:metrics-fetch"]
    assert entry["func"] == "analytics.tasks.enqueue_metric_fetches"
    assert entry["schedule_type"] == "H"


def test_a_platform_count_that_is_not_ascii_digits_is_no_number():
    """A platform's payload is theirs: '²' passes isdigit() and failed int() in the collect action."""
    from analytics.collection import _as_int

    assert [_as_int(v) for v in ("42", " 7 ", "²", "٣", "", True, 3.9)] == [42, 7, None, None, None, None, 3]

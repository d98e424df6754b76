from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from campaigns.dispatcher import Dispatcher
from campaigns.leases import LeaseLost, fenced, lease_acquire, lease_renew
from campaigns.models import Action, Lease, TickLedger
from campaigns.ticks import produce_ticks, slot_of, tick_enqueue
from publishing import services
from publishing.models import PublishTarget
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def scheduled_post(campaign, author, reviewer, when):
    post = services.post_create(campaign=campaign, author=author, title=f"p {when}", body=f"at {when}",
                                accounts=[AccountFactory()], scheduled_at=when)  # fmt: skip
    services.post_submit(post=post, actor=author)
    services.post_approve(post=post, actor=reviewer)
    return post.targets.get()


def test_same_slot_twice_creates_nothing_new(running_campaign):
    first = tick_enqueue(campaign=running_campaign, slot=100)
    again = tick_enqueue(campaign=running_campaign, slot=100)
    assert first.pk == again.pk
    assert first.idempotency_key == f"campaign_tick:{running_campaign.pk}:100"


def test_idle_tick_writes_no_ledger_row(running_campaign):
    tick_enqueue(campaign=running_campaign, slot=1)
    Dispatcher(worker_id="t").drain()
    assert Action.objects.get(action_type="campaign_tick").status == "succeeded"
    assert not TickLedger.objects.exists()


def test_tick_enqueues_only_due_targets_as_children(running_campaign, author, reviewer_user):
    with time_machine.travel(dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC), tick=False):
        due = scheduled_post(running_campaign, author, reviewer_user, dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC))
        later = scheduled_post(running_campaign, author, reviewer_user, dt.datetime(2026, 6, 2, 9, tzinfo=dt.UTC))
        assert not Action.objects.filter(action_type="post_social").exists()  # nothing due at approval time
    with time_machine.travel(dt.datetime(2026, 6, 1, 9, 0, 1, tzinfo=dt.UTC), tick=False):
        tick = tick_enqueue(campaign=running_campaign, slot=7)
        Dispatcher(worker_id="t").drain()
        (child,) = Action.objects.filter(action_type="post_social")
        assert child.parent_id == tick.pk and child.payload == {"target_id": due.pk}
        due.refresh_from_db()
        later.refresh_from_db()
        assert (due.status, later.status) == ("published", "scheduled")
        ledger = TickLedger.objects.get()
        assert (ledger.slot, ledger.enqueued, ledger.ok) == (7, 1, True)
        # The same slot again (e.g. a second producer) adds nothing.
        tick_enqueue(campaign=running_campaign, slot=7)
        assert Action.objects.filter(action_type="post_social").count() == 1


@pytest.mark.parametrize(
    ("local_day", "utc_hour"),
    [(dt.date(2026, 3, 28), 8), (dt.date(2026, 3, 30), 7), (dt.date(2026, 10, 24), 7), (dt.date(2026, 10, 26), 8)],
)
def test_nine_berlin_goes_out_at_nine_local_on_both_sides_of_dst(running_campaign, author, reviewer_user, local_day,
                                                                 utc_hour):  # fmt: skip
    local_nine = dt.datetime.combine(local_day, dt.time(9, 0), tzinfo=BERLIN)
    with time_machine.travel(local_nine - dt.timedelta(days=1), tick=False):
        target = scheduled_post(running_campaign, author, reviewer_user, local_nine)
    assert target.due_at == dt.datetime.combine(local_day, dt.time(utc_hour), tzinfo=dt.UTC)
    with time_machine.travel(local_nine - dt.timedelta(seconds=1), tick=False):
        tick_enqueue(campaign=running_campaign, slot=1)
        Dispatcher(worker_id="t").drain()
        target.refresh_from_db()
        assert target.status == "scheduled"
    with time_machine.travel(local_nine, tick=False):
        tick_enqueue(campaign=running_campaign, slot=2)
        Dispatcher(worker_id="t").drain()
        target.refresh_from_db()
        assert target.status == "published"
        assert target.published_at.astimezone(BERLIN).time() == dt.time(9, 0)


def test_producer_enqueues_a_tick_per_running_campaign_under_the_lease(running_campaign):
    handle = lease_acquire(name="tick-producer", holder="a", ttl_seconds=60)
    now = dt.datetime(2026, 6, 1, 12, 0, 30, tzinfo=dt.UTC)
    assert produce_ticks(handle=handle, now=now, interval_seconds=60) == 1
    action = Action.objects.get(action_type="campaign_tick")
    assert action.idempotency_key == f"campaign_tick:{running_campaign.pk}:{slot_of(now, 60)}"
    assert action.payload["lease_token"] == handle.token


def test_lease_is_exclusive_and_fences_stale_holders():
    first = lease_acquire(name="job", holder="a", ttl_seconds=60)
    assert lease_acquire(name="job", holder="b", ttl_seconds=60) is None
    Lease.objects.filter(name="job").update(expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))  # a stalled
    second = lease_acquire(name="job", holder="b", ttl_seconds=60)
    assert second.token == first.token + 1
    with pytest.raises(LeaseLost):
        lease_renew(first)
    with pytest.raises(LeaseLost), fenced(first):
        Action.objects.create(idempotency_key="never", action_type="noop")
    assert not Action.objects.filter(idempotency_key="never").exists()
    with fenced(second):
        Action.objects.create(idempotency_key="ok", action_type="noop")
    lease_renew(second)


def test_campaign_tick_command_runs_ticks_and_refuses_bad_input(running_campaign, capsys):
    call_command("campaign_tick", "--campaign-id", str(running_campaign.pk), "--ticks", "1", "--mode", "proof")
    assert "tick 1/1" in capsys.readouterr().out
    assert Action.objects.get(action_type="campaign_tick").status == "succeeded"
    with pytest.raises(CommandError, match="--ticks: must be between 1 and"):
        call_command("campaign_tick", "--campaign-id", str(running_campaign.pk), "--ticks", "0")
    with pytest.raises(CommandError, match="--campaign-id: no campaign"):
        call_command("campaign_tick", "--campaign-id", "99999")
    with pytest.raises(CommandError, match="--mode live"):
        call_command("campaign_tick", "--campaign-id", str(running_campaign.pk), "--mode", "live")


def test_force_proof_reaches_the_publish_action(running_campaign, author, reviewer_user):
    with time_machine.travel(dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC), tick=False):
        target = scheduled_post(running_campaign, author, reviewer_user, dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC))
    with time_machine.travel(dt.datetime(2026, 6, 1, 9, 1, tzinfo=dt.UTC), tick=False):
        tick_enqueue(campaign=running_campaign, slot=3, force_proof=True)
        Dispatcher(worker_id="t").drain()
    assert PublishTarget.objects.get(pk=target.pk).platform_post_id.startswith("proof-")
    assert Action.objects.get(action_type="post_social").payload == {"target_id": target.pk, "force_proof": True}

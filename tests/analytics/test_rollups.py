from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from analytics import services
from analytics.models import DailyMetric
from analytics.rollups import COUNTERS, KINDS, rollup_incremental, rollup_range
from campaigns.actions import action_enqueue
from campaigns.dispatcher import Dispatcher
from campaigns.events import event_record
from tests.factories import CampaignFactory, UserFactory

pytestmark = pytest.mark.django_db
D1 = date(2026, 11, 2)
D2 = date(2026, 11, 3)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def ev(campaign, kind, *, channel="email", lead=None, day=D1, hour=12, value=None):
    event_record(kind=kind, campaign=campaign, channel=channel, lead_id=lead, occurred_at=at(day, hour), value=value)


def row(campaign, channel, day=D1) -> DailyMetric:
    return DailyMetric.objects.get(campaign=campaign, channel=channel, day=day)


@pytest.fixture
def campaign():
    return CampaignFactory()


def test_rollup_counts_per_channel_and_campaign_total(campaign):
    for lead in (1, 2, 3, 4):
        ev(campaign, "email_sent", lead=lead)
    ev(campaign, "email_sent", lead=1)  # a second step to the same lead: 2 sends, 1 lead contacted
    ev(campaign, "email_opened", lead=1)
    ev(campaign, "email_bounced", lead=4)
    ev(campaign, "reply", lead=2)
    ev(campaign, "click", lead=3)
    ev(campaign, "click_bot", lead=3)  # a preview bot: not a click
    ev(campaign, "conversion", lead=2, value=Decimal("500.00"))
    ev(campaign, "post_published", channel="x")
    ev(campaign, "click", channel="x", lead=9)
    ev(campaign, "email_sent", lead=1, day=D2)
    ev(campaign, "email_sent", lead=1, day=D1 - timedelta(days=1), hour=23)  # the day before, UTC
    services.spend_record(campaign=campaign, channel="email", day=D1, amount=Decimal("100"), actor="test")
    services.spend_record(campaign=campaign, channel="x", day=D1, amount=Decimal("150"), actor="test")
    rollup_range(start=D1, end=D2)

    email = row(campaign, "email")
    assert (email.sends, email.leads_contacted, email.opens, email.bounces, email.replies, email.clicks) == (
        5,
        4,
        1,
        1,
        1,
        1,
    )
    assert (email.leads_targeted, email.leads_responded, email.leads_qualified, email.conversions) == (4, 1, 1, 1)
    assert (email.revenue, email.spend) == (Decimal("500.00"), Decimal("100.00"))
    assert email.reply_rate == 0.2 and email.bounce_rate == 0.2 and email.roi == 4.0
    x = row(campaign, "x")
    assert (x.posts_published, x.clicks, x.sends, x.spend) == (1, 1, 0, Decimal("150.00"))
    total = row(campaign, DailyMetric.ALL)
    assert (total.sends, total.clicks, total.leads_targeted, total.spend) == (5, 2, 5, Decimal("250.00"))
    assert total.roi == 1.0
    assert row(campaign, "email", D2).sends == 1
    assert not DailyMetric.objects.filter(day=D1 - timedelta(days=1)).exists()  # outside the range


def test_rerunning_the_same_days_writes_nothing_and_gives_the_same_rows(campaign):
    ev(campaign, "email_sent", lead=1)
    ev(campaign, "reply", lead=1, day=D2)
    first = rollup_range(start=D1, end=D2)
    before = list(DailyMetric.objects.order_by("pk").values())
    again = rollup_range(start=D1, end=D2)
    assert first.written == 4 and again.written == 0 and again.removed == 0
    assert list(DailyMetric.objects.order_by("pk").values()) == before


def test_incremental_rollup_redoes_only_the_days_that_changed(campaign):
    other = CampaignFactory()
    ev(campaign, "email_sent", lead=1, day=D1)
    ev(other, "email_sent", lead=1, day=D1)
    assert rollup_incremental().days == 2
    untouched = row(other, "email").updated_at
    ev(campaign, "email_sent", lead=2, day=D1)
    result = rollup_incremental()
    assert row(campaign, "email").sends == 2
    assert row(other, "email").updated_at == untouched
    assert result.written == 2  # campaign's email row and its total, nothing else


def test_spend_changes_are_picked_up_by_the_incremental_rollup(campaign):
    entry = services.spend_record(campaign=campaign, channel="x", day=D1, amount=Decimal("10"), actor="t")
    rollup_incremental()
    assert row(campaign, "x").spend == Decimal("10.00")
    services.spend_update(entry=entry, actor="t", amount=Decimal("25"))
    rollup_incremental()
    assert row(campaign, "x").spend == Decimal("25.00")
    services.spend_delete(entry=entry, actor="t")
    result = rollup_incremental()
    assert result.removed == 2
    assert not DailyMetric.objects.filter(campaign=campaign).exists()


def test_spend_refuses_a_negative_amount_naming_the_field(campaign):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        services.spend_record(campaign=campaign, channel="x", day=D1, amount=Decimal("-1"), actor="t")
    assert "amount" in exc.value.message_dict


def _oracle(events, start, end):
    """What the rollup must give, computed in Python from the raw events."""
    kind_of = {k: name for name, kinds in KINDS.items() for k in kinds}
    groups: dict[tuple, dict] = defaultdict(lambda: defaultdict(set))
    counts: dict[tuple, dict] = defaultdict(lambda: defaultdict(int))
    revenue: dict[tuple, Decimal] = defaultdict(Decimal)
    for cid, channel, kind, lead, when, value in events:
        day = when.date()
        if not start <= day <= end:
            continue
        for key in ((day, cid, channel), (day, cid, DailyMetric.ALL)):
            counts[key]["_any"] += 0
            if lead is not None:
                groups[key]["targeted"].add(lead)
            cat = kind_of.get(kind)
            if cat:
                counts[key][cat] += 1
                if lead is not None and cat in ("send", "reply", "qualified"):
                    groups[key][cat].add(lead)
                if kind == "conversion":
                    groups[key]["qualified"].add(lead) if lead is not None else None
                    revenue[key] += value or 0
    out = {}
    for key in counts:
        c, g = counts[key], groups[key]
        out[key] = {
            "leads_targeted": len(g["targeted"]), "leads_contacted": len(g["send"]),
            "leads_responded": len(g["reply"]), "leads_qualified": len(g["qualified"]),
            "leads_captured": c["captured"], "posts_published": c["published"], "sends": c["send"],
            "delivered": c["delivered"], "opens": c["open"], "clicks": c["click"], "replies": c["reply"],
            "bounces": c["bounce"], "complaints": c["complaint"], "unsubscribes": c["unsubscribe"],
            "conversions": c["conversion"], "revenue": revenue[key], "spend": Decimal(0),
        }  # fmt: skip
    return out


def test_rollup_matches_a_python_oracle_on_generated_events():
    rng = random.Random(8)
    campaigns = [CampaignFactory().pk for _ in range(3)]
    kinds = [k for ks in KINDS.values() for k in ks] + ["click_bot", "something_else"]
    events = []
    for _ in range(600):
        e = (
            rng.choice(campaigns), rng.choice(["email", "x", "linkedin", ""]), rng.choice(kinds),
            rng.choice([None, *range(1, 30)]), at(D1, 0) + timedelta(minutes=rng.randrange(4 * 24 * 60)),
            Decimal(rng.randrange(0, 1000)) if rng.random() < 0.5 else None,
        )  # fmt: skip
        events.append(e)
        event_record(kind=e[2], campaign=e[0], channel=e[1], lead_id=e[3], occurred_at=e[4], value=e[5])
    rollup_range(start=D1, end=D1 + timedelta(days=2))
    got = {
        (r["day"], r["campaign_id"], r["channel"]): {c: r[c] for c in COUNTERS} for r in DailyMetric.objects.values()
    }
    assert got == _oracle(events, D1, D1 + timedelta(days=2))


def test_backfill_command_reports_progress_and_is_idempotent(campaign):
    ev(campaign, "email_sent", lead=1, day=D1)
    out = StringIO()
    call_command("backfill_metrics", "--from", "2026-10-20", "--to", "2026-11-05", stdout=out)
    text = out.getvalue()
    assert "2026-10-20 … 2026-10-26" in text and "(100%)" in text and "done: 2 row(s)" in text
    out = StringIO()
    call_command("backfill_metrics", "--from", "2026-10-20", "--to", "2026-11-05", stdout=out)
    assert "done: 0 row(s)" in out.getvalue()
    assert row(campaign, "email").sends == 1


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--from", "2026-13-01", "--to", "2026-12-01"], "--from"),
        (["--from", "2026-11-05", "--to", "2026-11-01"], "--to"),
    ],
)
def test_backfill_refuses_bad_dates_naming_the_option(args, field):
    with pytest.raises(CommandError, match=field):
        call_command("backfill_metrics", *args)


def test_rollup_metrics_action_runs_through_the_queue(campaign):
    ev(campaign, "email_sent", lead=1, day=D1)
    action, _ = action_enqueue(key="rollup_metrics:test", action_type="rollup_metrics", payload={})
    Dispatcher(worker_id="t").drain()
    action.refresh_from_db()
    assert action.status == "succeeded", action.last_error
    assert row(campaign, "email").sends == 1


def test_rollup_metrics_payload_needs_both_ends():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        action_enqueue(key="r:bad", action_type="rollup_metrics", payload={"start": "2026-11-01"})
    assert "payload" in str(exc.value)


def test_user_factory_still_usable_as_spend_actor(campaign):
    user = UserFactory()
    entry = services.spend_record(campaign=campaign, channel="email", day=D1, amount=Decimal("1"), actor=user)
    assert entry.created_by == user


def test_the_rollup_schedule_enqueues_the_incremental_run_and_the_daily_redo_once():
    import time_machine

    from analytics.tasks import enqueue_rollup
    from campaigns.models import Action
    from config.schedules import SCHEDULES

    assert {"auto:metrics-rollup", "auto:weekly-summary"} <= {s["name"] for s in SCHEDULES}
    with time_machine.travel(datetime(2026, 11, 20, 10, 37, tzinfo=UTC), tick=False):
        enqueue_rollup()
        enqueue_rollup()
    keys = dict(Action.objects.filter(action_type="rollup_metrics").values_list("idempotency_key", "payload"))
    assert keys == {
        "rollup_metrics:20261120T1030": {},
        "rollup_metrics:days:20261120": {"start": "2026-11-19", "end": "2026-11-20"},
    }

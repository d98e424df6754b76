from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from analytics.feedback import rules_evaluate
from analytics.models import Alert, FeedbackRule, WeeklySummary
from analytics.rollups import rollup_incremental
from analytics.tasks import enqueue_weekly_summaries
from campaigns.actions import action_enqueue
from campaigns.audit import audit_trail
from campaigns.dispatcher import Dispatcher
from campaigns.events import event_record
from campaigns.models import Action, Campaign

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def sends(campaign, n, *, bounces=0, replies=0, when=NOW - timedelta(hours=2)):
    for i in range(n):
        event_record(kind="email_sent", campaign=campaign, channel="email", lead_id=i, occurred_at=when)
    for i in range(bounces):
        event_record(kind="email_bounced", campaign=campaign, channel="email", lead_id=i, occurred_at=when)
    for i in range(replies):
        event_record(kind="reply", campaign=campaign, channel="email", lead_id=i, occurred_at=when)


def rule(campaign, kind, action, threshold=None, min_sends=10):
    return FeedbackRule.objects.create(campaign=campaign, kind=kind, action=action, threshold=threshold,
                                       min_sends=min_sends)  # fmt: skip


def run_rollup_action(key="rollup_metrics:t"):
    action, _ = action_enqueue(key=key, action_type="rollup_metrics", payload={})
    Dispatcher(worker_id="t").drain()
    action.refresh_from_db()
    assert action.status == "succeeded", action.last_error
    return action


def test_bounce_rate_over_threshold_pauses_the_campaign_with_an_audit_row_and_alert(running_campaign):
    running_campaign.owner.email = "owner@example.com"
    running_campaign.owner.save()
    r = rule(running_campaign, "bounce_rate_above", "pause", Decimal("0.05"))
    sends(running_campaign, 20, bounces=2)
    with time_machine.travel(NOW, tick=False):
        action = run_rollup_action()
    running_campaign.refresh_from_db()
    assert running_campaign.status == Campaign.Status.PAUSED
    entry = audit_trail(running_campaign).filter(new="paused").get()
    assert f"feedback rule {r.pk}" in entry.note and "10.0%" in entry.note
    assert entry.actor_label == f"action:{action.pk}"
    alert = Alert.objects.get()
    assert "paused" in alert.message and alert.emailed_to == "owner@example.com"
    assert audit_trail(r).filter(action="feedback:pause").exists()
    assert action.result["rules_fired"]


def test_a_rule_fires_once_then_rearms_when_its_condition_clears(running_campaign):
    r = rule(running_campaign, "bounce_rate_above", "alert", Decimal("0.05"))
    sends(running_campaign, 20, bounces=2)
    with time_machine.travel(NOW, tick=False):
        rollup_incremental()
        assert len(rules_evaluate()) == 1
        assert rules_evaluate() == []  # still true: no second alert
        sends(running_campaign, 60)  # 2 of 80 = 2.5 %
        rollup_incremental()
        rules_evaluate()
    r.refresh_from_db()
    assert r.fired_at is None and r.last_value == pytest.approx(0.025)
    assert Alert.objects.count() == 1
    running_campaign.refresh_from_db()
    assert running_campaign.status == Campaign.Status.RUNNING  # alert only


def test_reply_rate_rule_waits_for_enough_sends(running_campaign):
    rule(running_campaign, "reply_rate_below", "alert", Decimal("0.02"), min_sends=50)
    sends(running_campaign, 30)
    with time_machine.travel(NOW, tick=False):
        rollup_incremental()
        assert rules_evaluate() == []
        sends(running_campaign, 30, replies=1)
        rollup_incremental()
        (line,) = rules_evaluate()
    assert "alerted" in line
    assert "below" in Alert.objects.get().message


def test_reaching_the_target_clients_completes_the_campaign(running_campaign):
    running_campaign.target_clients = 2
    running_campaign.save(update_fields=["target_clients"])
    rule(running_campaign, "target_clients_reached", "complete")
    event_record(kind="conversion", campaign=running_campaign, lead_id=1, value=Decimal(10), occurred_at=NOW)
    with time_machine.travel(NOW, tick=False):
        assert rules_evaluate() == []
        event_record(kind="conversion", campaign=running_campaign, lead_id=2, value=Decimal(10), occurred_at=NOW)
        rules_evaluate()
    running_campaign.refresh_from_db()
    assert running_campaign.status == Campaign.Status.COMPLETED
    assert audit_trail(running_campaign).filter(new="completed").exists()


def test_a_rule_on_a_draft_campaign_does_nothing(db):
    from tests.factories import CampaignFactory

    campaign = CampaignFactory()
    rule(campaign, "bounce_rate_above", "pause", Decimal("0.01"))
    sends(campaign, 20, bounces=5)
    with time_machine.travel(NOW, tick=False):
        rollup_incremental()
        assert rules_evaluate() == []


def test_rate_rule_needs_a_threshold_between_0_and_1(running_campaign):
    from django.core.exceptions import ValidationError

    bad = FeedbackRule(campaign=running_campaign, kind="bounce_rate_above", action="pause", threshold=Decimal("5"))
    with pytest.raises(ValidationError) as exc:
        bad.full_clean()
    assert "threshold" in exc.value.message_dict


def test_weekly_summary_is_emailed_to_the_owner_once(running_campaign, q_sync):
    running_campaign.owner.email = "owner@example.com"
    running_campaign.owner.save()
    sends(running_campaign, 4, replies=1, when=datetime(2026, 11, 10, 9, tzinfo=UTC))
    from analytics.rollups import rollup_range

    rollup_range(start=date(2026, 11, 9), end=date(2026, 11, 15))
    with time_machine.travel(datetime(2026, 11, 16, 7, tzinfo=UTC), tick=False):
        assert "2026-W46" in enqueue_weekly_summaries()
        enqueue_weekly_summaries()
        Dispatcher(worker_id="t").drain()
    assert Action.objects.filter(action_type="weekly_summary").count() == 1
    (message,) = mail.outbox
    assert message.to == ["owner@example.com"]
    assert "weekly summary 2026-W46" in message.subject
    assert "Sends: 4" in message.body and "Replies: 1 (25.0%)" in message.body
    assert "Linear: none" in message.body
    assert WeeklySummary.objects.get().status == "sent"


def test_a_summary_found_sending_is_not_sent_again(running_campaign):
    running_campaign.owner.email = "owner@example.com"
    running_campaign.owner.save()
    WeeklySummary.objects.create(campaign=running_campaign, week="2026-W46", recipient="owner@example.com")
    action, _ = action_enqueue(key="ws:t", action_type="weekly_summary",
                               payload={"campaign_id": running_campaign.pk, "week": "2026-W46"})  # fmt: skip
    Dispatcher(worker_id="t").drain()
    action.refresh_from_db()
    assert action.status == "succeeded" and mail.outbox == []


def test_weekly_summary_payload_is_validated_naming_the_field():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        action_enqueue(key="ws:bad", action_type="weekly_summary", payload={"campaign_id": 1, "week": "48"})
    assert "payload.week" in exc.value.message_dict


def test_a_refused_summary_is_retried_not_lost(running_campaign, settings, monkeypatch):
    import smtplib

    import analytics.handlers

    running_campaign.owner.email = "owner@example.com"
    running_campaign.owner.save()

    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("connection closed")

    monkeypatch.setattr(analytics.handlers, "send_mail", refuse)
    action, _ = action_enqueue(key="ws:r", action_type="weekly_summary",
                               payload={"campaign_id": running_campaign.pk, "week": "2026-W46"})  # fmt: skip
    Dispatcher(worker_id="t").drain()
    action.refresh_from_db()
    assert action.status == "retry_wait" and "refused" in action.last_error
    assert not WeeklySummary.objects.exists()


def test_day_ranges_groups_contiguous_days():
    from analytics.handlers import day_ranges

    d = date(2026, 11, 1)
    days = [d, d + timedelta(1), d + timedelta(2), d + timedelta(6)]
    assert day_ranges(days) == [(d, d + timedelta(2)), (d + timedelta(6), d + timedelta(6))]

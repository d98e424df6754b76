from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from campaigns import services
from campaigns.audit import audit_trail
from campaigns.errors import ConcurrentTransition, InvalidTransition
from campaigns.models import AuditEntry, Campaign
from tests.factories import CampaignFactory, UserFactory, reviewer

pytestmark = pytest.mark.django_db


def _create(**overrides):
    fields = {"name": "Launch", "channels": ["x", "email"], "timezone": "Europe/Berlin", "strategy": "s"}
    return services.campaign_create(actor=UserFactory(), **{**fields, **overrides})


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("channels", ["x", "tiktok"], "unknown channel(s) tiktok"),
        ("channels", "x", "must be a list"),
        ("timezone", "Mars/Olympus", "not an IANA time zone"),
        ("kpi_targets", {"leads": -1}, "must be a number"),
        ("objective", "fame", "not a valid choice"),
    ],
)
def test_invalid_field_is_named_and_nothing_is_written(field, value, needle):
    with pytest.raises(ValidationError) as err:
        _create(**{field: value})
    assert field in err.value.message_dict
    assert needle in " ".join(err.value.message_dict[field])
    assert not Campaign.objects.exists()
    assert not AuditEntry.objects.exists()


def test_end_date_before_start_is_refused():
    import datetime as dt

    with pytest.raises(ValidationError) as err:
        _create(start_date=dt.date(2026, 5, 2), end_date=dt.date(2026, 5, 1))
    assert "end_date" in err.value.message_dict


def test_duplicate_name_names_the_field():
    _create()
    with pytest.raises(ValidationError) as err:
        _create(slug="other-slug")
    assert "name" in err.value.message_dict


def test_unknown_field_is_refused():
    with pytest.raises(ValidationError) as err:
        _create(status="running", mode="live")
    assert {"status", "mode"} <= set(err.value.message_dict)


def test_create_writes_an_audit_row():
    campaign = _create()
    (entry,) = audit_trail(campaign)
    assert (entry.action, entry.new) == ("created", "draft")


def test_illegal_transition_raises_and_writes_nothing():
    campaign = CampaignFactory()
    with pytest.raises(InvalidTransition, match="strategy is not approved"):
        services.campaign_start(campaign=campaign, actor="test")
    with pytest.raises(InvalidTransition, match="cannot go from draft to paused"):
        services.campaign_pause(campaign=campaign, actor="test")
    campaign.refresh_from_db()
    assert campaign.status == "draft"
    assert not audit_trail(campaign).exists()


def test_full_lifecycle_writes_one_audit_row_per_move(author, reviewer_user):
    campaign = CampaignFactory()
    services.campaign_submit(campaign=campaign, actor=author)
    services.campaign_approve(campaign=campaign, actor=reviewer_user)
    services.campaign_start(campaign=campaign, actor=reviewer_user)
    services.campaign_pause(campaign=campaign, actor=author)
    services.campaign_resume(campaign=campaign, actor=author)
    services.campaign_complete(campaign=campaign, actor=author)
    moves = [(e.old, e.new) for e in reversed(audit_trail(campaign))]
    assert moves == [
        ("draft", "pending_review"), ("pending_review", "approved"), ("approved", "running"),
        ("running", "paused"), ("paused", "running"), ("running", "completed"),
    ]  # fmt: skip
    with pytest.raises(InvalidTransition):
        services.campaign_kill(campaign=campaign, actor=author)


def test_running_requires_strategy_approved_in_its_current_form(author, reviewer_user):
    campaign = CampaignFactory()
    services.campaign_submit(campaign=campaign, actor=author)
    services.campaign_approve(campaign=campaign, actor=reviewer_user)
    services.campaign_update(campaign=campaign, actor=author, strategy="A different plan")
    campaign.refresh_from_db()
    assert campaign.status == "pending_review"  # the edit voided the approval
    with pytest.raises(InvalidTransition):
        services.campaign_start(campaign=campaign, actor=reviewer_user)


def test_approval_needs_the_permission(author):
    campaign = CampaignFactory()
    services.campaign_submit(campaign=campaign, actor=author)
    with pytest.raises(InvalidTransition, match="permission"):
        services.campaign_approve(campaign=campaign, actor=author)
    with pytest.raises(InvalidTransition, match="reason"):
        services.campaign_reject(campaign=campaign, actor=reviewer("rob"), reason="  ")


def test_stale_object_gets_a_conflict_not_a_silent_overwrite(running_campaign):
    stale = Campaign.objects.get(pk=running_campaign.pk)
    services.campaign_pause(campaign=running_campaign, actor="a")
    with pytest.raises(ConcurrentTransition, match="changed to paused by someone else"):
        services.campaign_kill(campaign=stale, actor="b")
    running_campaign.refresh_from_db()
    assert running_campaign.status == "paused"


@pytest.mark.django_db(transaction=True)
def test_concurrent_transitions_on_two_connections_one_wins(running_campaign):
    """Two threads (two PostgreSQL connections) move the same running campaign at once."""
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def move(name, fn):
        campaign = Campaign.objects.get(pk=running_campaign.pk)
        barrier.wait()
        try:
            fn(campaign=campaign, actor=name)
            results[name] = "won"
        except ConcurrentTransition:
            results[name] = "conflict"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=move, args=("pauser", services.campaign_pause)),
        threading.Thread(target=move, args=("killer", services.campaign_kill)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results.values()) == ["conflict", "won"]
    running_campaign.refresh_from_db()
    winner = next(k for k, v in results.items() if v == "won")
    assert running_campaign.status == {"pauser": "paused", "killer": "killed"}[winner]
    assert audit_trail(running_campaign).filter(old="running").count() == 1


def test_channel_config_validates_caps(running_campaign):
    with pytest.raises(ValidationError) as err:
        services.campaign_channel_set(campaign=running_campaign, actor="t", channel="email", daily_cap=5, hourly_cap=10)
    assert "hourly_cap" in err.value.message_dict
    config = services.campaign_channel_set(campaign=running_campaign, actor="t", channel="email", daily_cap=100)
    again = services.campaign_channel_set(campaign=running_campaign, actor="t", channel="email", daily_cap=80)
    assert config.pk == again.pk and again.daily_cap == 80

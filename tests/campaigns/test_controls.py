from __future__ import annotations

import pytest
from django.core.management import call_command

from campaigns.actions import action_enqueue
from campaigns.audit import audit_trail
from campaigns.controls import control_set, flags_get, is_live
from campaigns.dispatcher import Dispatcher
from campaigns.errors import InvalidTransition
from campaigns.models import Action, ControlFlag
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _types(settings):
    settings.ACTION_TYPES = {**settings.ACTION_TYPES, "record": {"handler": "tests.campaigns.handlers.record"}}


def test_fresh_database_is_proof_and_not_stopped():
    campaign = CampaignFactory(mode="live")
    assert flags_get() == flags_get(campaign)
    # Only the global row from the migration, all switches off (flushed databases have none: same meaning).
    assert list(ControlFlag.objects.values_list("scope", "paused", "killed", "live")) in (
        [("global", False, False, False)], [],
    )  # fmt: skip
    assert not is_live(campaign)


def test_live_needs_deployment_global_and_campaign(settings):
    campaign = CampaignFactory(mode="proof")
    with pytest.raises(InvalidTransition, match="PUBLISHING_MODE=proof"):
        control_set(action="live", actor="ops")
    settings.PUBLISHING_MODE = "live"
    control_set(action="live", actor="ops")
    assert not is_live(campaign)  # the campaign still says proof
    control_set(action="live", actor="ops", campaign=campaign)
    assert is_live(campaign)
    control_set(action="proof", actor="ops")  # global back to proof wins
    assert not is_live(campaign)
    settings.PUBLISHING_MODE = "proof"  # the deployment's ceiling overrides both flags
    assert not is_live(campaign)
    with pytest.raises(InvalidTransition):
        control_set(action="live", actor="ops", campaign=CampaignFactory())


def test_global_pause_claims_nothing_and_resume_drains():
    action_enqueue(key="a", action_type="record", wake=False)
    control_set(action="pause", actor="ops", note="incident 42")
    report = Dispatcher(worker_id="t").drain()
    assert report.claimed == 0 and "global is paused" in report.stopped
    assert Action.objects.get().status == "pending"
    control_set(action="resume", actor="ops")
    assert Dispatcher(worker_id="t").drain().claimed == 1
    entry = audit_trail(ControlFlag.objects.get(scope="global")).filter(action="control:pause").get()
    assert (entry.actor_label, entry.note, entry.old, entry.new) == ("ops", "incident 42", "false", "true")


def test_campaign_pause_skips_only_that_campaign():
    paused, other = CampaignFactory(), CampaignFactory()
    action_enqueue(key="p", action_type="record", campaign=paused, wake=False)
    action_enqueue(key="o", action_type="record", campaign=other, wake=False)
    action_enqueue(key="n", action_type="record", wake=False)
    control_set(action="pause", actor="ops", campaign=paused)
    Dispatcher(worker_id="t").drain()
    assert dict(Action.objects.values_list("idempotency_key", "status")) == {
        "p": "pending", "o": "succeeded", "n": "succeeded",
    }  # fmt: skip


def test_kill_stops_the_dispatcher_command_with_a_distinct_exit_code(capsys):
    action_enqueue(key="k", action_type="record", wake=False)
    call_command("control", "kill", "--note", "stop everything")
    with pytest.raises(SystemExit) as exit_info:
        call_command("dispatch", "--once")
    assert exit_info.value.code == 3
    assert Action.objects.get().status == "pending"
    call_command("control", "unkill")
    call_command("dispatch", "--once")
    assert Action.objects.get().status == "succeeded"


def test_control_command_refuses_bad_input():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--campaign-id: no campaign with id 999"):
        call_command("control", "pause", "--campaign-id", "999")
    with pytest.raises(CommandError, match="PUBLISHING_MODE=proof"):
        call_command("control", "live")


def test_release_does_not_use_up_attempts(settings):
    settings.ACTION_TYPES = {**settings.ACTION_TYPES, "wait": {"handler": "tests.campaigns.handlers.wait"}}
    action, _ = action_enqueue(key="w", action_type="wait", wake=False, max_attempts=1)
    for _ in range(3):
        Action.objects.filter(pk=action.pk).update(not_before=action.created_at)
        Dispatcher(worker_id="t").drain()
    action.refresh_from_db()
    assert (action.status, action.attempts) == ("retry_wait", 0)

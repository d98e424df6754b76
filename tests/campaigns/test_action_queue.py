from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from campaigns.actions import action_cancel, action_enqueue, action_retry
from campaigns.dispatcher import Dispatcher
from campaigns.errors import InvalidTransition
from campaigns.models import Action, ActionLog, AuditEntry
from campaigns.outcomes import Outcome

pytestmark = pytest.mark.django_db

TEST_TYPES = {
    "noop": {"handler": "campaigns.handlers.noop"},
    "record": {"handler": "tests.campaigns.handlers.record"},
    "boom": {"handler": "tests.campaigns.handlers.boom"},
    "later": {"handler": "tests.campaigns.handlers.later"},
    "refuse": {"handler": "tests.campaigns.handlers.refuse"},
    "typed": {
        "handler": "campaigns.handlers.noop",
        "schema": {
            "type": "object",
            "properties": {"target_id": {"type": "integer"}},
            "required": ["target_id"],
            "additionalProperties": False,
        },
        "max_attempts": 2,
        "priority": 7,
    },
}


@pytest.fixture(autouse=True)
def _handlers(settings):
    settings.ACTION_TYPES = TEST_TYPES


def test_same_key_twice_yields_one_action():
    first, created1 = action_enqueue(key="k:1", action_type="noop", payload={"a": 1})
    second, created2 = action_enqueue(key="k:1", action_type="noop", payload={"a": 2})
    assert (created1, created2) == (True, False)
    assert first.pk == second.pk
    assert Action.objects.get().payload == {"a": 1}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"key": "", "action_type": "noop"}, "idempotency_key"),
        ({"key": "x", "action_type": "launch_rockets"}, "action_type"),
        ({"key": "x", "action_type": "noop", "payload": [1, 2]}, "payload"),
    ],
)
def test_bad_enqueue_names_the_field(kwargs, field):
    with pytest.raises(ValidationError) as err:
        action_enqueue(**kwargs)
    assert field in err.value.message_dict
    assert not Action.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field", "needle"),
    [
        ({}, "payload.target_id", "required"),
        ({"target_id": "7"}, "payload.target_id", "is not of type 'integer'"),
        ({"target_id": 7, "extra": 1}, "payload.extra", "not a field of a typed payload"),
    ],
)
def test_payload_is_checked_against_the_type_schema_at_enqueue(payload, field, needle):
    with pytest.raises(ValidationError) as err:
        action_enqueue(key="t", action_type="typed", payload=payload)
    assert needle in " ".join(err.value.message_dict[field])
    assert not Action.objects.exists()


def test_type_defaults_apply_to_new_actions():
    action, _ = action_enqueue(key="t", action_type="typed", payload={"target_id": 7})
    assert (action.max_attempts, action.priority) == (2, 7)


def test_key_reused_for_another_type_is_refused():
    action_enqueue(key="k", action_type="noop")
    with pytest.raises(ValidationError, match="already used by a noop action"):
        action_enqueue(key="k", action_type="record")


def test_dispatcher_runs_due_actions_and_logs_each_attempt():
    action_enqueue(key="a", action_type="record")
    action_enqueue(key="later", action_type="record", not_before=timezone.now() + timedelta(hours=1))
    report = Dispatcher(worker_id="t").drain()
    assert report.claimed == 1
    done = Action.objects.get(idempotency_key="a")
    assert (done.status, done.attempts, done.locked_by, done.locked_until) == ("succeeded", 1, "", None)
    assert done.finished_at is not None
    (log,) = ActionLog.objects.filter(action=done)
    assert (log.attempt, log.status, log.message) == (1, "succeeded", "recorded")
    assert Action.objects.get(idempotency_key="later").status == "pending"


def test_priority_orders_the_claim():
    action_enqueue(key="low", action_type="record", priority=200)
    action_enqueue(key="high", action_type="record", priority=10)
    Dispatcher(worker_id="t", batch_size=1).drain(max_batches=1)
    assert Action.objects.get(idempotency_key="high").status == "succeeded"
    assert Action.objects.get(idempotency_key="low").status == "pending"


def test_unknown_type_in_the_table_fails_the_action():
    Action.objects.create(idempotency_key="ghost", action_type="ghost")
    Dispatcher(worker_id="t").drain()
    action = Action.objects.get()
    assert action.status == "failed"
    assert "unknown action type 'ghost'" in action.last_error


def test_exception_becomes_retry_wait_then_dead_letter():
    action, _ = action_enqueue(key="b", action_type="boom", max_attempts=2)
    Dispatcher(worker_id="t").drain()
    action.refresh_from_db()
    assert action.status == "retry_wait"
    assert action.not_before > timezone.now() + timedelta(seconds=10)
    assert "RuntimeError: handler exploded" in action.last_error
    Action.objects.filter(pk=action.pk).update(not_before=timezone.now())
    Dispatcher(worker_id="t").drain()
    action.refresh_from_db()
    assert (action.status, action.attempts) == ("dead_letter", 2)
    assert ActionLog.objects.filter(action=action).count() == 2

    action_retry(action=action, actor="ops")
    action.refresh_from_db()
    assert action.status == "pending" and action.max_attempts > action.attempts


def test_retry_after_from_the_handler_sets_not_before():
    action, _ = action_enqueue(key="l", action_type="later")
    before = timezone.now()
    Dispatcher(worker_id="t").drain()
    action.refresh_from_db()
    assert action.status == "retry_wait"
    assert before + timedelta(seconds=119) <= action.not_before <= timezone.now() + timedelta(seconds=121)


def test_permanent_outcome_fails_without_retry():
    action, _ = action_enqueue(key="r", action_type="refuse")
    Dispatcher(worker_id="t").drain()
    action.refresh_from_db()
    assert (action.status, action.last_error, action.attempts) == ("failed", "bad content", 1)


def test_expired_lease_is_reclaimed_and_runs_again():
    action, _ = action_enqueue(key="stuck", action_type="record")
    Action.objects.filter(pk=action.pk).update(
        status="in_progress", locked_by="dead-worker:1", locked_until=timezone.now() - timedelta(seconds=1), attempts=1
    )
    Dispatcher(worker_id="t").drain()
    action.refresh_from_db()
    assert (action.status, action.attempts) == ("succeeded", 2)


def test_live_lease_is_not_reclaimed():
    action, _ = action_enqueue(key="busy", action_type="record")
    Action.objects.filter(pk=action.pk).update(
        status="in_progress", locked_by="w:1", locked_until=timezone.now() + timedelta(minutes=5)
    )
    assert Dispatcher(worker_id="t").drain().claimed == 0


def test_stale_worker_cannot_overwrite_a_reclaimed_action():
    action, _ = action_enqueue(key="s", action_type="record")
    slow = Dispatcher(worker_id="slow")
    token, claimed = slow.claim()
    # Its lease expires and another worker takes the action over.
    Action.objects.filter(pk=action.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    Dispatcher(worker_id="fast").drain()
    stale_result = slow._finish(claimed[0], Outcome.permanent("stale result"))
    slow._record(token, [(claimed[0], stale_result)])
    action.refresh_from_db()
    assert action.status == "succeeded"  # the slow worker's "failed" was refused


def test_cancel_and_its_refusals():
    action, _ = action_enqueue(key="c", action_type="record")
    action_cancel(action=action, actor="ops", reason="not needed")
    assert Dispatcher(worker_id="t").drain().claimed == 0
    with pytest.raises(InvalidTransition):
        action_cancel(action=action, actor="ops")
    log = ActionLog.objects.get(action=action)
    assert (log.status, log.actor_label, log.message) == ("cancelled", "ops", "cancelled: not needed")


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_on_200_actions_run_each_exactly_once():
    for i in range(200):
        action_enqueue(key=f"x:{i}", action_type="record", payload={"sleep": 0.001}, wake=False)
    errors: list[BaseException] = []

    def work(name):
        try:
            Dispatcher(worker_id=name, batch_size=7).drain()
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(f"d{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert Action.objects.filter(status="succeeded").count() == 200
    runs = AuditEntry.objects.filter(action="ran")
    assert runs.count() == 200
    assert runs.values("object_id").distinct().count() == 200
    workers = {note.split(":")[0] for note in runs.values_list("note", flat=True)}
    assert workers == {"d0", "d1"}  # both really took part


def test_a_released_action_keeps_its_place_in_line(settings):
    """After its wait, a released action goes before work that fell due while it waited."""
    settings.ACTION_TYPES = {**TEST_TYPES, "wait": {"handler": "tests.campaigns.handlers.wait"}}
    start = timezone.now()
    waited, _ = action_enqueue(key="waited", action_type="wait", not_before=start - timedelta(minutes=1))
    Dispatcher(worker_id="t").drain()  # released for 30 s
    later, _ = action_enqueue(key="later-due", action_type="wait", not_before=start + timedelta(seconds=10))
    with time_machine.travel(start + timedelta(seconds=45), tick=False):
        Dispatcher(worker_id="t", batch_size=1).drain(max_batches=1)
    assert ActionLog.objects.filter(action=waited).count() == 2  # claimed again first (and released again)
    assert not ActionLog.objects.filter(action=later).exists()


def test_a_release_for_zero_seconds_is_claimable_at_once():
    action, _ = action_enqueue(key="zero", action_type="record")
    before = timezone.now()
    finish = Dispatcher(worker_id="t")._finish(action, Outcome.release("reset already passed", after=0))
    assert finish.status == "retry_wait" and finish.not_before - before < timedelta(seconds=1)  # not the 60 s default

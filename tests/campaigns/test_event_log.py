"""The event log: one writer, replays stored once (also under concurrency), monthly partitions."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import timezone

from campaigns import events as events_module
from campaigns.event_partitions import (
    event_partitions,
    event_partitions_detach,
    event_partitions_ensure,
    partition_name,
)
from campaigns.events import event_record, events_record_many
from campaigns.handlers import event_partitions as event_partitions_handler
from campaigns.models import Action, Event, EventDedupe
from config.schedules import SCHEDULES

pytestmark = pytest.mark.django_db


def _partition_of(event: Event) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM campaigns_event WHERE id = %s", [event.pk])
        return cursor.fetchone()[0]


def test_a_replayed_key_is_stored_once_and_returns_the_first_event():
    first, created = event_record(kind="email_opened", dedupe_key="sendgrid:abc", data={"n": 1})
    again, created_again = event_record(kind="email_opened", dedupe_key="sendgrid:abc", data={"n": 2})
    assert created and not created_again and again.pk == first.pk and again.data == {"n": 1}
    assert Event.objects.filter(dedupe_key="sendgrid:abc").count() == 1
    assert EventDedupe.objects.get(pk="sendgrid:abc").event_id == first.pk
    plain = [event_record(kind="click")[0] for _ in range(2)]  # no key: every call is an event
    assert plain[0].pk != plain[1].pk


def test_many_at_once_skips_stored_and_repeated_keys():
    first, _ = event_record(kind="email_sent", dedupe_key="email_sent:1")
    rows = [{"kind": "email_sent", "dedupe_key": f"email_sent:{n}", "lead_id": n} for n in (1, 2, 3, 3)]
    assert events_record_many(rows) == 2  # 1 was stored before, 3 is given twice
    assert events_record_many(rows) == 0  # the whole batch replayed
    for n in (1, 2, 3):
        event = Event.objects.get(dedupe_key=f"email_sent:{n}")
        assert EventDedupe.objects.get(pk=f"email_sent:{n}").event_id == event.pk
    assert Event.objects.get(dedupe_key="email_sent:1").pk == first.pk


@pytest.mark.parametrize("values", [(Decimal("12.50"), None), (None, None)], ids=["a value and none", "no values"])
def test_many_at_once_stores_every_column_as_one_event_would(values):
    when = timezone.now() - timedelta(days=3)
    common = {"kind": "conversion", "channel": "email", "lead_id": 5, "target_id": 9, "source": "t", "occurred_at": when,
              "data": {"step": 1, "note": "ü"}}  # fmt: skip
    rows = [{**common, "dedupe_key": f"many:{n}", "value": v} for n, v in enumerate(values)]
    assert events_record_many(rows) == 2
    single, _ = event_record(**{**common, "value": values[0]}, dedupe_key="one")
    fields = ("kind", "campaign_id", "channel", "lead_id", "target_id", "source", "value", "occurred_at", "data")
    stored = Event.objects.get(dedupe_key="many:0")
    assert [getattr(stored, f) for f in fields] == [getattr(Event.objects.get(pk=single.pk), f) for f in fields]
    assert Event.objects.get(dedupe_key="many:1").value is None
    assert EventDedupe.objects.get(pk="many:0").occurred_at == when


def test_many_at_once_falls_back_to_one_by_one_when_a_key_lands_meanwhile(monkeypatch):
    event_record(kind="email_sent", dedupe_key="email_sent:7")
    # As if another writer stored key 7 between the batch's read of stored keys and its INSERT.
    monkeypatch.setattr(events_module, "_stored_keys", lambda keys: set())
    rows = [{"kind": "email_sent", "dedupe_key": f"email_sent:{n}"} for n in (7, 8)]
    assert events_record_many(rows) == 1
    assert Event.objects.filter(dedupe_key__in=["email_sent:7", "email_sent:8"]).count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_of_one_key_store_one_event():
    barrier, results, errors = threading.Barrier(4), [], []

    def write() -> None:
        try:
            barrier.wait(5)
            results.append(event_record(kind="email_delivered", dedupe_key="race:1")[1])
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors and sorted(results) == [False, False, False, True]
    assert Event.objects.filter(dedupe_key="race:1").count() == 1


def test_the_log_is_partitioned_by_month_and_an_event_lands_in_its_month():
    names = {p.name for p in event_partitions()}
    assert "campaigns_event_default" in names
    now = datetime.now(UTC)
    event, _ = event_record(kind="click", occurred_at=now)
    assert _partition_of(event) == partition_name(date(now.year, now.month, 1))


def test_ensure_creates_months_ahead_once_and_moves_rows_out_of_default():
    old, _ = event_record(kind="conversion", occurred_at=datetime(2019, 3, 15, tzinfo=UTC), dedupe_key="old:1")
    assert _partition_of(old) == "campaigns_event_default"  # no partition for 2019-03 yet
    assert event_partitions_ensure(start=date(2019, 2, 1), through=date(2019, 3, 1)) == [
        "campaigns_event_y2019m02", "campaigns_event_y2019m03",
    ]  # fmt: skip
    assert event_partitions_ensure(start=date(2019, 2, 1), through=date(2019, 3, 1)) == []
    assert _partition_of(old) == "campaigns_event_y2019m03"
    assert Event.objects.get(pk=old.pk).kind == "conversion"
    assert event_record(kind="conversion", dedupe_key="old:1")[1] is False  # still found through its key
    ahead = event_partitions_ensure(months_ahead=6)  # the migration made +3; three more now
    assert len(ahead) == 3


def test_detach_takes_old_months_out_of_the_log_but_keeps_the_table():
    event_partitions_ensure(start=date(2019, 1, 1), through=date(2019, 1, 1))
    event, _ = event_record(kind="click", occurred_at=datetime(2019, 1, 2, tzinfo=UTC), dedupe_key="old:click")
    assert event_partitions_detach(older_than_months=25) == ["campaigns_event_y2019m01_detached"]
    assert not Event.objects.filter(pk=event.pk).exists()
    # A replay of a detached event is still a replay: no second event, no error.
    again, created = event_record(kind="click", dedupe_key="old:click")
    assert not created and again.pk == event.pk and Event.objects.filter(dedupe_key="old:click").count() == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM campaigns_event_y2019m01_detached")
        assert cursor.fetchone()[0] == 1
    with pytest.raises(ValueError, match="older_than_months"):
        event_partitions_detach(older_than_months=0)


def test_command_lists_creates_and_refuses_bad_input(capsys):
    call_command("event_partitions", "--create", "--from", "2018-11", "--through", "2018-12")
    out = capsys.readouterr().out
    assert "created 2: campaigns_event_y2018m11, campaigns_event_y2018m12" in out and "default" in out
    with pytest.raises(CommandError, match=r"not a month \(YYYY-MM\): '2018-1x'"):
        call_command("event_partitions", "--create", "--from", "2018-1x")
    with pytest.raises(CommandError, match="--from/--through: only with --create"):
        call_command("event_partitions", "--through", "2018-12")
    with pytest.raises(CommandError, match="--detach-older-than: must be between 1 and"):
        call_command("event_partitions", "--detach-older-than", "0")


def test_the_daily_action_keeps_months_ahead_and_is_scheduled(settings):
    assert any(s["name"] == "auto:event-partitions" for s in SCHEDULES)
    settings.EVENT_PARTITIONS_AHEAD_MONTHS = 5
    outcome = event_partitions_handler(Action(idempotency_key="event_partitions:t", action_type="event_partitions"))
    assert len(outcome.result["created"]) == 2 and outcome.result["detached"] == []
    again = event_partitions_handler(Action(idempotency_key="event_partitions:t2", action_type="event_partitions"))
    assert again.result["created"] == []

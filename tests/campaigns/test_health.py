from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.actions import action_enqueue
from campaigns.controls import control_set
from campaigns.dispatcher import Dispatcher
from campaigns.models import Action, Heartbeat

pytestmark = pytest.mark.django_db


def test_healthy_when_nothing_is_due(client):
    body = client.get("/health/").json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["flags"] == {"paused": False, "killed": False, "live": False, "publishing_mode": "proof"}


def test_stuck_queue_answers_503(client):
    action, _ = action_enqueue(key="due", action_type="noop", wake=False)
    Action.objects.filter(pk=action.pk).update(not_before=timezone.now() - timedelta(minutes=10))
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["status"] == "stuck"
    assert response.json()["oldest_due_action_age_seconds"] >= 600

    Heartbeat.objects.create(name="dispatcher", worker="w", beat_at=timezone.now() - timedelta(hours=1))
    assert client.get("/health/").status_code == 503  # a heartbeat an hour old is no better

    Dispatcher(worker_id="w").drain()  # beats and drains
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json()["dispatcher"]["worker"] == "w"


def test_paused_queue_is_not_reported_stuck(client):
    action_enqueue(key="due", action_type="noop", wake=False)
    control_set(action="pause", actor="ops")
    body = client.get("/health/").json()
    assert body["status"] == "ok" and body["flags"]["paused"] is True


def test_health_refuses_other_methods(client):
    assert client.post("/health/").status_code == 405

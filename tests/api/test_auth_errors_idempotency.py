from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.apitokens import token_revoke
from campaigns.audit import audit_trail
from campaigns.models import ApiToken, Campaign, IdempotencyRecord
from tests.api.conftest import Api, make_api

pytestmark = pytest.mark.django_db
DRAFT = {"name": "Spring launch", "channels": ["mastodon"], "strategy": "Two posts a week."}


def test_token_is_stored_hashed_and_shown_once(agent):
    row = ApiToken.objects.get(pk=agent.token.pk)
    assert agent.secret.startswith("cas_")
    assert agent.secret not in (row.key_sha256, row.prefix)
    assert len(row.key_sha256) == 64


def test_request_without_token_is_401_problem(db):
    response = Api().get("/api/v1/campaigns/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "auth"
    assert response.json()["type"] == "urn:campaign-automation:problem:auth"


@pytest.mark.parametrize("state", ["revoked", "expired", "wrong"])
def test_revoked_expired_or_unknown_token_is_refused(agent, state):
    if state == "revoked":
        token_revoke(token=agent.token, actor="test")
    elif state == "expired":
        ApiToken.objects.filter(pk=agent.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        agent = Api(agent.secret[:-2] + "xx")
    response = agent.get("/api/v1/campaigns/")
    assert response.status_code == 401
    assert response.json()["code"] == "auth"


def test_read_token_cannot_write(reader):
    response = reader.post("/api/v1/campaigns/", DRAFT)
    assert response.status_code == 403
    assert not Campaign.objects.exists()
    assert reader.get("/api/v1/campaigns/").status_code == 200


def test_audit_trail_names_the_token(agent):
    response = agent.post("/api/v1/campaigns/", DRAFT)
    assert response.status_code == 201, response.content
    entry = audit_trail(Campaign.objects.get()).get()
    assert entry.actor_label == f"api-token:{agent.token.pk}"
    assert entry.actor is None


def test_validation_error_is_problem_with_field_details(agent):
    response = agent.post("/api/v1/campaigns/", {"name": "", "channels": ["myspace"], "timezone": "Mars/Olympus"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation"
    fields = {e["field"] for e in body["errors"]}
    assert {"name", "channels.0"} <= fields


def test_model_validation_error_is_400_not_500(agent):
    response = agent.post("/api/v1/campaigns/", {**DRAFT, "timezone": "Mars/Olympus"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "timezone"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ('{"key": "k1", "action_type": "noop", "payload": {"x": 1e400}}', "payload.x"),
        ('{"key": "k2", "action_type": "noop", "payload": {"x": "\\ud800"}}', "payload.x"),
        ('{"key": "k3", "action_type": "noop", "payload": {"\\udfff": 1}}', "payload"),
        ('{"key": "k4", "action_type": "noop", "payload": {"x": ["ok", -1e999]}}', "payload.x.1"),
        ('{"key": "k6", "action_type": "noop", "payload": {"x": "a\\u0000b"}}', "payload.x"),
    ],
)
def test_a_body_postgresql_cannot_store_is_400_naming_where(agent, body, where):
    """1e400 parses as infinity and \\ud800 as a lone surrogate; jsonb refuses both (was a 500)."""
    from campaigns.models import Action

    response = agent.client.post("/api/v1/actions/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [where]
    assert not Action.objects.exists()
    paired = '{"key": "k5", "action_type": "noop", "payload": {"x": "\\ud83d\\ude00"}}'  # a real pair: fine
    assert agent.client.post("/api/v1/actions/", data=paired, content_type="application/json").status_code == 201


@pytest.mark.parametrize("headers", [{}, {"HTTP_IDEMPOTENCY_KEY": "deep-1"}])
@pytest.mark.parametrize("depth", [150, 5000])
def test_a_body_nested_too_deep_is_400_naming_the_body(agent, headers, depth):
    """At 5,000 levels json.loads raised RecursionError (a 500); 150 is past the limit of 100."""
    from campaigns.models import Action

    body = '{"key": "deep", "action_type": "noop", "payload": {"x": %s}}' % ("[" * depth + "]" * depth)
    response = agent.client.post("/api/v1/actions/", data=body, content_type="application/json", **headers)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["body"]
    assert "nested more than 100 levels" in response.json()["errors"][0]["message"]
    assert not Action.objects.exists()


def test_invalid_transition_is_409_conflict(agent):
    campaign_id = agent.post("/api/v1/campaigns/", {**DRAFT, "strategy": ""}).json()["id"]
    response = agent.post(f"/api/v1/campaigns/{campaign_id}/submit/")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert "strategy" in response.json()["detail"]


def test_unknown_campaign_is_404_problem(agent):
    response = agent.get("/api/v1/campaigns/999999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_throttle_answers_429_with_retry_after_and_headers(db):
    api = make_api(["agent"], rate_per_minute=3)
    first = api.get("/api/v1/campaigns/")
    assert first["RateLimit-Limit"] == "3"
    assert first["RateLimit-Remaining"] == "2"
    api.get("/api/v1/campaigns/")
    api.get("/api/v1/campaigns/")
    response = api.get("/api/v1/campaigns/")
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    # Another token has its own budget.
    assert make_api(["agent"]).get("/api/v1/campaigns/").status_code == 200


def test_same_key_and_body_replays_the_first_response(agent):
    first = agent.post("/api/v1/campaigns/", DRAFT, **{"Idempotency-Key": "k1"})
    again = agent.post("/api/v1/campaigns/", DRAFT, **{"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Campaign.objects.count() == 1


def test_same_key_different_body_is_422(agent):
    agent.post("/api/v1/campaigns/", DRAFT, **{"Idempotency-Key": "k1"})
    response = agent.post("/api/v1/campaigns/", {**DRAFT, "name": "Other"}, **{"Idempotency-Key": "k1"})
    assert response.status_code == 422
    assert response.json()["code"] == "validation"
    assert Campaign.objects.count() == 1


def test_key_in_flight_is_409_with_retry_after(agent):
    IdempotencyRecord.objects.create(
        owner=f"token:{agent.token.pk}",
        key="busy",
        fingerprint="x",
        method="POST",
        path="/api/v1/campaigns/",
        locked_until=timezone.now() + timedelta(seconds=30),
        expires_at=timezone.now() + timedelta(days=1),
    )
    from campaigns.api.idempotency import fingerprint  # noqa: F401  (same fingerprint below)

    IdempotencyRecord.objects.filter(key="busy").update(fingerprint=_fp(agent, DRAFT))
    response = agent.post("/api/v1/campaigns/", DRAFT, **{"Idempotency-Key": "busy"})
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert 1 <= int(response["Retry-After"]) <= 30
    assert not Campaign.objects.exists()


def _fp(api: Api, body: dict) -> str:
    import hashlib
    import json

    raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(b"\n".join([b"POST", b"/api/v1/campaigns/", raw])).hexdigest()


def test_keys_are_per_token(agent):
    other = make_api(["agent"])
    agent.post("/api/v1/campaigns/", DRAFT, **{"Idempotency-Key": "k1"})
    response = other.post("/api/v1/campaigns/", {**DRAFT, "name": "Theirs"}, **{"Idempotency-Key": "k1"})
    assert response.status_code == 201
    assert Campaign.objects.count() == 2


def test_expired_key_runs_again(agent, settings):
    agent.post("/api/v1/campaigns/", DRAFT, **{"Idempotency-Key": "k1"})
    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = agent.post("/api/v1/campaigns/", {**DRAFT, "name": "Later"}, **{"Idempotency-Key": "k1"})
    assert response.status_code == 201
    assert Campaign.objects.count() == 2


def test_error_responses_are_replayed_too(agent):
    first = agent.post("/api/v1/campaigns/", {"name": ""}, **{"Idempotency-Key": "bad"})
    again = agent.post("/api/v1/campaigns/", {"name": ""}, **{"Idempotency-Key": "bad"})
    assert first.status_code == again.status_code == 400
    assert again["Idempotent-Replayed"] == "true"


def test_stale_if_match_is_412(agent):
    created = agent.post("/api/v1/campaigns/", DRAFT)
    etag = created["ETag"]
    assert (
        agent.patch(
            f"/api/v1/campaigns/{created.json()['id']}/", {"description": "v2"}, **{"If-Match": etag}
        ).status_code
        == 200
    )
    response = agent.patch(f"/api/v1/campaigns/{created.json()['id']}/", {"description": "v3"}, **{"If-Match": etag})
    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed"
    assert Campaign.objects.get().description == "v2"


def test_a_crash_forgets_the_key_so_the_retry_runs(agent, monkeypatch):
    from campaigns import services
    from campaigns.api import views

    def boom(**kwargs):
        raise RuntimeError("worker died")

    monkeypatch.setattr(services, "campaign_create", boom)
    agent.client.raise_request_exception = False
    assert agent.post("/api/v1/campaigns/", DRAFT, **{"Idempotency-Key": "k1"}).status_code == 500
    assert not IdempotencyRecord.objects.exists()
    monkeypatch.undo()
    assert views.services.campaign_create is services.campaign_create
    assert agent.post("/api/v1/campaigns/", DRAFT, **{"Idempotency-Key": "k1"}).status_code == 201


def test_stored_answer_and_business_write_commit_together(agent, monkeypatch):
    """A failure while storing the answer rolls the business write back too: the retry finds nothing done."""
    from campaigns.api import idempotency

    def fail(record, response):
        raise RuntimeError("database went away while storing")

    monkeypatch.setattr(idempotency, "finish", fail)
    agent.client.raise_request_exception = False
    assert agent.post("/api/v1/campaigns/", DRAFT, **{"Idempotency-Key": "k1"}).status_code == 500
    assert not Campaign.objects.exists()

from __future__ import annotations

import pytest
from django.utils import timezone

from campaigns.models import Action, Campaign, ControlFlag
from campaigns.services import campaign_submit
from outreach.models import Lead
from publishing.models import Post, PublishTarget
from tests.factories import AccountFactory, CampaignFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(db):
    return AccountFactory(platform="mastodon")


def _draft_post(api, campaign_id: int, account) -> dict:
    response = api.post("/api/v1/posts/", {"campaign": campaign_id, "title": "Launch", "body": "We are live",
                                           "accounts": [account.pk]})  # fmt: skip
    assert response.status_code == 201, response.content
    return response.json()


def test_agent_drafts_and_a_human_approves_then_the_timeline_tells_it(
    agent, human, account, django_capture_on_commit_callbacks
):
    campaign = agent.post(
        "/api/v1/campaigns/", {"name": "Launch", "channels": ["mastodon"], "strategy": "Post."}
    ).json()
    post = _draft_post(agent, campaign["id"], account)
    assert post["status"] == "draft"
    assert agent.post(f"/api/v1/posts/{post['id']}/submit/").json()["status"] == "pending_review"

    refused = agent.post(f"/api/v1/posts/{post['id']}/approve/")
    assert refused.status_code == 403
    assert refused.json()["code"] == "needs_human"
    assert Post.objects.get().status == "pending_review"

    with django_capture_on_commit_callbacks():
        approved = human.post(f"/api/v1/posts/{post['id']}/approve/")
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "scheduled"
    assert Post.objects.get().approved_by == human.token.user

    target = agent.get(f"/api/v1/targets/?post={post['id']}").json()["results"][0]
    assert target["status"] == "scheduled"
    timeline = agent.get(f"/api/v1/targets/{target['id']}/timeline/").json()
    whats = [entry["what"] for entry in timeline]
    assert "status:pending_review" in whats and "status:approved" in whats and "enqueued" in whats
    actors = {entry["actor"] for entry in timeline}
    assert f"api-token:{agent.token.pk}" in actors and f"api-token:{human.token.pk}" in actors


def test_agent_cannot_schedule_unapproved_content(agent, account):
    campaign = CampaignFactory(channels=["mastodon"])
    post = _draft_post(agent, campaign.pk, account)
    response = agent.post(f"/api/v1/posts/{post['id']}/schedule/", {})
    assert response.status_code == 409
    assert PublishTarget.objects.get().status == "pending"


def test_editing_an_approved_post_over_the_api_voids_the_approval(agent, human, account):
    campaign = CampaignFactory(channels=["mastodon"])
    post = _draft_post(agent, campaign.pk, account)
    agent.post(f"/api/v1/posts/{post['id']}/submit/")
    human.post(f"/api/v1/posts/{post['id']}/approve/")
    etag = agent.get(f"/api/v1/posts/{post['id']}/")["ETag"]
    response = agent.patch(f"/api/v1/posts/{post['id']}/", {"body": "changed"}, **{"If-Match": etag})
    assert response.status_code == 200
    assert response.json()["status"] == "pending_review"
    assert agent.patch(f"/api/v1/posts/{post['id']}/", {"body": "again"}, **{"If-Match": etag}).status_code == 412


def test_list_is_cursor_paginated_and_filtered_with_fixed_queries(agent, django_assert_max_num_queries):
    CampaignFactory.create_batch(7)
    running = CampaignFactory(status="running")
    first = agent.get("/api/v1/campaigns/?page_size=3")
    assert len(first.json()["results"]) == 3
    seen = [c["id"] for c in first.json()["results"]]
    page = first.json()
    while page["next"]:
        page = agent.get(page["next"]).json()
        seen += [c["id"] for c in page["results"]]
    assert seen == sorted(Campaign.objects.values_list("id", flat=True), reverse=True)
    assert [c["id"] for c in agent.get("/api/v1/campaigns/?status=running").json()["results"]] == [running.pk]
    # auth + throttle + count-free cursor page: the same number of queries for 3 or 50 rows
    with django_assert_max_num_queries(5) as small:
        agent.get("/api/v1/campaigns/?page_size=3")
    with django_assert_max_num_queries(5) as big:
        agent.get("/api/v1/campaigns/?page_size=50")
    assert len(small.captured_queries) == len(big.captured_queries)


@pytest.mark.parametrize("position", ["p=abc", "o=1&p=x", "r=1&p=zzz"])
def test_a_forged_cursor_is_a_404_naming_the_cursor_not_a_500(agent, position):
    """DRF checks only that a cursor decodes; a position that is not an id must not reach the database."""
    import base64

    CampaignFactory.create_batch(2)
    cursor = base64.b64encode(position.encode()).decode()
    response = agent.get(f"/api/v1/campaigns/?cursor={cursor}")
    assert response.status_code == 404
    assert "cursor" in response.json()["detail"]
    assert agent.get("/api/v1/campaigns/?cursor=!!notbase64").status_code == 404  # DRF's own check


def test_post_and_target_lists_have_fixed_query_counts(agent, account):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    campaign = CampaignFactory(channels=["mastodon"])
    for _ in range(3):
        _draft_post(agent, campaign.pk, account)
    counts: dict[str, set[int]] = {"posts": set(), "targets": set()}
    for size in (1, 3, 50):
        for name in counts:
            with CaptureQueriesContext(connection) as ctx:
                assert len(agent.get(f"/api/v1/{name}/?page_size={size}").json()["results"]) == min(size, 3)
            # token + throttle in one statement (in a savepoint with SET LOCAL here), then the page
            statements = [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
            counts[name].add(len(statements))
    assert counts == {"posts": {2}, "targets": {2}}


def test_actions_enqueue_with_key_read_and_cancel(agent):
    later = (timezone.now() + timezone.timedelta(hours=1)).isoformat()
    first = agent.post("/api/v1/actions/", {"key": "k-1", "action_type": "noop", "not_before": later})
    assert first.status_code == 201, first.content
    again = agent.post("/api/v1/actions/", {"key": "k-1", "action_type": "noop"})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Action.objects.get().idempotency_key == "api:k-1"
    refused = agent.post("/api/v1/actions/", {"key": "k-2", "action_type": "post_social", "payload": {"target_id": 1}})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "action_type"
    bad = agent.post("/api/v1/actions/", {"key": "k-3", "action_type": "fetch_metrics", "payload": {"nope": 1}})
    assert bad.status_code == 400
    cancelled = agent.post(f"/api/v1/actions/{first.json()['id']}/cancel/", {"note": "not needed"})
    assert cancelled.json()["status"] == "cancelled"
    detail = agent.get(f"/api/v1/actions/{first.json()['id']}/").json()
    assert detail["logs"][-1]["actor_label"] == f"api-token:{agent.token.pk}"
    assert agent.get("/api/v1/actions/?status=cancelled").json()["results"][0]["id"] == first.json()["id"]


def test_agent_may_pause_and_kill_but_not_resume_unkill_or_go_live(agent, human, settings):
    settings.PUBLISHING_MODE = "live"
    campaign = CampaignFactory()
    assert agent.post("/api/v1/controls/", {"action": "pause", "campaign": campaign.pk}).json()["paused"] is True
    assert agent.post("/api/v1/controls/", {"action": "kill"}).json()["killed"] is True
    for action in ("resume", "unkill", "live"):
        response = agent.post("/api/v1/controls/", {"action": action, "campaign": campaign.pk})
        assert response.status_code == 403, action
        assert response.json()["code"] == "needs_human"
    assert agent.post("/api/v1/controls/", {"action": "live"}).status_code == 403
    assert not ControlFlag.objects.filter(live=True).exists()
    assert human.post("/api/v1/controls/", {"action": "unkill"}).json()["killed"] is False
    assert human.post("/api/v1/controls/", {"action": "live"}).json()["live"] is True
    flags = {row["scope"]: row for row in agent.get("/api/v1/controls/").json()["results"]}
    assert flags[f"campaign:{campaign.pk}"]["paused"] is True


def test_campaign_review_request_and_audit_read(agent, human):
    campaign = agent.post("/api/v1/campaigns/", {"name": "C", "strategy": "Grow."}).json()
    assert agent.post(f"/api/v1/campaigns/{campaign['id']}/submit/").json()["status"] == "pending_review"
    assert agent.post(f"/api/v1/campaigns/{campaign['id']}/approve/").status_code == 403
    assert human.post(f"/api/v1/campaigns/{campaign['id']}/approve/").json()["status"] == "approved"
    audit = agent.get(f"/api/v1/campaigns/{campaign['id']}/audit/").json()["results"]
    assert [a["action"] for a in audit] == ["status:approved", "status:pending_review", "created"]


def test_reviewer_token_without_permission_cannot_approve(db, agent):
    from tests.api.conftest import make_api
    from tests.factories import UserFactory

    api = make_api(["reviewer"], user=UserFactory(username="nobody"))
    campaign = CampaignFactory()
    campaign_submit(campaign=campaign, actor="test")
    response = api.post(f"/api/v1/campaigns/{campaign.pk}/approve/")
    assert response.status_code == 403
    assert Campaign.objects.get().status == "pending_review"


def test_leads_create_search_consent_export_and_import(agent):
    created = agent.post("/api/v1/leads/", {"email": "Ada@Example.com", "name": "Ada Lovelace", "company": "Engines"})
    assert created.status_code == 201, created.content
    assert agent.post("/api/v1/leads/", {"email": "ada@example.com"}).status_code == 200
    lead_id = created.json()["id"]
    assert [r["id"] for r in agent.get("/api/v1/leads/?q=lovelace").json()["results"]] == [lead_id]
    consent = agent.post(f"/api/v1/leads/{lead_id}/consent/", {"status": "granted", "source": "webinar form"})
    assert consent.json()["consent_status"] == "granted"
    export = agent.get(f"/api/v1/leads/{lead_id}/export/").json()
    assert export["email"] == "ada@example.com"
    report = agent.post("/api/v1/leads/import/", {"csv": "email,name\nbob@example.com,Bob\nnot-an-email,X\n"}).json()
    assert report["created"] == 1 and report["invalid"] == 1
    assert Lead.objects.count() == 2
    assert agent.get("/api/v1/sequences/").status_code == 200
    assert agent.get("/api/v1/enrollments/").status_code == 200


def test_metrics_and_attribution_read(agent):
    campaign = CampaignFactory()
    metrics = agent.get(f"/api/v1/metrics/?campaign={campaign.pk}&start=2026-01-01&end=2026-01-31")
    assert metrics.status_code == 200
    assert metrics.json()["totals"]["sends"] == 0
    assert agent.get("/api/v1/attribution/?start=2026-01-01&end=2026-01-31").json()["rows"] == []
    bad = agent.get(f"/api/v1/metrics/?campaign={campaign.pk}&start=2026-02-01&end=2026-01-01")
    assert bad.status_code == 400
    # The first days of the calendar: a given start is used as is; no start is a 400 on end (was an OverflowError)
    early = agent.get(f"/api/v1/metrics/?campaign={campaign.pk}&start=0001-01-01&end=0001-01-02")
    assert early.status_code == 200
    early = agent.get("/api/v1/attribution/?end=0001-01-05")
    assert early.status_code == 400 and [e["field"] for e in early.json()["errors"]] == ["end"]


def test_health_reads_like_the_health_page(agent):
    body = agent.get("/api/v1/health/").json()
    assert body["database"] == "ok"
    assert body["flags"]["publishing_mode"] == "proof"

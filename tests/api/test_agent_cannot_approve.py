"""Walk EVERY operation of the schema with an agent token and try the most dangerous bodies: none may
approve, publish unapproved content or switch to LIVE."""

from __future__ import annotations

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from campaigns.models import Action, Campaign, ControlFlag
from campaigns.services import campaign_submit
from publishing.models import Post, PublishTarget
from publishing.services import post_create, post_submit
from tests.factories import AccountFactory, CampaignFactory

pytestmark = pytest.mark.django_db
DANGEROUS_BODIES = [
    {},
    {"reason": "because", "note": "n", "scheduled_at": None},
    *[{"action": a} for a in ("live", "resume", "unkill", "pause", "kill", "proof")],
    {"key": "walk-1", "action_type": "post_social", "payload": {"target_id": 1}},
    {"key": "walk-2", "action_type": "reconcile_publish", "payload": {"target_id": 1}},
    {"status": "approved", "approved_sha256": "x", "mode": "live"},
]


def test_no_endpoint_lets_an_agent_approve_publish_or_go_live(agent, settings):
    settings.PUBLISHING_MODE = "live"  # so that LIVE would be reachable if anything allowed it
    campaign = CampaignFactory(channels=["mastodon"])
    campaign_submit(campaign=campaign, actor="test")
    post = post_create(campaign=campaign, author=None, title="t", body="b", accounts=[AccountFactory()])
    post_submit(post=post, actor="test")
    target = post.targets.get()

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    tried = approvals = 0
    for path, operations in paths.items():
        for method in ("get", "post", "patch", "delete"):
            if method not in operations:
                continue
            url = re.sub(r"\{id\}", str(target.pk if "/targets/" in path else post.pk if "/posts/" in path
                                         else campaign.pk), path)  # fmt: skip
            for body in DANGEROUS_BODIES if method != "get" else [None]:
                for campaign_field in (None, campaign.pk):
                    payload = (
                        None if body is None else {**body, **({"campaign": campaign_field} if campaign_field else {})}
                    )
                    response = getattr(agent.client, method)(url, payload, format="json") if payload is not None \
                        else agent.client.get(url)  # fmt: skip
                    tried += 1
                    assert response.status_code < 500, (method, url, payload, response.content)
                    if url.endswith(("/approve/", "/reject/", "/start/", "/resume/")):
                        approvals += 1
                        assert response.status_code == 403, (url, response.content)
                        assert response.json()["code"] == "needs_human"
    assert tried > 100 and approvals >= 6
    assert Post.objects.get().status == "pending_review" and not Post.objects.get().approved_sha256
    assert not PublishTarget.objects.exclude(status="pending").exists()
    assert not Campaign.objects.filter(status__in=["approved", "running"]).exists()
    assert not Campaign.objects.filter(mode="live").exists()
    assert not ControlFlag.objects.filter(live=True).exists()
    assert not Action.objects.filter(action_type__in=["post_social", "reconcile_publish"]).exists()

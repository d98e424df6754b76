"""The lists read with values() must render exactly what their OutputSerializer renders."""

from __future__ import annotations

import json

import pytest
from rest_framework.renderers import JSONRenderer

from campaigns.actions import action_enqueue
from campaigns.api import serializers as cs
from campaigns.models import Action, Campaign
from outreach.api import serializers as os_
from outreach.models import Lead
from outreach.services import lead_upsert
from publishing.api import serializers as ps
from publishing.models import Post, PublishTarget, SocialAccount
from publishing.services import post_create
from tests.factories import AccountFactory, CampaignFactory

pytestmark = pytest.mark.django_db


def _json(data) -> object:
    return json.loads(JSONRenderer().render(data))


@pytest.mark.parametrize(
    ("url", "serializer", "model"),
    [
        ("/api/v1/campaigns/", cs.CampaignOutput, Campaign),
        ("/api/v1/actions/", cs.ActionOutput, Action),
        ("/api/v1/posts/", ps.PostOutput, Post),
        ("/api/v1/targets/", ps.TargetOutput, PublishTarget),
        ("/api/v1/accounts/", ps.AccountOutput, SocialAccount),
        ("/api/v1/leads/", os_.LeadOutput, Lead),
    ],
)
def test_fast_list_renders_like_the_serializer(agent, url, serializer, model):
    campaign = CampaignFactory(channels=["mastodon"], kpi_targets={"leads": 10}, target_mrr="1234.50")
    post_create(campaign=campaign, author=None, title="t", body="b", accounts=[AccountFactory()],
                link_url="https://example.com/x", media_urls=["https://example.com/i.png"])  # fmt: skip
    action_enqueue(key="k", action_type="noop", campaign=campaign, payload={"a": 1})
    lead_upsert(actor="test", campaign=campaign, email="ada@example.com", tags=["x"], phone="+493012345678")
    listed = agent.get(url).json()["results"]
    expected = [_json(serializer(obj).data) for obj in model.objects.order_by("-id")]
    assert listed == expected


@pytest.mark.parametrize("mrr", [None, "1234.5", 7])
def test_fast_single_object_renders_like_the_serializer(mrr):
    """As the create view uses it: the instance the service just saved, not read back."""
    from campaigns.api.base import fast_one
    from campaigns.services import campaign_create

    extra = {} if mrr is None else {"target_mrr": mrr}
    campaign = campaign_create(actor="t", name=f"c{mrr}", channels=["email"], kpi_targets={"leads": 1}, **extra)
    fresh = Campaign.objects.get(pk=campaign.pk)
    assert _json(fast_one(cs.CampaignOutput, campaign)) == _json(cs.CampaignOutput(fresh).data)

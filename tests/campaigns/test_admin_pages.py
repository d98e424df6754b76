from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.actions import action_enqueue
from campaigns.audit import audit_trail
from campaigns.dispatcher import Dispatcher
from campaigns.models import Action, Campaign, ControlFlag
from publishing import services
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_superuser=True))
    return client


def test_index_shows_queue_counts_and_mode(admin_client):
    action_enqueue(key="a", action_type="noop", wake=False)
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert 'id="queue-summary"' in page
    assert "?status__exact=pending" in page and "PROOF" in page


def test_queue_filters_by_age_with_few_queries(admin_client, django_assert_max_num_queries):
    old, _ = action_enqueue(key="old", action_type="noop", wake=False)
    action_enqueue(key="new", action_type="noop", wake=False)
    Action.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    with django_assert_max_num_queries(12):
        page = admin_client.get(reverse("admin:campaigns_action_changelist"), {"age": "1d"}).content.decode()
    assert ">old<" in page and ">new<" not in page
    assert "pending: 2" in page


def test_dead_letter_retry_from_the_admin(admin_client, settings):
    settings.ACTION_TYPES = {**settings.ACTION_TYPES, "boom": {"handler": "tests.campaigns.handlers.boom"}}
    action, _ = action_enqueue(key="b", action_type="boom", max_attempts=1, wake=False)
    Dispatcher(worker_id="t").drain()
    action.refresh_from_db()
    assert action.status == "dead_letter"
    admin_client.post(
        reverse("admin:campaigns_action_changelist"), {"action": "retry", "_selected_action": [action.pk]}
    )
    action.refresh_from_db()
    assert action.status == "pending"
    assert action.logs.last().actor_label == "root"


def test_campaign_flag_actions_are_audited(admin_client, running_campaign):
    url = reverse("admin:campaigns_campaign_changelist")
    admin_client.post(url, {"action": "flag_pause", "_selected_action": [running_campaign.pk]})
    assert ControlFlag.objects.get(campaign=running_campaign).paused
    response = admin_client.post(url, {"action": "switch_live", "_selected_action": [running_campaign.pk]}, follow=True)
    assert "PUBLISHING_MODE=proof" in response.content.decode()  # refused, named
    assert Campaign.objects.get(pk=running_campaign.pk).mode == "proof"


def test_invalid_transition_in_admin_is_a_message_not_a_500(admin_client):
    campaign = Campaign.objects.create(name="D", slug="d")
    response = admin_client.post(reverse("admin:campaigns_campaign_changelist"),
                                 {"action": "start", "_selected_action": [campaign.pk]}, follow=True)  # fmt: skip
    assert response.status_code == 200
    assert "not started: campaign" in response.content.decode()


def test_target_page_shows_the_timeline(admin_client, running_campaign, author, reviewer_user):
    post = services.post_create(campaign=running_campaign, author=author, title="t", body="hello",
                                accounts=[AccountFactory()])  # fmt: skip
    services.post_submit(post=post, actor=author)
    services.post_approve(post=post, actor=reviewer_user)
    Dispatcher(worker_id="t").drain()
    target = post.targets.get()
    page = admin_client.get(reverse("admin:publishing_publishtarget_change", args=[target.pk])).content.decode()
    for needle in ("status:approved", "enqueued", "status:publishing", "attempt 1: succeeded", "status:published"):
        assert needle in page, needle


def test_campaign_add_form_creates_through_the_service_and_names_bad_fields(admin_client):
    url = reverse("admin:campaigns_campaign_add")
    form = {
        "name": "Winter", "slug": "winter", "channels": '["email", "x"]', "timezone": "Mars/Base",
        "target_clients": 0, "target_mrr": 0, "max_emails_per_day": 50, "max_outreach_per_day": 100,
        "objective": "leads", "kpi_targets": "{}", "channel_configs-TOTAL_FORMS": "0",
        "channel_configs-INITIAL_FORMS": "0", "channel_configs-MIN_NUM_FORMS": "0", "channel_configs-MAX_NUM_FORMS": "10",
    }  # fmt: skip
    page = admin_client.post(url, form)
    assert page.status_code == 200 and "not an IANA time zone name" in page.content.decode()
    assert not Campaign.objects.filter(name="Winter").exists()
    response = admin_client.post(url, {**form, "timezone": "Europe/Paris"})
    assert response.status_code == 302
    campaign = Campaign.objects.get(name="Winter")
    assert (campaign.status, campaign.mode, campaign.timezone) == ("draft", "proof", "Europe/Paris")
    assert campaign.channels == ["email", "x"]
    assert audit_trail(campaign).filter(action="created", actor_label="root").exists()

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from django.core.exceptions import ValidationError
from werkzeug import Response

from campaigns.dispatcher import Dispatcher
from campaigns.models import Action, WebhookAttempt, WebhookDelivery, WebhookSubscription
from campaigns.services import campaign_submit
from campaigns.webhooks_out import subscription_save, webhook_scan
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def loopback_ok(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True


def _subscribe(url: str, event_types=None) -> tuple[WebhookSubscription, str]:
    sub = WebhookSubscription(name="agent", url=url, event_types=event_types or [])
    return sub, subscription_save(subscription=sub, actor="test")


def verify_standard_webhook(secret: str, headers, body: bytes) -> bool:
    """The receiver's side, written from the Standard Webhooks spec (not from our sign())."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(sig.split(",", 1) == ["v1", expected] for sig in headers["webhook-signature"].split(" "))


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://169.254.169.254/latest/meta-data", "http://[::1]/x",
     "http://192.168.0.10/", "ftp://example.com/", "http://user:pw@8.8.8.8/"],
)  # fmt: skip
def test_private_loopback_and_link_local_destinations_are_refused(url):
    with pytest.raises(ValidationError) as info:
        _subscribe(url)
    assert "url" in info.value.message_dict
    assert not WebhookSubscription.objects.exists()


def test_loopback_is_allowed_only_with_the_setting(httpserver, loopback_ok):
    sub, secret = _subscribe(httpserver.url_for("/hook"))
    assert secret.startswith("whsec_") and sub.pk


def test_transition_is_delivered_signed_once(httpserver, loopback_ok):
    _sub, secret = _subscribe(httpserver.url_for("/hook"), ["campaign.status.*"])
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
    campaign = CampaignFactory()
    campaign_submit(campaign=campaign, actor="api-token:7")
    webhook_scan()
    webhook_scan()  # a re-read of the window adds nothing
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "campaign.status.pending_review"
    Dispatcher(worker_id="t").drain()
    ((request, _),) = httpserver.log
    body = request.get_data()
    assert verify_standard_webhook(secret, request.headers, body)
    assert request.headers["webhook-id"] == delivery.message_id
    event = json.loads(body)
    assert event["type"] == "campaign.status.pending_review"
    assert event["data"] == {**event["data"], "object_id": str(campaign.pk), "old": "draft", "new": "pending_review",
                             "actor": "api-token:7"}  # fmt: skip
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 1
    assert Action.objects.get(idempotency_key=f"deliver_webhook:{delivery.pk}").status == "succeeded"


def test_a_failing_subscriber_is_retried_with_backoff_and_each_attempt_logged(httpserver, loopback_ok):
    _sub, _secret = _subscribe(httpserver.url_for("/hook"))
    httpserver.expect_ordered_request("/hook").respond_with_response(Response("down", status=503))
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    campaign_submit(campaign=CampaignFactory(), actor="test")
    webhook_scan()
    Dispatcher(worker_id="t").drain()
    action = Action.objects.get(action_type="deliver_webhook")
    assert action.status == "retry_wait" and action.not_before > action.created_at
    Action.objects.filter(pk=action.pk).update(not_before=action.created_at)  # the backoff has passed
    Dispatcher(worker_id="t").drain()
    attempts = list(WebhookAttempt.objects.values_list("attempt", "status_code"))
    assert attempts == [(1, 503), (2, 200)]
    first, second = (r for r, _ in httpserver.log)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # the same message, so receivers dedupe
    assert WebhookDelivery.objects.get().status == "delivered"


def test_event_types_filter_and_no_history_before_the_subscription(httpserver, loopback_ok):
    campaign_submit(campaign=CampaignFactory(), actor="test")  # before anyone subscribed
    _subscribe(httpserver.url_for("/hook"), ["publishtarget.*"])
    webhook_scan()
    campaign_submit(campaign=CampaignFactory(), actor="test")
    webhook_scan()
    assert not WebhookDelivery.objects.exists()


def test_a_destination_that_turns_private_fails_permanently(httpserver, loopback_ok, settings):
    _subscribe(httpserver.url_for("/hook"))
    campaign_submit(campaign=CampaignFactory(), actor="test")
    webhook_scan()
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    Dispatcher(worker_id="t").drain()
    assert Action.objects.get(action_type="deliver_webhook").status == "failed"
    assert WebhookDelivery.objects.get().status == "failed"
    assert not httpserver.log


def test_webhook_api_returns_the_secret_once_and_lists_deliveries(agent, httpserver, loopback_ok):
    created = agent.post("/api/v1/webhooks/", {"name": "me", "url": httpserver.url_for("/h")})
    assert created.status_code == 201, created.content
    assert created.json()["secret"].startswith("whsec_")
    sub_id = created.json()["id"]
    assert "secret" not in agent.get(f"/api/v1/webhooks/{sub_id}/").json()
    refused = agent.post("/api/v1/webhooks/", {"name": "x", "url": "http://169.254.169.254/"})
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "url"
    assert agent.get(f"/api/v1/webhooks/{sub_id}/deliveries/").json()["results"] == []
    assert agent.delete(f"/api/v1/webhooks/{sub_id}/").status_code == 204
    assert WebhookSubscription.objects.get().is_active is False

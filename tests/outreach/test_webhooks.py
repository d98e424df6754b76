from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from email.message import EmailMessage

import pytest
from django.core import mail
from django.utils import timezone

from campaigns.dispatcher import Dispatcher
from campaigns.models import Action, Event
from outreach.models import Enrollment, EspEvent, Lead, Reply, Suppression
from outreach.replies import InboundReply, classify_rules, return_date

pytestmark = pytest.mark.django_db
KEY = "mailgun-signing-key"
AUTH = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"hook:secret").decode()}


@pytest.fixture(autouse=True)
def anymail_settings(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:secret", "MAILGUN_WEBHOOK_SIGNING_KEY": KEY}


def _signature(token: str) -> dict:
    ts = str(int(time.time()))
    sig = hmac.new(KEY.encode(), f"{ts}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": ts, "token": token, "signature": sig}


def _tracking(client, event: str, token: str, *, message_id: str, recipient: str, bad=False, **extra):
    sig = _signature(token)
    if bad:
        sig["signature"] = "0" * 64
    body = {"signature": sig, "event-data": {"event": event, "id": "ev-" + token, "timestamp": time.time(),
            "recipient": recipient, "message": {"headers": {"message-id": message_id}}, **extra}}  # fmt: skip
    return client.post("/anymail/mailgun/tracking/", data=json.dumps(body), content_type="application/json", **AUTH)


def test_opened_event_is_stored_once_and_becomes_a_touch_event(client, sent):
    for _ in range(2):  # the ESP retries: same token
        response = _tracking(client, "opened", "tok-1", message_id="abc.123@brand.example", recipient="ada@example.com")
        assert response.status_code == 200
    assert EspEvent.objects.count() == 1
    assert Action.objects.filter(action_type="process_esp_event").count() == 1
    Dispatcher(worker_id="t").drain()
    (event,) = Event.objects.filter(kind="email_opened")
    assert (event.lead_id, event.campaign_id, event.source) == (sent["lead"].pk, sent["campaign"].pk, "anymail:mailgun")
    assert EspEvent.objects.get().processed_at is not None


def test_bad_signature_stores_nothing(client, sent):
    response = _tracking(client, "opened", "tok-2", message_id="x", recipient="ada@example.com", bad=True)
    assert response.status_code == 400
    assert not EspEvent.objects.exists() and not Action.objects.filter(action_type="process_esp_event").exists()


def test_missing_basic_auth_stores_nothing(client, sent):
    body = {"signature": _signature("tok-3"), "event-data": {"event": "opened", "recipient": "a@b.c"}}
    response = client.post("/anymail/mailgun/tracking/", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert not EspEvent.objects.exists()


def test_hard_bounce_suppresses_and_stops_the_sequence(client, sent):
    _tracking(client, "failed", "tok-4", message_id="abc.123@brand.example", recipient="ada@example.com",
              severity="permanent", reason="bounce")  # fmt: skip
    Dispatcher(worker_id="t").drain()
    lead = Lead.objects.get(pk=sent["lead"].pk)
    assert lead.status == "bounced"
    assert Suppression.objects.filter(kind="email", value="ada@example.com", reason="hard_bounce").exists()
    assert Enrollment.objects.get().status == "stopped"
    assert Event.objects.filter(kind="email_bounced", lead_id=lead.pk).count() == 1


def test_temporary_failure_suppresses_nothing(client, sent):
    _tracking(client, "failed", "tok-5", message_id="abc.123@brand.example", recipient="ada@example.com",
              severity="temporary")  # fmt: skip
    Dispatcher(worker_id="t").drain()
    assert not Suppression.objects.exists()
    assert Lead.objects.get(pk=sent["lead"].pk).status == "new"


def test_complaint_suppresses_everywhere(client, sent):
    _tracking(client, "complained", "tok-6", message_id="abc.123@brand.example", recipient="ada@example.com")
    Dispatcher(worker_id="t").drain()
    assert Lead.objects.get(pk=sent["lead"].pk).status == "suppressed"
    assert Suppression.objects.filter(reason="complaint", kind="identity").exists()


def _inbound(client, *, text: str, subject="Re: Hi Ada", in_reply_to="<abc.123@brand.example>",
             sender="Ada <ADA@example.com>", token="in-1", headers=None):  # fmt: skip
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "sales@brand.example", subject
    msg["Message-ID"] = f"<reply-{token}@example.com>"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    for k, v in (headers or {}).items():
        msg[k] = v
    msg.set_content(text)
    data = {"body-mime": msg.as_string(), **_signature(token)}
    return client.post("/anymail/mailgun/inbound/", data=data, **AUTH)


def test_positive_reply_matched_by_message_id_stops_sequence_and_alerts_owner(
    client, sent, django_capture_on_commit_callbacks
):
    assert _inbound(client, text="Sounds good, let's talk next week.").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        Dispatcher(worker_id="t").drain()
    reply = Reply.objects.get()
    assert (reply.label, reply.matched_by, reply.lead_id, reply.attempt_id) == (
        "positive",
        "message_id",
        sent["lead"].pk,
        sent["attempt"].pk,
    )
    assert Lead.objects.get(pk=sent["lead"].pk).status == "replied"
    assert Enrollment.objects.get().status == "stopped"
    assert Event.objects.filter(kind="reply", lead_id=sent["lead"].pk).count() == 1
    assert [m.to for m in mail.outbox] == [[sent["campaign"].owner.email]]
    assert "Positive reply" in mail.outbox[0].subject


def test_reply_without_thread_headers_is_matched_by_address(client, sent):
    _inbound(client, text="Who is this?", in_reply_to="", token="in-2")
    Dispatcher(worker_id="t").drain()
    reply = Reply.objects.get()
    assert (reply.matched_by, reply.label, reply.lead_id) == ("address", "neutral", sent["lead"].pk)


def test_out_of_office_reschedules_instead_of_stopping(client, sent):
    back = (timezone.now() + timezone.timedelta(days=20)).date()
    _inbound(client, text=f"I am out of the office until {back.isoformat()}.", subject="Out of office", token="in-3")
    Dispatcher(worker_id="t").drain()
    enrollment = Enrollment.objects.get()
    assert enrollment.status == "active"
    assert enrollment.next_due_at.date() >= back
    assert Lead.objects.get(pk=sent["lead"].pk).status == "new"


def test_unsubscribe_reply_suppresses(client, sent):
    _inbound(client, text="Please remove me from your list.", token="in-4")
    Dispatcher(worker_id="t").drain()
    assert Lead.objects.get(pk=sent["lead"].pk).status == "unsubscribed"
    assert Suppression.objects.filter(kind="email", value="ada@example.com").exists()


@pytest.mark.parametrize(
    ("text", "subject", "headers", "label"),
    [
        ("Yes, interested. Book a call?", "Re: hi", {}, "positive"),
        ("Not interested, thanks.", "Re: hi", {}, "negative"),
        ("I'm on vacation until December 3.", "Re: hi", {}, "out_of_office"),
        ("Thanks for your message, we will get back to you.", "Automatic reply: hi", {}, "auto_reply"),
        ("ticket received", "Re: hi", {"Auto-Submitted": "auto-replied"}, "auto_reply"),
        ("Please unsubscribe me", "Re: hi", {}, "unsubscribe"),
        ("The message could not be delivered", "Undeliverable: hi", {}, "bounce"),
        ("Who are you?", "Re: hi", {}, "neutral"),
    ],
)
def test_rules_classifier(text, subject, headers, label):
    assert classify_rules(InboundReply(from_email="x@y.z", subject=subject, text=text, headers=headers)) == label


def test_return_date_forms():
    from datetime import date

    today = date(2026, 11, 25)
    assert return_date("back on 2026-12-03", today=today) == date(2026, 12, 3)
    assert return_date("abwesend bis 03.12.2026", today=today) == date(2026, 12, 3)
    assert return_date("away until January 5", today=today) == date(2027, 1, 5)
    assert return_date("I am away", today=today) is None


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"signature": {}}', b""])
def test_garbage_is_a_400_and_stores_nothing(client, body):
    response = client.post("/anymail/mailgun/tracking/", data=body, content_type="application/json", **AUTH)
    assert 400 <= response.status_code < 500
    assert not EspEvent.objects.exists()


def test_a_signed_event_with_nul_or_a_lone_surrogate_is_stored_with_them_replaced(client, sent):
    """What the ESP sent is kept (a 500 would make it retry forever), minus what jsonb cannot hold."""
    response = _tracking(client, "opened", "tok-nul", message_id="abc.123@brand.example",
                         recipient="ada@example.com", tags=["a\x00b", "\ud800"], **{"user-variables": {"k\x00": 1}})  # fmt: skip
    assert response.status_code == 200
    stored = EspEvent.objects.get()
    assert stored.payload["tags"] == ["a\ufffdb", "\ufffd"]
    assert "k\ufffd" in json.dumps(stored.payload, ensure_ascii=False)


def test_a_signed_body_nested_too_deep_is_a_400_and_stores_nothing(client, sent):
    """json.loads inside anymail raised RecursionError: a 500, which the ESP retries forever."""
    body = json.dumps({"signature": _signature("tok-deep"), "event-data": {"event": "opened", "id": "ev-deep",
                       "timestamp": time.time(), "recipient": "ada@example.com", "tags": "TAGS"}})  # fmt: skip
    body = body.replace('"TAGS"', "[" * 5000 + "]" * 5000)
    response = client.post("/anymail/mailgun/tracking/", data=body, content_type="application/json", **AUTH)
    assert response.status_code == 400
    assert b"nested more than 100 levels" in response.content
    assert not EspEvent.objects.exists()


def test_an_overflowing_timestamp_is_a_400_and_stores_nothing(client, sent):
    response = _tracking(client, "opened", "tok-big", message_id="x", recipient="ada@example.com", timestamp=1e20)
    assert response.status_code == 400
    assert not EspEvent.objects.exists()


def test_the_url_of_an_esp_not_configured_here_is_a_404(client, db):
    assert client.post("/anymail/postal/tracking/", data="{}", content_type="application/json").status_code == 404
    assert not EspEvent.objects.exists()


def test_an_attempt_id_in_esp_metadata_that_is_not_an_id_matches_nothing(client, sent):
    """The ESP echoes our metadata, but the payload is theirs: '²' passes isdigit() and failed int()."""
    response = _tracking(client, "opened", "tok-sup", message_id="unknown@elsewhere", recipient="nobody@example.com",
                         **{"user-variables": {"attempt_id": "²"}})  # fmt: skip
    assert response.status_code == 200
    Dispatcher(worker_id="t").drain()
    assert not Action.objects.filter(action_type="process_esp_event").exclude(status="succeeded").exists()
    assert Event.objects.get(kind="email_opened").lead_id is None

"""Group send: a claimed batch of send_email actions over one SMTP session, with the single send's rules."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from campaigns.dispatcher import Dispatcher
from campaigns.models import Action, AuditEntry, ChannelConfig, Event
from outreach import handlers
from outreach.models import Enrollment, Lead, SendAttempt
from outreach.sequences import enrollment_create
from outreach.services import lead_upsert, suppression_add
from tests.publishing.adapters.test_email import Sink, free_port

from .test_sending import _tick

pytestmark = pytest.mark.django_db


class CountingSink(Sink):
    """The test adapter's sink, also counting SMTP sessions (one EHLO each) and refusing chosen addresses."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0
        self.refuse: dict[str, str] = {}

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


@pytest.fixture
def smtp(live, settings):
    handler = CountingSink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", controller.port, 2.0
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield handler
    controller.stop()


@pytest.fixture
def enrolled(outreach_setup):
    ChannelConfig.objects.create(campaign=outreach_setup["campaign"], channel="email", daily_cap=100, hourly_cap=100,
                                 per_lead_limit=5, cooldown_hours=0, warmup_start=0)  # fmt: skip
    leads = []
    for n in range(6):
        lead = lead_upsert(actor="t", email=f"lead{n}@example.org", name=f"Lead {n}", company="Engines")[0]
        enrollment_create(lead=lead, sequence=outreach_setup["sequence"], actor="t")
        leads.append(lead)
    assert _tick(outreach_setup["campaign"]) == 6
    return leads


def _actions():
    return {a.payload["lead_id"]: a for a in Action.objects.filter(action_type="send_email")}


def test_a_group_goes_out_over_one_session_with_every_row_the_single_send_writes(smtp, enrolled):
    Dispatcher(worker_id="t").drain()

    assert len(smtp.messages) == 6 and smtp.sessions == 1
    assert len({m["Message-ID"] for m in smtp.messages}) == 6
    assert all(m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in smtp.messages)
    actions = _actions()
    for lead in enrolled:
        action = actions[lead.pk]
        assert action.status == "succeeded" and action.result["mode"] == "live"
        attempt = SendAttempt.objects.get(lead=lead)
        assert attempt.status == "sent" and f"<{attempt.message_id}>" in {m["Message-ID"] for m in smtp.messages}
        assert attempt.idempotency_key == f"{action.idempotency_key}:1"
        trail = AuditEntry.objects.filter(object_id=str(attempt.pk), action="status:sent")
        assert [e.actor_label for e in trail] == [f"action:{action.pk}"]
        assert Lead.objects.get(pk=lead.pk).status == "contacted"
        assert AuditEntry.objects.filter(object_id=str(lead.pk), action="status:contacted",
                                         note="step 1 sent").count() == 1  # fmt: skip
    assert set(Enrollment.objects.values_list("status", flat=True)) == {"completed"}  # one-step sequence
    assert Event.objects.filter(kind="email_sent").count() == 6
    Dispatcher(worker_id="t").drain()
    assert len(smtp.messages) == 6  # nothing twice


def test_a_sender_name_with_a_comma_goes_out_quoted(smtp, outreach_setup, enrolled):
    # Unquoted, "Acme, Inc. <sales@…>" reads as two addresses: Django refused every message of the mailbox.
    outreach_setup["mailbox"].from_name = 'Acme, Inc. "Sales"'
    outreach_setup["mailbox"].save()
    Dispatcher(worker_id="t").drain()

    assert len(smtp.messages) == 6
    assert {m["From"].addresses[0].display_name for m in smtp.messages} == {'Acme, Inc. "Sales"'}
    assert {m["From"].addresses[0].addr_spec for m in smtp.messages} == {"sales@brand.example"}
    assert set(SendAttempt.objects.values_list("status", flat=True)) == {"sent"}


def test_a_two_step_sequence_moves_each_lead_to_its_next_step(smtp, outreach_setup, enrolled):
    from outreach.models import SequenceStep

    SequenceStep.objects.create(sequence=outreach_setup["sequence"], position=2, wait_hours=48,
                                template=outreach_setup["template"])  # fmt: skip
    Dispatcher(worker_id="t").drain()
    for enrollment in Enrollment.objects.all():
        assert (enrollment.status, enrollment.next_position) == ("active", 2)
        assert enrollment.next_due_at > timezone.now() + timezone.timedelta(hours=47)
        assert AuditEntry.objects.filter(object_id=str(enrollment.pk), action="advanced", new="2").count() == 1


def test_caps_inside_a_group_are_counted_as_if_sent_one_by_one(smtp, outreach_setup, enrolled):
    ChannelConfig.objects.filter(campaign=outreach_setup["campaign"]).update(hourly_cap=4)
    Dispatcher(worker_id="t").drain()
    assert len(smtp.messages) == 4
    released = [a for a in _actions().values() if a.status == "retry_wait"]
    assert len(released) == 2
    assert all("hourly email cap reached (4/4)" in a.last_error for a in released)


def test_a_suppressed_lead_is_refused_and_the_rest_of_the_group_goes(smtp, enrolled):
    suppression_add(kind="email", value="lead2@example.org", reason="manual", actor="t")
    Dispatcher(worker_id="t").drain()
    assert len(smtp.messages) == 5
    assert "lead2@example.org" not in {m["To"] for m in smtp.messages}
    action = _actions()[enrolled[2].pk]
    assert action.status == "failed" and "suppressed (email lead2@example.org" in action.last_error
    assert Enrollment.objects.get(lead=enrolled[2]).status == "stopped"


def test_refusals_by_the_server_are_classified_per_message(smtp, enrolled):
    smtp.refuse = {"lead1@example.org": "550 5.1.1 no such user", "lead3@example.org": "451 4.3.0 try later"}
    Dispatcher(worker_id="t").drain()
    assert len(smtp.messages) == 4
    assert smtp.sessions == 3  # reopened after each refusal
    actions = _actions()
    assert actions[enrolled[1].pk].status == "failed"
    assert SendAttempt.objects.get(lead=enrolled[1]).error_class == "permanent"
    assert actions[enrolled[3].pk].status == "retry_wait"
    assert SendAttempt.objects.get(lead=enrolled[3]).error_class == "retry_after"
    assert {actions[enrolled[n].pk].status for n in (0, 2, 4, 5)} == {"succeeded"}


def test_an_unexpected_error_mid_group_never_resends_what_may_have_left(smtp, enrolled, monkeypatch):
    real, calls = handlers.deliver, []

    def deliver(**kw):
        calls.append(kw)
        if len(calls) == 3:
            raise RuntimeError("bug in the middle of a send")
        return real(**kw)

    monkeypatch.setattr(handlers, "deliver", deliver)
    Dispatcher(worker_id="t").drain()
    statuses = dict(SendAttempt.objects.values_list("lead_id", "status"))
    assert [statuses[lead.pk] for lead in enrolled] == ["sent", "sent", "needs_reconcile", "failed", "failed",
                                                        "failed"]  # fmt: skip
    assert len(smtp.messages) == 2
    monkeypatch.setattr(handlers, "deliver", real)
    Action.objects.filter(status="retry_wait").update(not_before=timezone.now())
    Dispatcher(worker_id="t").drain()
    assert len(smtp.messages) == 5  # the three never handed over went out; the unknown one waits for a human
    assert _actions()[enrolled[2].pk].status == "failed"
    assert SendAttempt.objects.filter(lead=enrolled[2]).get().status == "needs_reconcile"

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns import services as campaign_services
from campaigns.dispatcher import Dispatcher
from campaigns.models import Action, AuditEntry, ChannelConfig, Event
from outreach.gate import contact_gate
from outreach.models import Enrollment, Lead, Mailbox, SendAttempt, Sequence, SequenceStep
from outreach.producers import due_steps
from outreach.sequences import (
    enrollment_create,
    next_send_time,
    template_create,
    template_preview,
    template_update,
)
from outreach.services import lead_upsert, suppression_add

pytestmark = pytest.mark.django_db


def _lead(email="ada@example.com", **kw):
    kw.setdefault("name", "Ada Lovelace")
    kw.setdefault("company", "Engines")
    return lead_upsert(actor="t", email=email, **kw)[0]


def _tick(campaign):
    parent = Action.objects.create(idempotency_key=f"tick-{timezone.now().timestamp()}", action_type="noop",
                                   status="succeeded")  # fmt: skip
    return due_steps(campaign=campaign, now=timezone.now(), parent=parent)


def test_unknown_placeholder_is_refused_on_save(running_campaign):
    with pytest.raises(ValidationError) as exc:
        template_create(campaign=running_campaign, actor="t", name="bad", subject="Hi {{ frist_name }}",
                        body_text="x")  # fmt: skip
    assert "subject" in exc.value.message_dict and "frist_name" in str(exc.value)


def test_preview_renders_for_a_sample_lead_and_names_missing_values(outreach_setup):
    template = outreach_setup["template"]
    rendered = template_preview(template=template, lead=_lead())
    assert rendered.subject == "Hi Ada" and "Ada at Engines" in rendered.text
    assert "no value for company" in template_preview(template=template, lead=_lead("b@example.com", company=""))


def test_editing_an_approved_template_voids_its_approval(outreach_setup):
    template = outreach_setup["template"]
    template_update(template=template, actor="t", body_text="Changed {{ first_name }}")
    template.refresh_from_db()
    assert template.status == "pending_review" and template.approved_sha256 == ""


def test_due_time_is_in_the_leads_timezone_inside_the_window(running_campaign):
    seq = Sequence(campaign=running_campaign, name="s", send_days=[0, 1, 2, 3, 4], window_start=time(9),
                   window_end=time(17))  # fmt: skip
    import zoneinfo

    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    # Friday 2026-11-27 20:00 UTC = Saturday 05:00 in Tokyo → Monday 09:00 Tokyo = Monday 00:00 UTC.
    due = next_send_time(after=datetime(2026, 11, 27, 20, 0, tzinfo=UTC), tz=tokyo, sequence=seq)
    assert due == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    # Inside the window: unchanged.
    inside = datetime(2026, 11, 25, 1, 30, tzinfo=UTC)  # Wed 10:30 Tokyo
    assert next_send_time(after=inside, tz=tokyo, sequence=seq) == inside


def test_send_path_sends_once_with_one_click_unsubscribe_headers(outreach_setup, live):
    lead = _lead()
    enrollment_create(lead=lead, sequence=outreach_setup["sequence"], actor="t")
    assert _tick(live) == 1
    assert _tick(live) == 0  # same key: nothing new
    Dispatcher(worker_id="t").drain()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.com"] and message.subject == "Hi Ada"
    unsub = message.extra_headers["List-Unsubscribe"]
    assert unsub.startswith("<https://") and "/u/" in unsub and "<mailto:unsubscribe@brand.example?" in unsub
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    attempt = SendAttempt.objects.get()
    assert attempt.status == "sent" and attempt.mailbox == outreach_setup["mailbox"]
    assert message.extra_headers["Message-ID"] == f"<{attempt.message_id}>"
    lead.refresh_from_db()
    assert lead.status == "contacted"
    assert Enrollment.objects.get().status == "completed"
    assert Event.objects.filter(kind="email_sent", lead_id=lead.pk).count() == 1
    action = Action.objects.get(action_type="send_email")
    assert action.idempotency_key == f"send_email:{live.pk}:{lead.pk}:{outreach_setup['step'].pk}"
    assert action.status == "succeeded"


def test_attempt_found_sending_is_never_resent(outreach_setup, live):
    from outreach.handlers import send_email

    lead = _lead()
    enrollment_create(lead=lead, sequence=outreach_setup["sequence"], actor="t")
    _tick(live)
    action = Action.objects.get(action_type="send_email")
    # A previous run wrote its attempt and died during the call.
    SendAttempt.objects.create(idempotency_key=f"{action.idempotency_key}:1", action_key=action.idempotency_key,
                               campaign=live, lead=lead, status="sending")  # fmt: skip
    outcome = send_email(action)
    assert outcome.kind == "unknown"
    assert SendAttempt.objects.get().status == "needs_reconcile"
    assert mail.outbox == []


def test_missing_value_blocks_the_send_with_a_reason(outreach_setup, live):
    lead = _lead(company="")
    enrollment_create(lead=lead, sequence=outreach_setup["sequence"], actor="t")
    _tick(live)
    Dispatcher(worker_id="t").drain()
    assert mail.outbox == [] and not SendAttempt.objects.exists()
    refusal = AuditEntry.objects.get(object_id=str(lead.pk), action="gate:refused")
    assert "no value for company" in refusal.note
    assert Enrollment.objects.get().status == "stopped"


def test_unapproved_template_is_refused_by_the_gate(outreach_setup, live):
    lead = _lead()
    enrollment = enrollment_create(lead=lead, sequence=outreach_setup["sequence"], actor="t")[0]
    template = outreach_setup["template"]
    # Edited behind the services' back: the hash no longer matches the approval.
    type(template).objects.filter(pk=template.pk).update(body_text="sneaky {{ first_name }}")
    template.refresh_from_db()
    decision = contact_gate(lead=lead, campaign=live, channel="email", now=timezone.now(), template=template,
                            enrollment=enrollment, step=outreach_setup["step"])  # fmt: skip
    assert not decision.allowed and "not the approved content" in decision.reason


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        (
            lambda lead, c: suppression_add(kind="email", value=lead.email, reason="unsubscribe", actor="t"),
            "suppressed",
        ),
        (lambda lead, c: suppression_add(kind="domain", value="example.com", reason="manual", actor="t"), "domain"),
        (
            lambda lead, c: suppression_add(
                kind="identity", value=lead.identity_sha256, reason="gdpr_erase", actor="t"
            ),
            "identity",
        ),
        (lambda lead, c: Lead.objects.filter(pk=lead.pk).update(consent_status="dnc"), "consent is dnc"),
        (lambda lead, c: Lead.objects.filter(pk=lead.pk).update(status="replied"), "lead is replied"),
        (lambda lead, c: campaign_services.campaign_pause(campaign=c, actor="t"), "is paused"),
    ],
)
def test_gate_says_why_not(outreach_setup, setup, needle):
    campaign = outreach_setup["campaign"]
    lead = _lead()
    setup(lead, campaign)
    lead.refresh_from_db()
    campaign.refresh_from_db()
    decision = contact_gate(lead=lead, campaign=campaign, channel="email", now=timezone.now(),
                            template=outreach_setup["template"])  # fmt: skip
    assert not decision.allowed and needle in decision.reason


def test_caps_are_counted_from_attempt_rows_and_mailboxes_rotate(outreach_setup):
    campaign = outreach_setup["campaign"]
    first = outreach_setup["mailbox"]
    Mailbox.objects.filter(pk=first.pk).update(daily_cap=2, hourly_cap=2)
    second = Mailbox.objects.create(campaign=campaign, from_email="b@brand.example", daily_cap=1, hourly_cap=1,
                                    warmup_start=0)  # fmt: skip
    ChannelConfig.objects.create(campaign=campaign, channel="email", daily_cap=100, hourly_cap=100, warmup_start=0)
    now = timezone.now()
    used = []
    for i in range(4):
        lead = _lead(f"p{i}@example.com")
        decision = contact_gate(lead=lead, campaign=campaign, channel="email", now=now)
        if not decision.allowed:
            used.append(decision.reason)
            break
        used.append(decision.mailbox.from_email)
        SendAttempt.objects.create(idempotency_key=f"k{i}", campaign=campaign, lead=lead, mailbox=decision.mailbox,
                                   status="sent", created_at=now)  # fmt: skip
    assert used[:3] == [first.from_email, second.from_email, first.from_email]
    assert "every sending mailbox is at its cap" in used[3]


def test_warmup_ramp_limits_a_new_mailbox(outreach_setup):
    mailbox = outreach_setup["mailbox"]
    mailbox.warmup_start, mailbox.warmup_step, mailbox.daily_cap = 5, 5, 40
    mailbox.warmup_started_on = timezone.localdate()
    assert mailbox.cap_on(timezone.localdate()) == 5
    assert mailbox.cap_on(timezone.localdate() + timedelta(days=3)) == 20
    assert mailbox.cap_on(timezone.localdate() + timedelta(days=30)) == 40


def test_per_lead_cooldown_and_max_touches(outreach_setup):
    campaign = outreach_setup["campaign"]
    ChannelConfig.objects.create(campaign=campaign, channel="email", per_lead_limit=2, cooldown_hours=24,
                                 warmup_start=0)  # fmt: skip
    lead = _lead()
    now = timezone.now()
    SendAttempt.objects.create(idempotency_key="a", campaign=campaign, lead=lead, status="sent",
                               created_at=now - timedelta(hours=2))  # fmt: skip
    decision = contact_gate(lead=lead, campaign=campaign, channel="email", now=now)
    assert "cooldown" in decision.reason and decision.retry_at == now - timedelta(hours=2) + timedelta(hours=24)
    SendAttempt.objects.create(idempotency_key="b", campaign=campaign, lead=lead, status="sent",
                               created_at=now - timedelta(days=3))  # fmt: skip
    assert (
        "most touches"
        in contact_gate(lead=lead, campaign=campaign, channel="email", now=now + timedelta(days=2)).reason
    )


def test_closed_window_releases_the_action_until_it_opens(outreach_setup, live):
    sequence = outreach_setup["sequence"]
    Sequence.objects.filter(pk=sequence.pk).update(window_start=time(9), window_end=time(10), send_days=[0, 1, 2, 3, 4])
    lead = _lead(timezone="America/New_York")
    with time_machine.travel(datetime(2026, 11, 25, 14, 30, tzinfo=UTC), tick=False):  # Wed 09:30 New York
        enrollment_create(lead=lead, sequence=Sequence.objects.get(pk=sequence.pk), actor="t")
        _tick(live)
    with time_machine.travel(datetime(2026, 11, 25, 16, 0, tzinfo=UTC), tick=False):  # 11:00 New York: closed
        Dispatcher(worker_id="t").drain()
        action = Action.objects.get(action_type="send_email")
        assert action.status in ("pending", "retry_wait")
        assert action.not_before == datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # Thu 09:00 New York
    assert mail.outbox == [] and not SendAttempt.objects.exists()
    assert "send window closed in America/New_York" in AuditEntry.objects.get(action="gate:refused").note


def test_condition_opened_skips_a_step_when_not_met(outreach_setup, live):
    step2 = SequenceStep.objects.create(sequence=outreach_setup["sequence"], position=2, wait_hours=0,
                                        template=outreach_setup["template"], condition="opened")  # fmt: skip
    lead = _lead()
    enrollment = enrollment_create(lead=lead, sequence=outreach_setup["sequence"], actor="t")[0]
    Enrollment.objects.filter(pk=enrollment.pk).update(next_position=2)
    _tick(live)
    Dispatcher(worker_id="t").drain()
    assert mail.outbox == []
    enrollment.refresh_from_db()
    assert enrollment.status == "completed"
    assert Action.objects.get(idempotency_key__endswith=f":{step2.pk}").status == "succeeded"


def test_proof_mode_writes_the_email_instead_of_sending(outreach_setup, settings):
    lead = _lead()
    enrollment_create(lead=lead, sequence=outreach_setup["sequence"], actor="t")
    _tick(outreach_setup["campaign"])
    Dispatcher(worker_id="t").drain()
    assert mail.outbox == []
    attempt = SendAttempt.objects.get()
    assert attempt.status == "sent" and attempt.esp_message_id == "proof"
    artifacts = list((settings.ARTIFACTS_DIR).glob("email-attempt-*.json"))
    assert len(artifacts) == 1 and "List-Unsubscribe-Post" in artifacts[0].read_text()


def _unknown_attempt(outreach_setup, live):
    from outreach.handlers import send_email

    lead = _lead()
    enrollment_create(lead=lead, sequence=outreach_setup["sequence"], actor="t")
    _tick(live)
    action = Action.objects.get(action_type="send_email")
    SendAttempt.objects.create(idempotency_key=f"{action.idempotency_key}:1", action_key=action.idempotency_key,
                               campaign=live, lead=lead, step=outreach_setup["step"], status="sending",
                               to_email=lead.email)  # fmt: skip
    Dispatcher(worker_id="t").drain()
    action.refresh_from_db()
    assert action.status == "failed" and SendAttempt.objects.get().status == "needs_reconcile"
    assert send_email  # the handler ran through the dispatcher
    return lead, action


def test_reconcile_not_sent_sends_exactly_once_more(outreach_setup, live):
    from outreach.handlers import attempt_reconcile

    _unknown_attempt(outreach_setup, live)
    attempt_reconcile(attempt=SendAttempt.objects.get(), actor="rita", was_sent=False)
    Dispatcher(worker_id="t").drain()
    assert len(mail.outbox) == 1
    assert sorted(SendAttempt.objects.values_list("status", flat=True)) == ["failed", "sent"]
    Dispatcher(worker_id="t").drain()
    assert len(mail.outbox) == 1


def test_reconcile_sent_moves_the_sequence_on_without_sending(outreach_setup, live):
    from outreach.handlers import attempt_reconcile

    lead, _ = _unknown_attempt(outreach_setup, live)
    attempt_reconcile(attempt=SendAttempt.objects.get(), actor="rita", was_sent=True)
    assert mail.outbox == []
    assert SendAttempt.objects.get().status == "sent"
    assert Enrollment.objects.get().status == "completed"
    lead.refresh_from_db()
    assert lead.status == "contacted"

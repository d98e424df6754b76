from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def campaign(running_campaign):
    return running_campaign


@pytest.fixture
def live(settings, running_campaign):
    """LIVE needs three yeses: deployment, global flag, campaign mode."""
    from campaigns.controls import control_set

    settings.PUBLISHING_MODE = "live"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    control_set(action="live", actor="t")
    control_set(action="live", actor="t", campaign=running_campaign)
    return running_campaign


@pytest.fixture
def outreach_setup(running_campaign, reviewer_user):
    """A running campaign with one mailbox, an approved template and a one-step always-open sequence."""
    from datetime import time

    from outreach.models import Mailbox, Sequence, SequenceStep
    from outreach.sequences import template_approve, template_create, template_submit

    mailbox = Mailbox.objects.create(campaign=running_campaign, from_email="sales@brand.example",
                                     from_name="Sam", warmup_start=0, daily_cap=100, hourly_cap=50)  # fmt: skip
    template = template_create(campaign=running_campaign, actor="t", name="intro",
                               subject="Hi {{ first_name }}", body_text="Hello {{ first_name }} at {{ company }}.\n"
                               "Unsubscribe: {{ unsubscribe_url }}")  # fmt: skip
    template_submit(template=template, actor="t")
    from django.contrib.auth.models import Permission

    reviewer_user.user_permissions.add(Permission.objects.get(codename="approve_template"))
    template_approve(template=template, actor=type(reviewer_user).objects.get(pk=reviewer_user.pk))
    sequence = Sequence.objects.create(campaign=running_campaign, name="cold", send_days=list(range(7)),
                                       window_start=time(0, 0), window_end=time(23, 59, 59))  # fmt: skip
    step = SequenceStep.objects.create(sequence=sequence, position=1, template=template, wait_hours=0,
                                       condition="always")  # fmt: skip
    return {"campaign": running_campaign, "mailbox": mailbox, "template": template, "sequence": sequence,
            "step": step}  # fmt: skip


@pytest.fixture
def sent(outreach_setup):
    """A lead that received step 1 (attempt row with our Message-ID), still enrolled for step 2."""
    from outreach.models import SendAttempt, SequenceStep
    from outreach.sequences import enrollment_create
    from outreach.services import lead_upsert

    campaign = outreach_setup["campaign"]
    SequenceStep.objects.create(sequence=outreach_setup["sequence"], position=2, wait_hours=48,
                                template=outreach_setup["template"])  # fmt: skip
    lead, _ = lead_upsert(actor="t", email="ada@example.com", name="Ada", company="Engines")
    enrollment_create(lead=lead, sequence=outreach_setup["sequence"], actor="t")
    attempt = SendAttempt.objects.create(idempotency_key="k:1", action_key="k", campaign=campaign, lead=lead,
                                         to_email="ada@example.com", message_id="abc.123@brand.example",
                                         status="sent", mailbox=outreach_setup["mailbox"])  # fmt: skip
    return {**outreach_setup, "lead": lead, "attempt": attempt}

"""Lead capture services: a public form submission becomes a lead with its consent recorded."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from campaigns.actions import action_enqueue
from campaigns.audit import audit_record
from campaigns.events import event_record

from .models import CaptureForm, Lead
from .sequences import enrollment_create, public_base_url
from .services import consent_record, lead_upsert
from .tokens import confirm_token

UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def lead_capture(*, form: CaptureForm, data: dict[str, Any], ip: str) -> Lead:
    """Create or find the lead, record consent with the exact text shown, UTM and referrer.

    One transaction: a refusal (ValidationError naming the field) leaves nothing behind. With double
    opt-in the consent is ``pending`` and a confirmation email is enqueued; otherwise it is granted
    and the lead is enrolled in the form's sequence.
    """
    campaign = form.campaign
    fields = {k: data.get(k, "") for k in ("name", "email", "phone", "company", "role", "referrer", *UTM)}
    status = Lead.Consent.PENDING if form.double_opt_in else Lead.Consent.GRANTED
    source = f"capture form /capture/{campaign.slug}/ from {ip}"
    with transaction.atomic():
        lead, created = lead_upsert(
            actor=f"capture:{campaign.slug}", campaign=campaign, source_channel="capture",
            source_ref=f"capture:{campaign.slug}", consent_status=status, consent_at=timezone.now(),
            consent_source=source, consent_text=form.consent_text, **fields,
        )  # fmt: skip
        if not created and not (form.double_opt_in and lead.consent_status == Lead.Consent.GRANTED):
            consent_record(lead=lead, actor=f"capture:{campaign.slug}", status=status, source=source,
                           text=form.consent_text)  # fmt: skip
        event_record(kind="lead_captured", campaign=campaign, channel="capture", lead_id=lead.pk,
                     source=f"capture:{campaign.slug}",
                     data={"created": created, **{k: fields[k] for k in UTM if fields[k]}})  # fmt: skip
        if form.double_opt_in and lead.consent_status == Lead.Consent.PENDING:
            action_enqueue(key=f"send_confirmation:{campaign.pk}:{lead.pk}:{int(timezone.now().timestamp()) // 3600}",
                           action_type="send_confirmation", campaign=campaign,
                           payload={"lead_id": lead.pk, "campaign_id": campaign.pk})  # fmt: skip
        elif form.sequence_id:
            enrollment_create(lead=lead, sequence=form.sequence, actor=f"capture:{campaign.slug}")
    return lead


def lead_confirm(*, lead: Lead, form: CaptureForm) -> None:
    """Double opt-in confirmed: consent granted (same text), enrolled in the form's sequence. Repeat-safe."""
    with transaction.atomic():
        if lead.consent_status != Lead.Consent.GRANTED:
            consent_record(lead=lead, actor=f"confirm:{lead.pk}", status=Lead.Consent.GRANTED,
                           source="double opt-in confirmed", text=form.consent_text)  # fmt: skip
        if form.sequence_id:
            enrollment_create(lead=lead, sequence=form.sequence, actor=f"confirm:{lead.pk}")


def confirmation_url(*, lead: Lead, campaign_id: int) -> str:
    return public_base_url() + reverse("outreach:capture_confirm",
                                       args=[confirm_token(lead_id=lead.pk, campaign_id=campaign_id)])  # fmt: skip


def confirmation_fields(*, lead: Lead, form: CaptureForm, from_email: str) -> dict[str, Any]:
    url = confirmation_url(lead=lead, campaign_id=form.campaign_id)
    audit_record(obj=lead, actor="capture", action="confirmation:built")
    return {
        "to": lead.email,
        "from_email": from_email,
        "subject": f"Please confirm: {form.title}",
        "text": f"Please confirm your subscription by opening this link:\n\n{url}\n\n"
        f"You agreed to: {form.consent_text}\n\nIf this was not you, ignore this email.",
        "html": "",
        "headers": {},
        "message_id": "",
        "idempotency_key": "",
        "metadata": {"lead_id": str(lead.pk), "campaign_id": str(form.campaign_id)},
        "tags": ("confirmation",),
    }

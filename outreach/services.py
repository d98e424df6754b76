"""Lead services (the outreach issue deepens these: consent, suppression, sequences)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from campaigns.audit import audit_record
from campaigns.models import Campaign

from .models import Lead


def lead_upsert(*, actor: Any, campaign: Campaign | None = None, **fields: Any) -> tuple[Lead, bool]:
    """Create a lead, or return the existing one for the same person (same identity hash)."""
    lead = Lead(campaign=campaign, **fields)
    try:
        lead.identity_sha256 = lead.compute_identity()
    except ValueError as exc:
        raise ValidationError({"email": str(exc)}) from None
    existing = Lead.objects.filter(identity_sha256=lead.identity_sha256).first()
    if existing:
        return existing, False
    lead.full_clean()
    with transaction.atomic():
        lead, created = Lead.objects.get_or_create(identity_sha256=lead.identity_sha256, defaults={
            f.attname: getattr(lead, f.attname) for f in Lead._meta.concrete_fields if f.attname not in ("id", "identity_sha256")
        })  # fmt: skip
        if created:
            audit_record(obj=lead, actor=actor, action="created", new=lead.status)
    return lead, created

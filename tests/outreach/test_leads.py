from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from campaigns.models import AuditEntry
from outreach.identity import lead_identity_sha256, normalise_phone
from outreach.models import Lead, Suppression
from outreach.services import (
    LeadSuppressed,
    dnc_import,
    lead_erase,
    lead_export,
    lead_update,
    lead_upsert,
    suppression_add,
    suppression_reason,
)

pytestmark = pytest.mark.django_db


def test_identity_normalises_email_phone_and_linkedin():
    assert lead_identity_sha256(email=" Ada@Example.COM ") == lead_identity_sha256(email="ada@example.com")
    assert normalise_phone("+49 30 1234567") == "+49301234567"
    assert lead_identity_sha256(phone="+49301234567") != lead_identity_sha256(email="ada@example.com")
    assert lead_identity_sha256(linkedin_url="https://www.linkedin.com/in/ada/") == lead_identity_sha256(
        linkedin_url="linkedin.com/in/ADA"
    )
    with pytest.raises(ValueError):
        lead_identity_sha256()


def test_same_person_is_one_lead():
    first, created = lead_upsert(actor="t", email="Ada@Example.com", name="Ada")
    again, created_again = lead_upsert(actor="t", email="ada@example.com ", name="Ada L.")
    assert created and not created_again
    assert first.pk == again.pk
    assert Lead.objects.count() == 1


def test_identity_hash_is_unique_in_the_database():
    lead, _ = lead_upsert(actor="t", email="ada@example.com")
    with pytest.raises(IntegrityError):
        Lead.objects.create(email="other@example.com", identity_sha256=lead.identity_sha256)


def test_bad_phone_names_the_field_and_writes_nothing():
    with pytest.raises(ValidationError) as exc:
        lead_upsert(actor="t", email="a@example.com", phone="call me maybe")
    assert "phone" in exc.value.message_dict
    assert not Lead.objects.exists()


def test_lead_without_any_identity_is_refused():
    with pytest.raises(ValidationError) as exc:
        lead_upsert(actor="t", name="Nobody")
    assert "email" in exc.value.message_dict


def test_update_refuses_becoming_another_existing_person():
    lead_upsert(actor="t", email="ada@example.com")
    grace, _ = lead_upsert(actor="t", email="grace@example.com")
    with pytest.raises(ValidationError):
        lead_update(lead=grace, actor="t", email="ADA@example.com")
    grace.refresh_from_db()
    assert grace.email == "grace@example.com"


def test_suppressions_by_email_domain_and_identity():
    suppression_add(kind="domain", value="@Blocked.example", reason="manual", actor="t")
    assert "domain blocked.example" in suppression_reason(email="x@blocked.example")
    suppression_add(kind="email", value="Ada@Example.com", reason="unsubscribe", actor="t")
    assert "ada@example.com" in suppression_reason(email="ada@example.com")
    assert suppression_reason(email="grace@example.com") is None
    _, created = suppression_add(kind="email", value="ada@example.com", reason="unsubscribe", actor="t")
    assert not created
    assert Suppression.objects.count() == 2


def test_dnc_import_reports_invalid_lines_and_is_idempotent():
    lines = ["ada@example.com", "@spam.example", "", "not an address", "# comment", "ada@example.com"]
    report = dnc_import(lines=lines, actor="t", source="dnc.txt")
    assert report["added"] == 2 and report["existing"] == 1
    assert report["invalid"][0][0] == 4
    assert set(Suppression.objects.values_list("kind", "value")) == {("email", "ada@example.com"),
                                                                      ("domain", "spam.example")}  # fmt: skip


def test_gdpr_erase_keeps_only_the_hash_and_blocks_reimport():
    lead, _ = lead_upsert(actor="t", email="ada@example.com", name="Ada Lovelace", company="Engines",
                          tags=["vip"], enrichment={"size": 5})  # fmt: skip
    data = lead_export(lead=lead, actor="rita")
    assert data["email"] == "ada@example.com" and data["tags"] == ["vip"]
    lead_erase(lead=lead, actor="rita")
    lead.refresh_from_db()
    assert (lead.name, lead.email, lead.company, lead.tags, lead.enrichment) == ("", "", "", [], {})
    assert lead.status == "suppressed" and lead.erased_at
    assert Suppression.objects.filter(kind="identity", value=lead.identity_sha256, reason="gdpr_erase").exists()
    actions = set(AuditEntry.objects.filter(object_id=str(lead.pk)).values_list("action", flat=True))
    assert {"gdpr:export", "gdpr:erase"} <= actions
    with pytest.raises(LeadSuppressed):
        lead_upsert(actor="t", email="ADA@example.com", name="Ada again")
    assert Lead.objects.count() == 1

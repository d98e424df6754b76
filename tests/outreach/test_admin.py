from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.models import AuditEntry
from outreach.models import Lead, Suppression
from outreach.services import lead_upsert
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, db):
    user = UserFactory(username="boss", is_superuser=True)
    client.force_login(user)
    return client


def test_admin_csv_import_reports_and_bad_mapping_is_a_400(admin_client, running_campaign):
    url = "/admin/outreach/lead/import/"
    assert admin_client.get(url).status_code == 200
    upload = SimpleUploadedFile("leads.csv", b"email,name\nada@example.com,Ada\nbroken,X\n", "text/csv")
    response = admin_client.post(url, {"campaign": running_campaign.pk, "file": upload, "mapping": ""}, follow=True)
    assert response.status_code == 200
    shown = " | ".join(str(m) for m in response.context["messages"])
    assert "2 rows: 1 created" in shown and "line 3: email" in shown
    upload = SimpleUploadedFile("leads.csv", b"email,name\ngrace@example.org,Grace\n", "text/csv")
    response = admin_client.post(url, {"campaign": running_campaign.pk, "file": upload, "mapping": "name=nickname"})
    assert response.status_code == 400 and "not an importable field" in response.content.decode()
    upload = SimpleUploadedFile("leads.csv", b"\xff\xfe\x00\x01", "text/csv")
    response = admin_client.post(url, {"campaign": running_campaign.pk, "file": upload})
    assert response.status_code == 400
    assert list(Lead.objects.values_list("email", flat=True)) == ["ada@example.com"]


def test_gdpr_export_and_erase_admin_actions_write_audit_rows(admin_client):
    lead, _ = lead_upsert(actor="t", email="ada@example.com", name="Ada")
    url = "/admin/outreach/lead/"
    response = admin_client.post(url, {"action": "export_json", "_selected_action": [lead.pk]})
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert json.loads(response.content)[0]["email"] == "ada@example.com"
    admin_client.post(url, {"action": "erase", "_selected_action": [lead.pk]})
    lead.refresh_from_db()
    assert lead.email == "" and lead.erased_at is not None
    assert Suppression.objects.filter(kind="identity", value=lead.identity_sha256).exists()
    assert set(
        AuditEntry.objects.filter(object_id=str(lead.pk), actor_label="boss").values_list("action", flat=True)
    ) >= {"gdpr:export", "gdpr:erase"}


def test_admin_lead_form_errors_are_field_errors_not_500(admin_client, running_campaign):
    response = admin_client.post("/admin/outreach/lead/add/", {
        "name": "X", "email": "", "phone": "banana", "consent_status": "unknown", "tags": "[]", "enrichment": "{}",
        "score": 0})  # fmt: skip
    assert response.status_code == 200  # the form page again, with errors
    assert "phone" in response.context["adminform"].form.errors
    assert not Lead.objects.exists()


def test_status_is_read_only_in_the_admin(admin_client):
    lead, _ = lead_upsert(actor="t", email="ada@example.com")
    response = admin_client.get(f"/admin/outreach/lead/{lead.pk}/change/")
    assert response.status_code == 200
    assert "status" not in response.context["adminform"].form.fields


def test_dnc_import_in_the_admin(admin_client):
    upload = SimpleUploadedFile("dnc.txt", b"ada@example.com\n@spam.example\nnot valid\n", "text/plain")
    response = admin_client.post("/admin/outreach/suppression/dnc-import/", {"file": upload}, follow=True)
    shown = " | ".join(str(m) for m in response.context["messages"])
    assert "2 added" in shown and "line 3" in shown
    assert Suppression.objects.count() == 2


def test_changelists_render(admin_client, outreach_setup):
    for model in ("lead", "suppression", "mailbox", "template", "sequence", "enrollment", "sendattempt", "espevent",
                  "reply", "outreachtask", "captureform"):  # fmt: skip
        assert admin_client.get(f"/admin/outreach/{model}/").status_code == 200, model
    template = outreach_setup["template"]
    assert admin_client.get(f"/admin/outreach/template/{template.pk}/change/").status_code == 200


def test_lead_changelist_query_count_does_not_grow_with_rows(
    admin_client, running_campaign, django_assert_max_num_queries
):
    for i in range(30):
        lead_upsert(actor="t", campaign=running_campaign, email=f"p{i}@example.com")
    with django_assert_max_num_queries(12):
        assert admin_client.get("/admin/outreach/lead/").status_code == 200

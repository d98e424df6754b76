from __future__ import annotations

import hashlib
import re

import pytest
from django.contrib.auth import get_user_model

from campaigns.models import ApiToken, AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "x-Pass-123"))
    return client


def test_token_created_in_the_admin_is_shown_once_and_stored_hashed(admin_client):
    response = admin_client.post(
        "/admin/campaigns/apitoken/add/", {"name": "autonomy layer", "scopes": ["agent"]}, follow=True
    )
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    secret = re.search(r"(cas_[0-9a-f]+_\S+)", " ".join(messages)).group(1)
    token = ApiToken.objects.get()
    assert token.key_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in admin_client.get(f"/admin/campaigns/apitoken/{token.pk}/change/").content.decode()
    assert AuditEntry.objects.filter(action="token:issued").exists()
    # The secret works, once revoked it does not.
    from tests.api.conftest import Api

    assert Api(secret).get("/api/v1/campaigns/").status_code == 200
    admin_client.post("/admin/campaigns/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert Api(secret).get("/api/v1/campaigns/").status_code == 401


def test_reviewer_token_needs_a_user(admin_client):
    response = admin_client.post("/admin/campaigns/apitoken/add/", {"name": "r", "scopes": ["reviewer"]}, follow=True)
    assert not ApiToken.objects.exists()
    assert response.status_code == 200


def test_webhook_deliveries_are_visible_in_the_admin(admin_client):
    assert admin_client.get("/admin/campaigns/webhookdelivery/").status_code == 200
    assert admin_client.get("/admin/campaigns/webhooksubscription/").status_code == 200


def test_admin_refuses_a_private_webhook_destination(admin_client):
    response = admin_client.post(
        "/admin/campaigns/webhooksubscription/add/",
        {"name": "meta", "url": "http://169.254.169.254/latest", "event_types": "[]", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "non-public address" in response.content.decode()

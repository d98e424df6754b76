from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "python manage.py spectacular --file docs/openapi.yaml --validate"


def test_committed_schema_matches_the_code(tmp_path):
    fresh = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(fresh), "--validate", "--fail-on-warn")
    committed = (ROOT / "docs/openapi.yaml").read_text()
    assert fresh.read_text() == committed, f"docs/openapi.yaml is stale: run `{REGENERATE}` and commit it"


def test_schema_documents_problem_answers_and_examples():
    schema = yaml.safe_load((ROOT / "docs/openapi.yaml").read_text())
    create = schema["paths"]["/api/v1/campaigns/"]["post"]
    assert create["requestBody"]["content"]["application/json"]["examples"]
    assert create["responses"]["409"]["content"]["application/problem+json"]
    assert {p["name"] for p in create["parameters"]} >= {"Idempotency-Key"}
    assert "Problem" in schema["components"]["schemas"]
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


@pytest.mark.django_db
def test_schema_and_swagger_ui_are_served_with_local_assets(agent, client, django_user_model):
    assert agent.get("/api/v1/schema/").status_code == 200
    client.force_login(django_user_model.objects.create_user("viewer", password="x-Pass-123"))
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "//unpkg" not in html
    asset = html.split('src="', 2)[1].split('"', 1)[0] if 'src="' in html else ""
    assert asset.startswith("/static/")
    served = client.get(asset)
    assert served.status_code == 200

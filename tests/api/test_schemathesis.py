"""schemathesis against a live test server: every operation, a few generated requests each
(valid and invalid), no 5xx and every answer conforming to docs/openapi.yaml."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from campaigns.apitokens import token_create
from tests.factories import AccountFactory, CampaignFactory

SCHEMA = Path(__file__).resolve().parents[2] / "docs/openapi.yaml"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

pytestmark = [pytest.mark.slow]


@pytest.fixture
def api_schema(live_server, transactional_db, settings):
    settings.API_THROTTLE_RATE = 100_000
    return schemathesis.openapi.from_path(str(SCHEMA))


@pytest.fixture
def seeded(transactional_db) -> str:
    """Rows for the generated ids to hit now and then, and an agent token."""
    campaign = CampaignFactory(channels=["mastodon"], pk=1)
    AccountFactory(pk=1)
    from publishing.services import post_create

    post_create(campaign=campaign, author=None, title="t", body="b", accounts=[AccountFactory()])
    return token_create(name="fuzz", scopes=["agent"], actor="test")[1]


def _summary(exc: BaseException) -> str:
    parts = [str(exc)] + [str(e) for e in getattr(exc, "exceptions", [])]
    return " | ".join(p.strip()[:800] for p in parts)


def test_api_conforms_to_its_schema(api_schema, live_server, seeded):
    failures: list[str] = []
    operations = 0
    for result, mode in product(api_schema.get_all_operations(), (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy(mode))
        @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)  # fmt: skip
        def run(case):
            case.call_and_validate(base_url=live_server.url, headers={"Authorization": f"Bearer {seeded}"},
                                   checks=CHECKS)  # fmt: skip

        try:
            run()
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {_summary(exc)}")
    assert operations > 80
    assert not failures, "\n\n".join(failures)

"""PROOF artifacts show exactly the request LIVE sends: both come from build_publish_request."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pytest_httpserver import HTTPServer

from publishing.adapters.base import Credentials, PublishRequest
from publishing.adapters.proof import REDACTED, proof_publish
from publishing.adapters.registry import get_adapter

CASES = {
    "x": ("/2/tweets", {"data": {"id": "1"}}, Credentials(account_id="42", access_token="secret")),
    "linkedin": ("/rest/posts", None, Credentials(account_id="urn:li:person:abc", access_token="secret")),
    "facebook": ("/v23.0/99/feed", {"id": "99_1"}, Credentials(account_id="99", access_token="secret")),
    "bluesky": (
        "/xrpc/com.atproto.repo.createRecord",
        {"uri": "at://did:plc:me/app.bsky.feed.post/x", "cid": "c"},
        Credentials(account_id="did:plc:me", access_token="secret", extra={"@al.example.com": "did:plc:al"}),
    ),
    "mastodon": ("/api/v1/statuses", {"id": "1", "url": "u"}, Credentials(account_id="1", access_token="secret")),
}


@pytest.mark.parametrize("platform", sorted(CASES))
def test_the_proof_artifact_is_the_request_live_sends(
    platform, httpserver: HTTPServer, base_url, tmp_path, time_machine
):
    time_machine.move_to(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False)
    path, answer, credentials = CASES[platform]
    request = PublishRequest(
        platform=platform,
        text="Hi @al.example.com, see https://example.com (ok)",
        credentials=credentials,
        idempotency_key="post_social:5",
        link_url="https://example.com" if platform == "facebook" else "",
    )
    if answer is None:
        httpserver.expect_request(path).respond_with_data("", status=201, headers={"x-restli-id": "urn:li:share:1"})
    else:
        httpserver.expect_request(path).respond_with_json(answer, status=201 if platform == "x" else 200)
    adapter = get_adapter(platform)

    proof = proof_publish(adapter, request, artifacts_dir=tmp_path, name="t")
    adapter.publish(request)

    stored = Path(proof.artifact_path).read_text(encoding="utf-8")
    artifact = json.loads(stored)["request"]
    [(sent, _)] = httpserver.log
    assert (artifact["method"], urlsplit(artifact["url"]).path) == (sent.method, sent.path)
    for name, value in artifact["headers"].items():
        assert sent.headers[name] == (f"Bearer {credentials.access_token}" if value == REDACTED else value)
    if artifact["form"] is not None:
        assert sent.form.to_dict() == {**artifact["form"], "access_token": credentials.access_token}
    else:
        assert sent.get_json() == artifact["body"]
    assert "secret" not in stored

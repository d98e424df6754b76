"""Mastodon adapter against a local fake speaking contracts.md 2.6."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jsonschema import ValidationError
from pytest_httpserver import HTTPServer

from publishing.adapters.base import (
    AuthError,
    Credentials,
    OutcomeUnknownError,
    PermanentError,
    PublishRequest,
    RetryAfterError,
)
from publishing.adapters.mastodon import MastodonAdapter

from .specs import mastodon_create_status_validator, mastodon_operation

STATUSES = "/api/v1/statuses"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CREDENTIALS = Credentials(account_id="109302", access_token="masto-token")


def _request(text: str = "Spring is here", **kwargs) -> PublishRequest:
    return PublishRequest(
        platform="mastodon", text=text, credentials=CREDENTIALS, idempotency_key="post_social:9", **kwargs
    )


def _status(status_id: str = "113912345678901234") -> dict:
    return {
        "id": status_id,
        "created_at": "2026-03-02T10:00:00.000Z",
        "url": f"https://mastodon.example/@acme/{status_id}",
        "content": "<p>Spring is here</p>",
        "visibility": "public",
    }


def _limits(remaining: int, reset: str) -> dict[str, str]:
    return {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": reset}


def test_it_posts_with_the_idempotency_key_and_returns_id_and_url(httpserver: HTTPServer, base_url):
    httpserver.expect_request(STATUSES, method="POST").respond_with_json(
        _status(), headers=_limits(299, "2026-03-02T10:05:00.000Z")
    )

    result = MastodonAdapter().publish(_request(reply_to="113900000000000001", media_ids=("22",)))

    assert (result.platform_post_id, result.url) == (
        "113912345678901234",
        "https://mastodon.example/@acme/113912345678901234",
    )
    assert (result.rate_limit.remaining, result.rate_limit.reset_at) == (299, datetime(2026, 3, 2, 10, 5, tzinfo=UTC))
    [(sent, _)] = httpserver.log
    assert (sent.method, sent.path) == ("POST", STATUSES)
    assert sent.headers["Authorization"] == "Bearer masto-token"
    assert sent.headers["Idempotency-Key"] == "post_social:9"
    assert sent.get_json() == {
        "status": "Spring is here",
        "visibility": "public",
        "in_reply_to_id": "113900000000000001",
        "media_ids": ["22"],
    }


def test_a_repeat_with_the_same_key_gets_the_first_status_back(httpserver: HTTPServer, base_url):
    """Mastodon's answer to a duplicate: the key replays the original status, never a second one."""
    httpserver.expect_request(STATUSES, method="POST", headers={"Idempotency-Key": "post_social:9"}).respond_with_json(
        _status("1")
    )

    first, second = MastodonAdapter().publish(_request()), MastodonAdapter().publish(_request())

    assert first.platform_post_id == second.platform_post_id == "1"
    assert [r.headers["Idempotency-Key"] for r, _ in httpserver.log] == ["post_social:9", "post_social:9"]


def test_the_body_and_header_it_sends_match_the_openapi_operation(base_url):
    operation = mastodon_operation(STATUSES, "post")
    assert "Idempotency-Key" in {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    validator = mastodon_create_status_validator()
    for request in (_request(), _request(reply_to="1", media_ids=("2", "3"))):
        validator.validate(MastodonAdapter().build_publish_request(request).body)
    with pytest.raises(ValidationError):  # the check can fail: visibility is an enum
        validator.validate({"status": "hi", "visibility": "everyone"})


def test_429_waits_until_the_iso_reset(httpserver: HTTPServer, base_url, time_machine):
    time_machine.move_to(NOW, tick=False)
    httpserver.expect_request(STATUSES).respond_with_json(
        {"error": "Too many requests"}, status=429, headers=_limits(0, "2026-03-02T10:04:00.000Z")
    )

    with pytest.raises(RetryAfterError) as caught:
        MastodonAdapter().publish(_request())
    assert caught.value.retry_after == 240
    assert caught.value.rate_limit.remaining == 0


def test_401_is_an_auth_error(httpserver: HTTPServer, base_url):
    httpserver.expect_request(STATUSES).respond_with_json({"error": "The access token is invalid"}, status=401)

    with pytest.raises(AuthError, match="access token is invalid"):
        MastodonAdapter().publish(_request())


def test_422_validation_failure_is_permanent(httpserver: HTTPServer, base_url):
    httpserver.expect_request(STATUSES).respond_with_json(
        {"error": "Validation failed: Text character limit of 500 exceeded"}, status=422
    )

    with pytest.raises(PermanentError, match="Validation failed") as caught:
        MastodonAdapter().publish(_request())
    assert not isinstance(caught.value, AuthError)


def test_503_is_retried_later_not_at_the_rate_limit_reset(httpserver: HTTPServer, base_url, time_machine):
    time_machine.move_to(NOW, tick=False)
    httpserver.expect_request(STATUSES).respond_with_data(
        "Service Unavailable", status=503, headers=_limits(250, "2026-03-02T10:04:00.000Z")
    )

    with pytest.raises(RetryAfterError) as caught:
        MastodonAdapter().publish(_request())
    assert caught.value.retry_after == 60


def test_timeout_after_sending_is_outcome_unknown_and_not_resent(hang):
    hang.at(STATUSES)

    with pytest.raises(OutcomeUnknownError):
        MastodonAdapter().publish(_request())
    assert hang.received(STATUSES) == 1


def test_the_instance_url_of_the_account_wins_over_the_setting(httpserver: HTTPServer, settings):
    settings.MASTODON_BASE_URL = "http://127.0.0.1:9"  # nothing listens here
    credentials = Credentials(account_id="1", access_token="t", extra={"instance_url": httpserver.url_for("/")})
    httpserver.expect_request(STATUSES).respond_with_json(_status())

    MastodonAdapter().publish(
        PublishRequest(platform="mastodon", text="hi", credentials=credentials, idempotency_key="k")
    )

    assert len(httpserver.log) == 1


def test_validate_counts_like_mastodon():
    adapter = MastodonAdapter()
    assert adapter.validate(_request("a" * 500)) == []
    assert adapter.validate(_request("a" * 501)) == ["text: 501 characters, Mastodon allows 500"]
    # A URL counts 23 and a remote mention only its local part.
    assert adapter.validate(_request("a" * 450 + " https://example.com/" + "p" * 200)) == []
    assert adapter.validate(_request("a" * 480 + " @someone@very.long.instance.example")) == []
    wide = Credentials(account_id="1", extra={"max_characters": "5000"})
    assert (
        adapter.validate(PublishRequest(platform="mastodon", text="a" * 501, credentials=wide, idempotency_key="k"))
        == []
    )


def test_lookup_recent_reads_the_account_statuses_as_plain_text(httpserver: HTTPServer, base_url):
    httpserver.expect_request(
        "/api/v1/accounts/109302/statuses", query_string={"limit": "20", "exclude_reblogs": "true"}
    ).respond_with_json(
        [
            {**_status("2"), "content": "<p>Spring &amp; sun<br>today</p>", "created_at": "2026-03-02T09:30:00.000Z"},
            {**_status("1"), "created_at": "2026-03-01T09:30:00.000Z"},
        ]
    )

    posts = MastodonAdapter().lookup_recent(CREDENTIALS, datetime(2026, 3, 2, 0, 0, tzinfo=UTC), 20)

    assert [(p.platform_post_id, p.text, p.created_at) for p in posts] == [
        ("2", "Spring & sun\ntoday", datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    ]
    assert httpserver.log[0][0].headers["Authorization"] == "Bearer masto-token"

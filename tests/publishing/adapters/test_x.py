"""X API v2 adapter against a local fake speaking contracts.md 2.1."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jsonschema import ValidationError
from pytest_httpserver import HTTPServer

from publishing.adapters.base import (
    AuthError,
    Credentials,
    DuplicateError,
    OutcomeUnknownError,
    PermanentError,
    PublishRequest,
    RetryAfterError,
)
from publishing.adapters.x import XAdapter

from .specs import x_create_post_validator

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CREDENTIALS = Credentials(account_id="2244994945", access_token="user-token", handle="acme")


def _request(text: str = "Launch day", **kwargs) -> PublishRequest:
    return PublishRequest(platform="x", text=text, credentials=CREDENTIALS, idempotency_key="post_social:1", **kwargs)


def _limits(remaining: int, reset: datetime) -> dict[str, str]:
    return {
        "x-rate-limit-limit": "100",
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(int(reset.timestamp())),
    }


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def test_it_posts_the_text_and_returns_the_id_url_and_rate_limit(httpserver: HTTPServer, base_url, frozen):
    reset = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
    httpserver.expect_request("/2/tweets", method="POST").respond_with_json(
        {"data": {"id": "1445880548472328192", "text": "Launch day"}}, status=201, headers=_limits(99, reset)
    )

    result = XAdapter().publish(_request(reply_to="1445880548472328100", media_ids=("1146654567674912769",)))

    assert result.platform_post_id == "1445880548472328192"
    assert result.url == "https://x.com/acme/status/1445880548472328192"
    assert (result.rate_limit.remaining, result.rate_limit.reset_at, result.rate_limit.limit) == (99, reset, 100)
    [(sent, _)] = httpserver.log
    assert (sent.method, sent.path) == ("POST", "/2/tweets")
    assert sent.headers["Authorization"] == "Bearer user-token"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.get_json() == {
        "text": "Launch day",
        "reply": {"in_reply_to_tweet_id": "1445880548472328100"},
        "media": {"media_ids": ["1146654567674912769"]},
    }


def test_the_body_it_sends_matches_the_openapi_request_schema(base_url):
    validator = x_create_post_validator()
    for request in (_request(), _request(reply_to="123", media_ids=("456", "789"))):
        validator.validate(XAdapter().build_publish_request(request).body)
    # The schema is strict (additionalProperties: false), so the check can fail:
    with pytest.raises(ValidationError):
        validator.validate({"text": "hi", "link": "https://example.com"})


def test_429_waits_until_x_rate_limit_reset(httpserver: HTTPServer, base_url, frozen):
    reset = datetime(2026, 3, 2, 10, 7, 30, tzinfo=UTC)
    httpserver.expect_request("/2/tweets").respond_with_json(
        {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
        status=429,
        headers=_limits(0, reset),
    )

    with pytest.raises(RetryAfterError) as caught:
        XAdapter().publish(_request())
    assert caught.value.retry_after == 450
    assert caught.value.rate_limit.remaining == 0


def test_429_usage_capped_waits_for_the_end_of_the_period(httpserver: HTTPServer, base_url, frozen):
    httpserver.expect_request("/2/tweets").respond_with_json(
        {
            "title": "UsageCapExceeded",
            "detail": "Usage cap exceeded: Daily limit for posts",
            "type": "https://api.x.com/2/problems/usage-capped",
            "period": "Daily",
            "scope": "Product",
        },
        status=429,
    )

    with pytest.raises(RetryAfterError, match="usage cap") as caught:
        XAdapter().publish(_request())
    assert caught.value.retry_after == 14 * 3600  # until 00:00 UTC


def test_401_is_an_auth_error(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/2/tweets").respond_with_json(
        {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}, status=401
    )

    with pytest.raises(AuthError, match="401"):
        XAdapter().publish(_request())


def test_403_duplicate_content_is_permanent_and_says_so(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/2/tweets").respond_with_json(
        {
            "detail": "You are not allowed to create a Tweet with duplicate content.",
            "type": "about:blank",
            "title": "Forbidden",
            "status": 403,
        },
        status=403,
    )

    with pytest.raises(DuplicateError, match="duplicate content") as caught:
        XAdapter().publish(_request())
    assert isinstance(caught.value, PermanentError)


def test_400_invalid_request_is_permanent(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/2/tweets").respond_with_json(
        {
            "errors": [{"message": "$.reply.in_reply_to_tweet_id: does not match pattern"}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.x.com/2/problems/invalid-request",
        },
        status=400,
    )

    with pytest.raises(PermanentError, match="parameters to your request was invalid") as caught:
        XAdapter().publish(_request())
    assert not isinstance(caught.value, (AuthError, DuplicateError))


def test_503_is_retried_later(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/2/tweets").respond_with_json({"title": "Service Unavailable"}, status=503)

    with pytest.raises(RetryAfterError) as caught:
        XAdapter().publish(_request())
    assert caught.value.retry_after > 0


def test_201_without_an_id_is_outcome_unknown(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/2/tweets").respond_with_data("<html>oops</html>", status=201)

    with pytest.raises(OutcomeUnknownError):
        XAdapter().publish(_request())


def test_timeout_after_sending_is_outcome_unknown_and_not_resent(hang):
    hang.at("/2/tweets")

    with pytest.raises(OutcomeUnknownError):
        XAdapter().publish(_request())
    assert hang.received("/2/tweets") == 1


def test_validate_counts_weighted_characters():
    adapter = XAdapter()
    assert adapter.validate(_request("a" * 280)) == []
    assert adapter.validate(_request("a" * 281)) == ["text: 281 weighted characters, X allows 280"]
    # CJK weighs 2: 141 of them are 282.
    assert adapter.validate(_request("漢" * 141)) == ["text: 282 weighted characters, X allows 280"]
    # Any URL weighs 23, however long.
    assert adapter.validate(_request("a" * 250 + " https://example.com/" + "p" * 100)) == []
    # An emoji sequence (family, ZWJ-joined) weighs 2.
    assert adapter.validate(_request("a" * 278 + "👨‍👩‍👧")) == []


def test_validate_names_each_broken_rule():
    problems = XAdapter().validate(
        _request("", media_urls=("https://cdn.example/a.png",), reply_to="abc", media_ids=tuple("12345"))
    )

    assert "media_urls + media_ids: 6 images, X allows 4" in problems
    assert "reply_to: 'abc' is not an X numeric id (1-19 digits)" in problems
    assert XAdapter().validate(_request(media_ids=tuple("12345"))) == ["media_ids: 5 items, X allows 4"]


def test_publish_refuses_invalid_content_without_calling_out(httpserver: HTTPServer, base_url):
    with pytest.raises(PermanentError, match="281 weighted characters"):
        XAdapter().publish(_request("a" * 281))
    assert httpserver.log == []


def test_lookup_recent_reads_the_user_timeline(httpserver: HTTPServer, base_url):
    httpserver.expect_request(
        "/2/users/2244994945/tweets",
        method="GET",
        query_string={"max_results": "10", "start_time": "2026-03-02T09:00:00Z", "tweet.fields": "created_at"},
    ).respond_with_json(
        {
            "data": [
                {"id": "2", "text": "Launch day", "created_at": "2026-03-02T09:30:00.000Z"},
                {"id": "1", "text": "Teaser", "created_at": "2026-03-02T09:10:00.000Z"},
            ],
            "meta": {"result_count": 2, "newest_id": "2", "oldest_id": "1"},
        }
    )

    posts = XAdapter().lookup_recent(CREDENTIALS, datetime(2026, 3, 2, 9, 0, tzinfo=UTC), 10)

    assert [(p.platform_post_id, p.text, p.created_at) for p in posts] == [
        ("2", "Launch day", datetime(2026, 3, 2, 9, 30, tzinfo=UTC)),
        ("1", "Teaser", datetime(2026, 3, 2, 9, 10, tzinfo=UTC)),
    ]
    assert posts[0].url == "https://x.com/acme/status/2"
    assert httpserver.log[0][0].headers["Authorization"] == "Bearer user-token"

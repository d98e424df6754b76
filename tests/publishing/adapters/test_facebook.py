"""Facebook Page adapter against a local fake speaking contracts.md 2.4."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
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
from publishing.adapters.facebook import FacebookAdapter

from .specs import check_meta_form

PAGE = "112233445566"
FEED = f"/v23.0/{PAGE}/feed"
CREDENTIALS = Credentials(account_id=PAGE, access_token="page-token")


def _request(text: str = "Spring sale starts today", **kwargs) -> PublishRequest:
    return PublishRequest(platform="facebook", text=text, credentials=CREDENTIALS, idempotency_key="k", **kwargs)


def _error(code: int, message: str, **extra) -> dict:
    return {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A1b2", **extra}}


def test_it_posts_to_the_page_feed_and_returns_the_post_id(httpserver: HTTPServer, base_url):
    httpserver.expect_request(FEED, method="POST").respond_with_json(
        {"id": f"{PAGE}_987654321"},
        headers={"X-App-Usage": json.dumps({"call_count": 12, "total_cputime": 3, "total_time": 4})},
    )

    result = FacebookAdapter().publish(_request(link_url="https://example.com/sale"))

    assert result.platform_post_id == f"{PAGE}_987654321"
    assert result.url == f"https://www.facebook.com/{PAGE}/posts/987654321"
    assert result.rate_limit.remaining == 88
    [(sent, _)] = httpserver.log
    assert (sent.method, sent.path) == ("POST", FEED)
    assert sent.form.to_dict() == {
        "message": "Spring sale starts today",
        "link": "https://example.com/sale",
        "access_token": "page-token",
    }


def test_the_form_it_sends_uses_only_parameters_of_the_page_feed_edge(base_url):
    check_meta_form(FacebookAdapter().build_publish_request(_request(link_url="https://e.com")).form, "Page", "feed")
    with pytest.raises(AssertionError):  # the check can fail
        check_meta_form({"message": "x", "status": "y"}, "Page", "feed")


def test_throttled_page_waits_the_estimated_time(httpserver: HTTPServer, base_url):
    usage = {
        PAGE: [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 10,
                "total_time": 10,
                "estimated_time_to_regain_access": 7,
            }
        ]
    }
    httpserver.expect_request(FEED).respond_with_json(
        _error(32, "Page request limit reached"), status=400, headers={"X-Business-Use-Case-Usage": json.dumps(usage)}
    )

    with pytest.raises(RetryAfterError) as caught:
        FacebookAdapter().publish(_request())
    assert caught.value.retry_after == 420


@pytest.mark.parametrize(("retry_after", "wait"), [("0", 0), ("30", 30), (None, 300)])
def test_a_throttle_waits_what_retry_after_says_even_zero(httpserver: HTTPServer, base_url, retry_after, wait):
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    httpserver.expect_request(FEED).respond_with_json(
        _error(32, "Page request limit reached"), status=400, headers=headers
    )

    with pytest.raises(RetryAfterError) as caught:
        FacebookAdapter().publish(_request())
    assert caught.value.retry_after == wait  # 0 is "try again now", not "no answer" (which waits 5 minutes)


def test_expired_page_token_is_an_auth_error(httpserver: HTTPServer, base_url):
    httpserver.expect_request(FEED).respond_with_json(
        _error(190, "Error validating access token: Session has expired", error_subcode=463), status=400
    )

    with pytest.raises(AuthError, match="Graph error 190/463"):
        FacebookAdapter().publish(_request())


def test_506_duplicate_post_is_permanent(httpserver: HTTPServer, base_url):
    httpserver.expect_request(FEED).respond_with_json(
        _error(506, "Duplicate status message", type="OAuthException"), status=400
    )

    with pytest.raises(DuplicateError, match="duplicate post"):
        FacebookAdapter().publish(_request())


def test_invalid_parameter_is_permanent(httpserver: HTTPServer, base_url):
    httpserver.expect_request(FEED).respond_with_json(_error(100, "Invalid parameter"), status=400)

    with pytest.raises(PermanentError, match="Invalid parameter") as caught:
        FacebookAdapter().publish(_request())
    assert not isinstance(caught.value, (AuthError, DuplicateError))


def test_500_is_retried_later(httpserver: HTTPServer, base_url):
    httpserver.expect_request(FEED).respond_with_json(
        _error(2, "Service temporarily unavailable", is_transient=True), status=500
    )

    with pytest.raises(RetryAfterError):
        FacebookAdapter().publish(_request())


def test_timeout_after_sending_is_outcome_unknown_and_not_resent(hang):
    hang.at(FEED)

    with pytest.raises(OutcomeUnknownError):
        FacebookAdapter().publish(_request())
    assert hang.received(FEED) == 1


def test_validate_limits_the_message():
    assert FacebookAdapter().validate(_request("a" * 63206)) == []
    assert FacebookAdapter().validate(_request("a" * 63207)) == ["text: 63207 characters, Facebook allows 63206"]


def test_lookup_recent_reads_the_page_feed(httpserver: HTTPServer, base_url):
    since = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    httpserver.expect_request(
        FEED,
        method="GET",
        query_string={
            "fields": "id,message,created_time",
            "since": str(int(since.timestamp())),
            "limit": "5",
            "access_token": "page-token",
        },
    ).respond_with_json(
        {
            "data": [
                {"id": f"{PAGE}_2", "message": "Spring sale starts today", "created_time": "2026-03-02T09:30:00+0000"}
            ]
        }
    )

    [post] = FacebookAdapter().lookup_recent(CREDENTIALS, since, 5)

    assert (post.platform_post_id, post.text, post.created_at) == (
        f"{PAGE}_2",
        "Spring sale starts today",
        datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    )
    assert post.url == f"https://www.facebook.com/{PAGE}/posts/2"

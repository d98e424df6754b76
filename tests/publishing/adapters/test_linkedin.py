"""LinkedIn Posts API adapter against a local fake speaking contracts.md 2.2."""

from __future__ import annotations

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
from publishing.adapters.linkedin import LinkedInAdapter

AUTHOR = "urn:li:organization:5515715"
CREDENTIALS = Credentials(account_id=AUTHOR, access_token="li-token")


def _request(text: str = "Hello (world) #launch") -> PublishRequest:
    return PublishRequest(platform="linkedin", text=text, credentials=CREDENTIALS, idempotency_key="post_social:2")


def test_it_posts_escaped_commentary_and_reads_the_urn_from_the_header(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/rest/posts", method="POST").respond_with_data(
        "", status=201, headers={"x-restli-id": "urn:li:share:7100000000000000001"}
    )

    result = LinkedInAdapter().publish(_request())

    assert result.platform_post_id == "urn:li:share:7100000000000000001"
    assert result.url == "https://www.linkedin.com/feed/update/urn:li:share:7100000000000000001/"
    [(sent, _)] = httpserver.log
    assert (sent.method, sent.path) == ("POST", "/rest/posts")
    assert sent.headers["Authorization"] == "Bearer li-token"
    assert sent.headers["LinkedIn-Version"] == "202510"
    assert sent.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert sent.get_json() == {
        "author": AUTHOR,
        "commentary": "Hello \\(world\\) \\#launch",
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }


def test_201_without_x_restli_id_is_outcome_unknown(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/rest/posts").respond_with_data("", status=201)

    with pytest.raises(OutcomeUnknownError):
        LinkedInAdapter().publish(_request())


def test_422_duplicate_post_carries_the_original_urn(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/rest/posts").respond_with_json(
        {
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "message": "Content is a duplicate of urn:li:share:7099999999999999999",
            "errorDetails": {
                "inputErrors": [
                    {
                        "description": "Duplicate post is detected",
                        "input": {"inputPath": {"fieldPath": "/commentary"}},
                        "code": "DUPLICATE_POST",
                    }
                ]
            },
            "status": 422,
        },
        status=422,
    )

    with pytest.raises(DuplicateError, match="duplicate post") as caught:
        LinkedInAdapter().publish(_request())
    assert caught.value.existing_id == "urn:li:share:7099999999999999999"
    assert caught.value.detail["duplicate_of"] == "urn:li:share:7099999999999999999"


def test_422_other_validation_errors_are_permanent(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/rest/posts").respond_with_json(
        {
            "message": "ERROR :: /author :: is not a valid urn",
            "errorDetails": {"inputErrors": [{"code": "INVALID_URN_TYPE", "description": "bad author"}]},
            "status": 422,
        },
        status=422,
    )

    with pytest.raises(PermanentError, match="is not a valid urn") as caught:
        LinkedInAdapter().publish(_request())
    assert not isinstance(caught.value, DuplicateError)


def test_401_expired_token_is_an_auth_error(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/rest/posts").respond_with_json(
        {
            "status": 401,
            "serviceErrorCode": 65601,
            "code": "REVOKED_ACCESS_TOKEN",
            "message": "The token used in the request has been revoked by the user",
        },
        status=401,
    )

    with pytest.raises(AuthError, match="revoked"):
        LinkedInAdapter().publish(_request())


def test_426_retired_version_is_a_configuration_error(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/rest/posts").respond_with_json(
        {"status": 426, "code": "NONEXISTENT_VERSION", "message": "Requested version 20240101 is not active"},
        status=426,
    )

    with pytest.raises(PermanentError, match="LINKEDIN_API_VERSION"):
        LinkedInAdapter().publish(_request())


def test_429_honours_retry_after(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/rest/posts").respond_with_json(
        {
            "status": 429,
            "message": "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
        },
        status=429,
        headers={"Retry-After": "3600"},
    )

    with pytest.raises(RetryAfterError) as caught:
        LinkedInAdapter().publish(_request())
    assert caught.value.retry_after == 3600


def test_429_without_retry_after_backs_off(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/rest/posts").respond_with_json({"status": 429, "message": "throttled"}, status=429)

    with pytest.raises(RetryAfterError) as caught:
        LinkedInAdapter().publish(_request())
    assert caught.value.retry_after >= 60


def test_500_is_retried_later(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/rest/posts").respond_with_json({"status": 500, "message": "Internal error"}, status=500)

    with pytest.raises(RetryAfterError):
        LinkedInAdapter().publish(_request())


def test_timeout_after_sending_is_outcome_unknown_and_not_resent(hang):
    hang.at("/rest/posts")

    with pytest.raises(OutcomeUnknownError):
        LinkedInAdapter().publish(_request())
    assert hang.received("/rest/posts") == 1


def test_validate_limits_commentary_and_refuses_what_it_cannot_send():
    adapter = LinkedInAdapter()
    assert adapter.validate(_request("a" * 3000)) == []
    assert adapter.validate(_request("a" * 3001)) == ["text: 3001 characters, LinkedIn allows 3000"]
    problems = adapter.validate(
        PublishRequest(
            platform="linkedin", text="hi", credentials=CREDENTIALS, idempotency_key="k", reply_to="urn:li:share:1"
        )
    )
    assert problems == ["reply_to: LinkedIn posts cannot be replies (comments use another API)"]


def test_lookup_recent_finds_posts_by_author_and_unescapes_them(httpserver: HTTPServer, base_url):
    httpserver.expect_request(
        "/rest/posts",
        method="GET",
        query_string={"q": "author", "author": AUTHOR, "count": "10", "sortBy": "LAST_MODIFIED"},
    ).respond_with_json(
        {
            "paging": {"start": 0, "count": 10, "links": []},
            "elements": [
                {"id": "urn:li:share:3", "commentary": "Hello \\(world\\)", "createdAt": 1772445600000},
                {"id": "urn:li:share:1", "commentary": "Old", "createdAt": 1772359200000},
            ],
        }
    )

    posts = LinkedInAdapter().lookup_recent(CREDENTIALS, datetime(2026, 3, 2, 0, 0, tzinfo=UTC), 10)

    assert [(p.platform_post_id, p.text, p.created_at) for p in posts] == [
        ("urn:li:share:3", "Hello (world)", datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    ]
    sent = httpserver.log[0][0]
    assert "author=urn%3Ali%3Aorganization%3A5515715" in sent.query_string.decode()
    assert sent.headers["X-RestLi-Method"] == "FINDER"
    assert sent.headers["LinkedIn-Version"] == "202510"

"""The Graph error classifier and usage headers shared by the Instagram and Facebook adapters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from publishing.adapters.base import AuthError, DuplicateError, PermanentError, RetryAfterError
from publishing.adapters.facebook import FacebookAdapter
from publishing.adapters.graph import usage_rate_limit
from publishing.adapters.http import HttpResponse
from publishing.adapters.instagram import InstagramAdapter

ADAPTERS = [FacebookAdapter, InstagramAdapter]


def _graph_error(code: int, status: int = 400, *, subcode: int | None = None, transient: bool = False, headers=None):
    error = {"message": f"error {code}", "type": "OAuthException", "code": code, "fbtrace_id": "AbC"}
    if subcode:
        error["error_subcode"] = subcode
    if transient:
        error["is_transient"] = True
    return HttpResponse(status=status, headers=headers or {}, body={"error": error})


@pytest.mark.parametrize("adapter_class", ADAPTERS)
@pytest.mark.parametrize(
    ("code", "subcode", "status", "expected"),
    [
        (190, 463, 400, AuthError),  # token expired, HTTP 400: the code decides, not the status
        (102, None, 401, AuthError),
        (4, None, 400, RetryAfterError),
        (17, None, 400, RetryAfterError),
        (32, None, 400, RetryAfterError),
        (613, None, 400, RetryAfterError),
        (80001, None, 400, RetryAfterError),
        (9, 2207042, 400, RetryAfterError),
        (1, None, 500, RetryAfterError),
        (2, None, 503, RetryAfterError),
        (100, None, 400, PermanentError),
        (100, None, 500, PermanentError),
        (368, None, 400, PermanentError),
        (1609005, None, 400, PermanentError),
        (10, None, 403, PermanentError),
        (506, None, 400, DuplicateError),
    ],
)
def test_graph_errors_are_classified_on_the_code(adapter_class, code, subcode, status, expected):
    error = adapter_class().error_for(_graph_error(code, status, subcode=subcode))

    assert type(error) is expected
    assert f"Graph error {code}" in str(error)


def test_is_transient_makes_an_unknown_code_retryable():
    transient = FacebookAdapter().error_for(_graph_error(12345, transient=True))
    assert isinstance(transient, RetryAfterError) and not transient.throttled  # a retry: the attempt counts
    assert type(FacebookAdapter().error_for(_graph_error(12345))) is PermanentError


def test_a_5xx_without_a_graph_body_is_retried():
    error = FacebookAdapter().error_for(HttpResponse(status=502, body="Bad Gateway"))
    assert isinstance(error, RetryAfterError)


def test_throttling_waits_the_estimated_time_to_regain_access():
    usage = {
        "112233": [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 30,
                "total_time": 40,
                "estimated_time_to_regain_access": 12,
            }
        ]
    }
    response = _graph_error(32, headers={"X-Business-Use-Case-Usage": json.dumps(usage)})

    error = FacebookAdapter().error_for(response)

    assert error.retry_after == 12 * 60
    assert error.rate_limit.remaining == 0
    assert error.throttled  # a rate limit although HTTP says 400: waiting costs no attempt


def test_throttling_without_an_estimate_backs_off_for_minutes():
    assert FacebookAdapter().error_for(_graph_error(4)).retry_after >= 300


def test_usage_headers_become_percent_remaining_and_a_reset_time():
    at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    headers = {
        "X-App-Usage": json.dumps({"call_count": 20, "total_cputime": 5, "total_time": 9}),
        "X-Business-Use-Case-Usage": json.dumps(
            {
                "1": [
                    {
                        "type": "instagram",
                        "call_count": 64,
                        "total_cputime": 3,
                        "total_time": 2,
                        "estimated_time_to_regain_access": 0,
                    }
                ]
            }
        ),
    }

    limit = usage_rate_limit(headers, at=at)

    assert (limit.remaining, limit.limit, limit.reset_at) == (36, 100, None)
    headers["X-Business-Use-Case-Usage"] = json.dumps(
        {"1": [{"call_count": 100, "estimated_time_to_regain_access": 5}]}
    )
    assert usage_rate_limit(headers, at=at).reset_at == at + timedelta(minutes=5)
    assert usage_rate_limit({}) is None

"""Instagram adapter against a local fake speaking contracts.md 2.3: container, poll, media_publish."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer

from publishing.adapters.base import (
    AuthError,
    Credentials,
    OutcomeUnknownError,
    PermanentError,
    PublishRequest,
    RetryAfterError,
)
from publishing.adapters.instagram import InstagramAdapter

from .specs import check_meta_form

IG_USER = "17841400008460056"
MEDIA = f"/v23.0/{IG_USER}/media"
PUBLISH = f"/v23.0/{IG_USER}/media_publish"
CONTAINER = "17889455560051444"
IMAGE = "https://cdn.example.com/spring.jpg"
CREDENTIALS = Credentials(account_id=IG_USER, access_token="ig-token")
STATUS_QUERY = {"fields": "status_code,status", "access_token": "ig-token"}


def _request(text: str = "Spring is here", media_urls: tuple[str, ...] = (IMAGE,)) -> PublishRequest:
    return PublishRequest(
        platform="instagram", text=text, credentials=CREDENTIALS, idempotency_key="k", media_urls=media_urls
    )


@pytest.fixture
def adapter() -> InstagramAdapter:
    adapter = InstagramAdapter()
    adapter.container_poll_interval = 0.0
    return adapter


def _container_ready(httpserver: HTTPServer) -> None:
    httpserver.expect_request(MEDIA, method="POST").respond_with_json({"id": CONTAINER})
    httpserver.expect_request(f"/v23.0/{CONTAINER}", method="GET", query_string=STATUS_QUERY).respond_with_json(
        {
            "status_code": "FINISHED",
            "status": "Finished: Media has been uploaded and it is ready to be published.",
            "id": CONTAINER,
        }
    )


def test_it_creates_a_container_waits_for_it_and_publishes(httpserver: HTTPServer, base_url, adapter):
    httpserver.expect_request(MEDIA, method="POST").respond_with_json({"id": CONTAINER})
    httpserver.expect_oneshot_request(f"/v23.0/{CONTAINER}", query_string=STATUS_QUERY).respond_with_json(
        {"status_code": "IN_PROGRESS", "status": "In Progress", "id": CONTAINER}
    )
    httpserver.expect_request(f"/v23.0/{CONTAINER}", query_string=STATUS_QUERY).respond_with_json(
        {"status_code": "FINISHED", "status": "Finished", "id": CONTAINER}
    )
    usage = {
        IG_USER: [
            {
                "type": "instagram",
                "call_count": 30,
                "total_cputime": 1,
                "total_time": 1,
                "estimated_time_to_regain_access": 0,
            }
        ]
    }
    httpserver.expect_request(PUBLISH, method="POST").respond_with_json(
        {"id": "17920238422030506"}, headers={"X-Business-Use-Case-Usage": json.dumps(usage)}
    )
    httpserver.expect_request(
        "/v23.0/17920238422030506", query_string={"fields": "permalink", "access_token": "ig-token"}
    ).respond_with_json({"permalink": "https://www.instagram.com/p/C1a2b3/", "id": "17920238422030506"})

    result = adapter.publish(_request())

    assert result.platform_post_id == "17920238422030506"
    assert result.url == "https://www.instagram.com/p/C1a2b3/"
    assert result.rate_limit.remaining == 70
    calls = [(r.method, r.path) for r, _ in httpserver.log]
    assert calls == [
        ("POST", MEDIA),
        ("GET", f"/v23.0/{CONTAINER}"),
        ("GET", f"/v23.0/{CONTAINER}"),
        ("POST", PUBLISH),
        ("GET", "/v23.0/17920238422030506"),
    ]
    container_form = httpserver.log[0][0].form.to_dict()
    assert container_form == {"caption": "Spring is here", "image_url": IMAGE, "access_token": "ig-token"}
    assert httpserver.log[3][0].form.to_dict() == {"creation_id": CONTAINER, "access_token": "ig-token"}


def test_the_forms_it_sends_use_only_parameters_of_the_ig_user_edges(base_url):
    check_meta_form(InstagramAdapter().build_publish_request(_request()).form, "IGUser", "media")
    check_meta_form({"creation_id": CONTAINER, "access_token": "t"}, "IGUser", "media_publish")
    with pytest.raises(AssertionError):  # media_publish requires creation_id
        check_meta_form({"access_token": "t"}, "IGUser", "media_publish")


def test_a_failed_container_is_permanent_and_nothing_is_published(httpserver: HTTPServer, base_url, adapter):
    httpserver.expect_request(MEDIA, method="POST").respond_with_json({"id": CONTAINER})
    httpserver.expect_request(f"/v23.0/{CONTAINER}").respond_with_json(
        {"status_code": "ERROR", "status": "Error: Media download has failed. 2207003", "id": CONTAINER}
    )

    with pytest.raises(PermanentError, match="2207003"):
        adapter.publish(_request())
    assert PUBLISH not in [r.path for r, _ in httpserver.log]


def test_a_container_still_in_progress_after_the_polls_is_retried_later(httpserver: HTTPServer, base_url, adapter):
    adapter.container_poll_attempts = 3
    httpserver.expect_request(MEDIA, method="POST").respond_with_json({"id": CONTAINER})
    httpserver.expect_request(f"/v23.0/{CONTAINER}").respond_with_json({"status_code": "IN_PROGRESS", "id": CONTAINER})

    with pytest.raises(RetryAfterError, match="not ready after 3 checks"):
        adapter.publish(_request())
    paths = [r.path for r, _ in httpserver.log]
    assert paths.count(f"/v23.0/{CONTAINER}") == 3
    assert PUBLISH not in paths


def test_publish_limit_reached_is_retried_later(httpserver: HTTPServer, base_url, adapter):
    _container_ready(httpserver)
    httpserver.expect_request(PUBLISH, method="POST").respond_with_json(
        {
            "error": {
                "message": "Application request limit reached",
                "type": "OAuthException",
                "code": 9,
                "error_subcode": 2207042,
                "fbtrace_id": "x",
            }
        },
        status=400,
    )

    with pytest.raises(RetryAfterError, match="Graph error 9/2207042"):
        adapter.publish(_request())


def test_app_throttling_waits_the_estimated_time(httpserver: HTTPServer, base_url, adapter):
    usage = {
        IG_USER: [
            {
                "type": "instagram",
                "call_count": 100,
                "total_cputime": 10,
                "total_time": 10,
                "estimated_time_to_regain_access": 3,
            }
        ]
    }
    httpserver.expect_request(MEDIA, method="POST").respond_with_json(
        {
            "error": {
                "message": "(#4) Application request limit reached",
                "type": "OAuthException",
                "code": 4,
                "is_transient": True,
                "fbtrace_id": "x",
            }
        },
        status=400,
        headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
    )

    with pytest.raises(RetryAfterError) as caught:
        adapter.publish(_request())
    assert caught.value.retry_after == 180


def test_expired_token_is_an_auth_error(httpserver: HTTPServer, base_url, adapter):
    httpserver.expect_request(MEDIA, method="POST").respond_with_json(
        {
            "error": {
                "message": "Error validating access token",
                "type": "OAuthException",
                "code": 190,
                "error_subcode": 463,
                "fbtrace_id": "x",
            }
        },
        status=400,
    )

    with pytest.raises(AuthError):
        adapter.publish(_request())


def test_a_bad_image_is_permanent(httpserver: HTTPServer, base_url, adapter):
    httpserver.expect_request(MEDIA, method="POST").respond_with_json(
        {
            "error": {
                "message": "Invalid parameter",
                "type": "OAuthException",
                "code": 100,
                "error_subcode": 2207004,
                "fbtrace_id": "x",
            }
        },
        status=400,
    )

    with pytest.raises(PermanentError, match="100/2207004"):
        adapter.publish(_request())


def test_5xx_on_media_publish_is_retried_later(httpserver: HTTPServer, base_url, adapter):
    _container_ready(httpserver)
    httpserver.expect_request(PUBLISH, method="POST").respond_with_json(
        {
            "error": {
                "message": "An unknown error has occurred.",
                "type": "OAuthException",
                "code": 1,
                "fbtrace_id": "x",
            }
        },
        status=500,
    )

    with pytest.raises(RetryAfterError):
        adapter.publish(_request())


def test_timeout_creating_the_container_is_retried_as_nothing_was_published(hang, adapter):
    hang.at(MEDIA)

    with pytest.raises(RetryAfterError, match="nothing was published"):
        adapter.publish(_request())
    assert hang.received(MEDIA) == 1


def test_timeout_on_media_publish_is_outcome_unknown_and_names_the_container(httpserver: HTTPServer, hang, adapter):
    _container_ready(httpserver)
    hang.at(PUBLISH)

    with pytest.raises(OutcomeUnknownError) as caught:
        adapter.publish(_request())
    assert caught.value.detail["container_id"] == CONTAINER
    assert hang.received(PUBLISH) == 1


def test_validate_requires_one_image_and_limits_the_caption():
    adapter = InstagramAdapter()
    assert adapter.validate(_request("a" * 2200)) == []
    assert adapter.validate(_request("a" * 2201)) == ["text: 2201 characters, Instagram allows 2200"]
    assert adapter.validate(_request(media_urls=())) == ["media_urls: none given, Instagram requires an image"]
    assert adapter.validate(_request(media_urls=(IMAGE, IMAGE))) == [
        "media_urls: 2 images, this Instagram adapter allows 1"
    ]


def test_publish_without_an_image_calls_nothing(httpserver: HTTPServer, base_url, adapter):
    with pytest.raises(PermanentError, match="requires an image"):
        adapter.publish(_request(media_urls=()))
    assert httpserver.log == []


def test_lookup_recent_reads_the_media_edge(httpserver: HTTPServer, base_url):
    since = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    httpserver.expect_request(
        MEDIA,
        method="GET",
        query_string={
            "fields": "id,caption,timestamp,permalink",
            "since": str(int(since.timestamp())),
            "limit": "10",
            "access_token": "ig-token",
        },
    ).respond_with_json(
        {
            "data": [
                {
                    "id": "2",
                    "caption": "Spring is here",
                    "timestamp": "2026-03-02T09:30:00+0000",
                    "permalink": "https://www.instagram.com/p/B/",
                },
                {
                    "id": "1",
                    "caption": "Older",
                    "timestamp": "2026-03-01T09:30:00+0000",
                    "permalink": "https://www.instagram.com/p/A/",
                },
            ]
        }
    )

    posts = InstagramAdapter().lookup_recent(CREDENTIALS, since, 10)

    assert [(p.platform_post_id, p.text, p.created_at, p.url) for p in posts] == [
        ("2", "Spring is here", datetime(2026, 3, 2, 9, 30, tzinfo=UTC), "https://www.instagram.com/p/B/")
    ]

"""Bluesky adapter against a local fake PDS speaking contracts.md 2.5."""

from __future__ import annotations

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
from publishing.adapters.bluesky import BlueskyAdapter, build_facets, tid_for_key

from .specs import TID, check_bluesky_create

DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
ALICE = "did:plc:alice000000000000000000"
CREATE = "/xrpc/com.atproto.repo.createRecord"
RESOLVE = "/xrpc/com.atproto.identity.resolveHandle"
GET_RECORD = "/xrpc/com.atproto.repo.getRecord"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CREDENTIALS = Credentials(account_id=DID, access_token="access-jwt", extra={"@alice.bsky.social": ALICE})
TEXT = "Grüße 👋 @alice.bsky.social: read https://example.com/spring."


def _request(text: str = TEXT, key: str = "post_social:7", credentials: Credentials = CREDENTIALS) -> PublishRequest:
    return PublishRequest(platform="bluesky", text=text, credentials=credentials, idempotency_key=key)


def _created(rkey: str) -> dict:
    return {"uri": f"at://{DID}/app.bsky.feed.post/{rkey}", "cid": "bafyreib2rxk3rh6kzwq", "validationStatus": "valid"}


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def test_it_creates_the_record_at_its_own_rkey_with_byte_offset_facets(httpserver: HTTPServer, base_url, frozen):
    rkey = tid_for_key("post_social:7")
    httpserver.expect_request(CREATE, method="POST").respond_with_json(
        _created(rkey),
        headers={
            "RateLimit-Limit": "5000",
            "RateLimit-Remaining": "4997",
            "RateLimit-Reset": str(int(NOW.timestamp()) + 3600),
            "RateLimit-Policy": "5000;w=3600",
        },
    )

    result = BlueskyAdapter().publish(_request())

    assert result.platform_post_id == f"at://{DID}/app.bsky.feed.post/{rkey}"
    assert result.url == f"https://bsky.app/profile/{DID}/post/{rkey}"
    assert result.raw["cid"] == "bafyreib2rxk3rh6kzwq"
    assert (result.rate_limit.remaining, result.rate_limit.limit) == (4997, 5000)
    [(sent, _)] = httpserver.log
    assert (sent.method, sent.path, sent.headers["Authorization"]) == ("POST", CREATE, "Bearer access-jwt")
    # "Grüße 👋 " is 8 characters but 13 UTF-8 bytes: the mention starts at byte 13, not 8.
    assert sent.get_json() == {
        "repo": DID,
        "collection": "app.bsky.feed.post",
        "rkey": rkey,
        "record": {
            "$type": "app.bsky.feed.post",
            "text": TEXT,
            "createdAt": "2026-03-02T10:00:00.000Z",
            "facets": [
                {
                    "index": {"byteStart": 13, "byteEnd": 31},
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": ALICE}],
                },
                {
                    "index": {"byteStart": 38, "byteEnd": 64},
                    "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/spring"}],
                },
            ],
        },
    }
    text = TEXT.encode()
    assert text[13:31] == b"@alice.bsky.social" and text[38:64] == b"https://example.com/spring"


def test_the_body_it_sends_matches_the_lexicons(base_url):
    for text in (TEXT, "plain", "(see https://example.com/a_(b)) @nobody.example"):
        check_bluesky_create(BlueskyAdapter().build_publish_request(_request(text)).body)


def test_the_lexicon_check_can_fail(base_url):
    body = BlueskyAdapter().build_publish_request(_request()).body
    with pytest.raises(AssertionError, match="graphemes"):
        check_bluesky_create({**body, "record": {**body["record"], "text": "x" * 301, "facets": []}})
    broken = [{"index": {"byteStart": 60, "byteEnd": 90}, "features": body["record"]["facets"][1]["features"]}]
    with pytest.raises(AssertionError, match="outside"):
        check_bluesky_create({**body, "record": {**body["record"], "facets": broken}})


def test_the_rkey_is_a_tid_fixed_by_the_idempotency_key():
    assert tid_for_key("post_social:7") == tid_for_key("post_social:7")
    assert tid_for_key("post_social:7") != tid_for_key("post_social:8")
    assert all(TID.match(tid_for_key(f"post_social:{n}")) for n in range(200))


def test_facets_skip_emails_and_handles_without_a_did():
    assert build_facets("mail bob@example.com or @carol.example.com", {}) == []


def test_link_facets_leave_out_trailing_punctuation_and_unmatched_parentheses():
    facets = build_facets("see https://example.com/x, and (https://en.wikipedia.org/wiki/A_(b)).", {})

    assert [f["features"][0]["uri"] for f in facets] == ["https://example.com/x", "https://en.wikipedia.org/wiki/A_(b)"]


def test_an_unknown_mention_is_resolved_on_the_pds(httpserver: HTTPServer, base_url):
    httpserver.expect_request(RESOLVE, query_string={"handle": "bob.example.com"}).respond_with_json(
        {"did": "did:plc:bob"}
    )
    httpserver.expect_request(CREATE, method="POST").respond_with_json(_created(tid_for_key("k")))

    BlueskyAdapter().publish(_request("hi @bob.example.com", key="k"))

    facets = httpserver.log[-1][0].get_json()["record"]["facets"]
    assert facets == [
        {
            "index": {"byteStart": 3, "byteEnd": 19},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:bob"}],
        }
    ]


def test_a_handle_that_does_not_resolve_stays_plain_text(httpserver: HTTPServer, base_url):
    httpserver.expect_request(RESOLVE).respond_with_json(
        {"error": "InvalidRequest", "message": "Unable to resolve handle"}, status=400
    )
    httpserver.expect_request(CREATE, method="POST").respond_with_json(_created(tid_for_key("k")))

    BlueskyAdapter().publish(_request("hi @ghost.example.com", key="k"))

    assert "facets" not in httpserver.log[-1][0].get_json()["record"]


def test_429_waits_until_ratelimit_reset(httpserver: HTTPServer, base_url, frozen):
    httpserver.expect_request(CREATE).respond_with_json(
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        status=429,
        headers={
            "RateLimit-Limit": "5000",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(int(NOW.timestamp()) + 900),
        },
    )

    with pytest.raises(RetryAfterError, match="RateLimitExceeded") as caught:
        BlueskyAdapter().publish(_request())
    assert caught.value.retry_after == 900
    assert caught.value.rate_limit.remaining == 0


def test_429_prefers_retry_after_when_sent(httpserver: HTTPServer, base_url, frozen):
    httpserver.expect_request(CREATE).respond_with_json(
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        status=429,
        headers={"Retry-After": "42", "RateLimit-Reset": str(int(NOW.timestamp()) + 900)},
    )

    with pytest.raises(RetryAfterError) as caught:
        BlueskyAdapter().publish(_request())
    assert caught.value.retry_after == 42


@pytest.mark.parametrize(("status", "error"), [(400, "ExpiredToken"), (400, "InvalidToken"), (401, "AuthMissing")])
def test_token_errors_are_auth_errors(httpserver: HTTPServer, base_url, status, error):
    httpserver.expect_request(CREATE).respond_with_json({"error": error, "message": "Token has expired"}, status=status)

    with pytest.raises(AuthError, match=error):
        BlueskyAdapter().publish(_request())


def test_invalid_request_is_permanent(httpserver: HTTPServer, base_url):
    httpserver.expect_request(CREATE).respond_with_json(
        {
            "error": "InvalidRequest",
            "message": "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes",
        },
        status=400,
    )

    with pytest.raises(PermanentError, match="InvalidRequest") as caught:
        BlueskyAdapter().publish(_request())
    assert not isinstance(caught.value, AuthError)


def test_a_repeat_at_an_existing_rkey_is_outcome_unknown_and_the_key_finds_the_post(httpserver: HTTPServer, base_url):
    """Bluesky has no duplicate check; re-creating at our rkey answers 500, which we reconcile."""
    rkey = tid_for_key("post_social:7")
    httpserver.expect_request(CREATE).respond_with_json(
        {"error": "InternalServerError", "message": "Internal Server Error"}, status=500
    )
    httpserver.expect_request(
        GET_RECORD, query_string={"repo": DID, "collection": "app.bsky.feed.post", "rkey": rkey}
    ).respond_with_json(
        {
            "uri": f"at://{DID}/app.bsky.feed.post/{rkey}",
            "cid": "bafy",
            "value": {"$type": "app.bsky.feed.post", "text": TEXT, "createdAt": "2026-03-02T09:59:00.000Z"},
        }
    )

    with pytest.raises(OutcomeUnknownError, match="may already exist"):
        BlueskyAdapter().publish(_request())
    found = BlueskyAdapter().lookup_by_key(CREDENTIALS, "post_social:7")

    assert (found.platform_post_id, found.text) == (f"at://{DID}/app.bsky.feed.post/{rkey}", TEXT)
    assert found.created_at == datetime(2026, 3, 2, 9, 59, tzinfo=UTC)


def test_lookup_by_key_says_none_when_the_record_does_not_exist(httpserver: HTTPServer, base_url):
    httpserver.expect_request(GET_RECORD).respond_with_json(
        {"error": "RecordNotFound", "message": "Could not locate record"}, status=400
    )

    assert BlueskyAdapter().lookup_by_key(CREDENTIALS, "post_social:7") is None


def test_503_is_retried_later(httpserver: HTTPServer, base_url):
    httpserver.expect_request(CREATE).respond_with_json({"error": "UpstreamFailure", "message": "down"}, status=503)

    with pytest.raises(RetryAfterError):
        BlueskyAdapter().publish(_request())


def test_timeout_after_sending_is_outcome_unknown_and_not_resent(hang):
    hang.at(CREATE)

    with pytest.raises(OutcomeUnknownError):
        BlueskyAdapter().publish(_request())
    assert hang.received(CREATE) == 1


def test_validate_counts_graphemes_and_bytes():
    adapter = BlueskyAdapter()
    accented = "e\u0301"  # one grapheme, two code points
    assert adapter.validate(_request(accented * 300)) == []
    assert adapter.validate(_request(accented * 301)) == ["text: 301 graphemes, Bluesky allows 300"]
    family = "👨‍👩‍👧"  # one grapheme, 18 bytes
    assert adapter.validate(_request(family * 170)) == ["text: 3060 bytes, Bluesky allows 3000"]
    assert adapter.validate(_request("")) == ["text: empty, Bluesky needs text"]


def test_lookup_recent_reads_the_author_feed_without_reposts(httpserver: HTTPServer, base_url):
    httpserver.expect_request(
        "/xrpc/app.bsky.feed.getAuthorFeed", query_string={"actor": DID, "limit": "10", "filter": "posts_with_replies"}
    ).respond_with_json(
        {
            "feed": [
                {
                    "post": {
                        "uri": f"at://{DID}/app.bsky.feed.post/3",
                        "cid": "c3",
                        "record": {"text": "new", "createdAt": "2026-03-02T09:30:00.000Z"},
                    }
                },
                {
                    "post": {
                        "uri": "at://did:plc:other/app.bsky.feed.post/9",
                        "cid": "c9",
                        "record": {"text": "theirs", "createdAt": "2026-03-02T09:40:00.000Z"},
                    },
                    "reason": {"$type": "app.bsky.feed.defs#reasonRepost"},
                },
                {
                    "post": {
                        "uri": f"at://{DID}/app.bsky.feed.post/1",
                        "cid": "c1",
                        "record": {"text": "old", "createdAt": "2026-03-01T09:30:00.000Z"},
                    }
                },
            ]
        }
    )

    posts = BlueskyAdapter().lookup_recent(CREDENTIALS, datetime(2026, 3, 2, 0, 0, tzinfo=UTC), 10)

    assert [(p.platform_post_id, p.text) for p in posts] == [(f"at://{DID}/app.bsky.feed.post/3", "new")]
    assert httpserver.log[0][0].headers["Authorization"] == "Bearer access-jwt"

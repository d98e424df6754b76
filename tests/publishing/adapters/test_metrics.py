"""fetch_metrics of every live adapter against a local fake answering the platforms' shapes (contracts.md 2)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs

import pytest
from pytest_httpserver import HTTPServer

from publishing.adapters.base import AuthError, Credentials, RetryAfterError
from publishing.adapters.bluesky import BlueskyAdapter
from publishing.adapters.facebook import FacebookAdapter
from publishing.adapters.instagram import InstagramAdapter
from publishing.adapters.linkedin import LinkedInAdapter
from publishing.adapters.mastodon import MastodonAdapter
from publishing.adapters.x import XAdapter

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _only_request(httpserver: HTTPServer):
    [(sent, _)] = httpserver.log
    return sent


def test_x_reads_public_metrics_and_skips_missing_ids(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/2/tweets", method="GET").respond_with_json(
        {
            "data": [
                {
                    "id": "1445880548472328192",
                    "text": "Launch day",
                    "edit_history_tweet_ids": ["1445880548472328192"],
                    "public_metrics": {
                        "retweet_count": 4,
                        "reply_count": 2,
                        "like_count": 31,
                        "quote_count": 1,
                        "bookmark_count": 3,
                        "impression_count": 1200,
                    },
                }
            ],
            "errors": [
                {
                    "value": "1445880548472328193",
                    "detail": "Could not find tweet with ids: [1445880548472328193].",
                    "title": "Not Found Error",
                    "resource_type": "tweet",
                    "parameter": "ids",
                    "resource_id": "1445880548472328193",
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                }
            ],
        }
    )
    credentials = Credentials(account_id="2244994945", access_token="user-token")

    metrics = XAdapter().fetch_metrics(credentials, ["1445880548472328192", "1445880548472328193"])

    assert metrics == {
        "1445880548472328192": {
            "retweet_count": 4,
            "reply_count": 2,
            "like_count": 31,
            "quote_count": 1,
            "bookmark_count": 3,
            "impression_count": 1200,
            "impressions": 1200,
            "likes": 31,
            "replies": 2,
            "reposts": 4,
        }
    }
    sent = _only_request(httpserver)
    assert (sent.method, sent.path) == ("GET", "/2/tweets")
    assert sent.query_string == b"ids=1445880548472328192,1445880548472328193&tweet.fields=public_metrics"
    assert sent.headers["Authorization"] == "Bearer user-token"


def test_x_asks_at_most_100_ids_per_call(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/2/tweets", method="GET").respond_with_json({"data": []})
    ids = [str(10**18 + n) for n in range(150)]

    assert XAdapter().fetch_metrics(Credentials(account_id="1", access_token="t"), ids) == {}

    asked = [parse_qs(sent.query_string.decode())["ids"][0].split(",") for sent, _ in httpserver.log]
    assert asked == [ids[:100], ids[100:]]


def test_x_429_waits_until_the_rate_limit_reset(httpserver: HTTPServer, base_url, time_machine):
    time_machine.move_to(NOW, tick=False)
    reset = int(datetime(2026, 3, 2, 10, 5, tzinfo=UTC).timestamp())
    httpserver.expect_request("/2/tweets", method="GET").respond_with_json(
        {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
        status=429,
        headers={"x-rate-limit-limit": "15", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)},
    )

    with pytest.raises(RetryAfterError) as caught:
        XAdapter().fetch_metrics(Credentials(account_id="1", access_token="t"), ["1445880548472328192"])
    assert caught.value.retry_after == 300
    assert caught.value.status == 429


def test_mastodon_reads_each_status_and_skips_a_deleted_one(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/api/v1/statuses/113912345678901234", method="GET").respond_with_json(
        {
            "id": "113912345678901234",
            "created_at": "2026-03-02T10:00:00.000Z",
            "url": "https://mastodon.example/@acme/113912345678901234",
            "content": "<p>Spring is here</p>",
            "visibility": "public",
            "replies_count": 3,
            "reblogs_count": 5,
            "favourites_count": 12,
            "account": {"id": "109302", "followers_count": 900},
        }
    )
    httpserver.expect_request("/api/v1/statuses/113900000000000001", method="GET").respond_with_json(
        {"error": "Record not found"}, status=404
    )
    credentials = Credentials(account_id="109302", access_token="masto-token")

    metrics = MastodonAdapter().fetch_metrics(credentials, ["113912345678901234", "113900000000000001"])

    assert metrics == {
        "113912345678901234": {
            "replies_count": 3,
            "reblogs_count": 5,
            "favourites_count": 12,
            "likes": 12,
            "replies": 3,
            "reposts": 5,
        }
    }
    assert [(sent.method, sent.path, sent.query_string) for sent, _ in httpserver.log] == [
        ("GET", "/api/v1/statuses/113912345678901234", b""),
        ("GET", "/api/v1/statuses/113900000000000001", b""),
    ]
    assert all(sent.headers["Authorization"] == "Bearer masto-token" for sent, _ in httpserver.log)


def test_mastodon_401_is_an_auth_error(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/api/v1/statuses/1").respond_with_json(
        {"error": "The access token was revoked"}, status=401
    )

    with pytest.raises(AuthError):
        MastodonAdapter().fetch_metrics(Credentials(account_id="1", access_token="t"), ["1"])


BSKY_URI = "at://did:plc:abc123/app.bsky.feed.post/3lbsv6ruty22c"
BSKY_GONE = "at://did:plc:abc123/app.bsky.feed.post/3lbsv6ruty22d"


def test_bluesky_reads_getposts_with_repeated_uris(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/xrpc/app.bsky.feed.getPosts", method="GET").respond_with_json(
        {
            "posts": [
                {
                    "uri": BSKY_URI,
                    "cid": "bafyreib2rxk3rh6kzwq",
                    "author": {"did": "did:plc:abc123", "handle": "acme.bsky.social"},
                    "record": {"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2026-03-02T10:00:00.000Z"},
                    "replyCount": 1,
                    "repostCount": 2,
                    "likeCount": 7,
                    "quoteCount": 0,
                    "bookmarkCount": 4,
                    "indexedAt": "2026-03-02T10:00:01.000Z",
                    "labels": [],
                }
            ]
        }
    )
    credentials = Credentials(account_id="did:plc:abc123", access_token="access-jwt")

    metrics = BlueskyAdapter().fetch_metrics(credentials, [BSKY_URI, BSKY_GONE])

    assert metrics == {
        BSKY_URI: {
            "likeCount": 7,
            "repostCount": 2,
            "replyCount": 1,
            "quoteCount": 0,
            "bookmarkCount": 4,
            "likes": 7,
            "replies": 1,
            "reposts": 2,
        }
    }
    sent = _only_request(httpserver)
    assert (sent.method, sent.path) == ("GET", "/xrpc/app.bsky.feed.getPosts")
    assert sent.args.getlist("uris") == [BSKY_URI, BSKY_GONE]
    assert sent.headers["Authorization"] == "Bearer access-jwt"


def test_bluesky_asks_at_most_25_uris_per_call(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/xrpc/app.bsky.feed.getPosts").respond_with_json({"posts": []})
    uris = [f"at://did:plc:abc123/app.bsky.feed.post/3lbsv6ruty{n:03d}" for n in range(30)]

    BlueskyAdapter().fetch_metrics(Credentials(account_id="did:plc:abc123", access_token="t"), uris)

    assert [sent.args.getlist("uris") for sent, _ in httpserver.log] == [uris[:25], uris[25:]]


def test_linkedin_reads_organizational_share_statistics(httpserver: HTTPServer, base_url):
    path = "/rest/organizationalEntityShareStatistics"
    httpserver.expect_request(path, method="GET").respond_with_json(
        {
            "paging": {"count": 10, "start": 0, "links": []},
            "elements": [
                {
                    "organizationalEntity": "urn:li:organization:2414183",
                    "share": "urn:li:share:7100000000000000001",
                    "totalShareStatistics": {
                        "uniqueImpressionsCount": 80,
                        "shareCount": 2,
                        "engagement": 0.0625,
                        "clickCount": 9,
                        "likeCount": 12,
                        "impressionCount": 128,
                        "commentCount": 4,
                    },
                }
            ],
        }
    )
    credentials = Credentials(account_id="urn:li:organization:2414183", access_token="li-token")

    metrics = LinkedInAdapter().fetch_metrics(credentials, ["urn:li:share:7100000000000000001"])

    assert metrics == {
        "urn:li:share:7100000000000000001": {
            "uniqueImpressionsCount": 80,
            "shareCount": 2,
            "clickCount": 9,
            "likeCount": 12,
            "impressionCount": 128,
            "commentCount": 4,
            "impressions": 128,
            "likes": 12,
            "replies": 4,
            "reposts": 2,
            "clicks": 9,
        }
    }
    sent = _only_request(httpserver)
    assert (sent.method, sent.path) == ("GET", path)
    assert sent.query_string == (
        b"q=organizationalEntity&organizationalEntity=urn%3Ali%3Aorganization%3A2414183"
        b"&shares=List(urn%3Ali%3Ashare%3A7100000000000000001)"
    )
    assert sent.args["shares"] == "List(urn:li:share:7100000000000000001)"
    assert sent.headers["Authorization"] == "Bearer li-token"
    assert sent.headers["LinkedIn-Version"] == "202510"
    assert sent.headers["X-Restli-Protocol-Version"] == "2.0.0"


IG_MEDIA = "17918195224117851"


def test_instagram_reads_media_insights(httpserver: HTTPServer, base_url):
    def metric(name: str, value: int) -> dict:
        return {
            "name": name,
            "period": "lifetime",
            "values": [{"value": value}],
            "title": name.title(),
            "description": "",
            "id": f"{IG_MEDIA}/insights/{name}/lifetime",
        }

    httpserver.expect_request(f"/v23.0/{IG_MEDIA}/insights", method="GET").respond_with_json(
        {
            "data": [
                metric("views", 950),
                metric("reach", 700),
                metric("likes", 40),
                metric("comments", 6),
                metric("shares", 3),
                metric("saved", 8),
                metric("total_interactions", 57),
            ]
        }
    )
    credentials = Credentials(account_id="17841400008460056", access_token="ig-token")

    metrics = InstagramAdapter().fetch_metrics(credentials, [IG_MEDIA])

    assert metrics == {
        IG_MEDIA: {
            "views": 950,
            "reach": 700,
            "likes": 40,
            "comments": 6,
            "shares": 3,
            "saved": 8,
            "total_interactions": 57,
            "impressions": 950,
            "replies": 6,
            "reposts": 3,
        }
    }
    sent = _only_request(httpserver)
    assert (sent.method, sent.path) == ("GET", f"/v23.0/{IG_MEDIA}/insights")
    assert sent.args.to_dict() == {
        "metric": "views,reach,likes,comments,shares,saved,total_interactions",
        "access_token": "ig-token",
    }


def test_instagram_empty_data_means_no_metrics_not_zeros(httpserver: HTTPServer, base_url):
    httpserver.expect_request(f"/v23.0/{IG_MEDIA}/insights").respond_with_json({"data": []})

    assert InstagramAdapter().fetch_metrics(Credentials(account_id="1", access_token="t"), [IG_MEDIA]) == {}


def test_instagram_throttle_is_a_retry_after_the_regain_estimate(httpserver: HTTPServer, base_url):
    httpserver.expect_request(f"/v23.0/{IG_MEDIA}/insights").respond_with_json(
        {"error": {"message": "Application request limit reached", "type": "OAuthException", "code": 4}},
        status=400,
        headers={
            "X-Business-Use-Case-Usage": (
                '{"17841400008460056": [{"type": "instagram", "call_count": 100, "total_cputime": 10,'
                ' "total_time": 10, "estimated_time_to_regain_access": 12}]}'
            )
        },
    )

    with pytest.raises(RetryAfterError) as caught:
        InstagramAdapter().fetch_metrics(Credentials(account_id="1", access_token="t"), [IG_MEDIA])
    assert caught.value.retry_after == 720


def test_facebook_reads_reaction_comment_and_share_counts(httpserver: HTTPServer, base_url):
    shared, unshared = "104417895700001_122100000000000001", "104417895700001_122100000000000002"
    for post_id, extra in ((shared, {"shares": {"count": 5}}), (unshared, {})):
        httpserver.expect_request(f"/v23.0/{post_id}", method="GET").respond_with_json(
            {
                "reactions": {"data": [], "summary": {"total_count": 21, "viewer_reaction": "NONE"}},
                "comments": {"data": [], "summary": {"order": "ranked", "total_count": 4, "can_comment": True}},
                **extra,
                "id": post_id,
            }
        )
    credentials = Credentials(account_id="104417895700001", access_token="page-token")

    metrics = FacebookAdapter().fetch_metrics(credentials, [shared, unshared])

    counts = {"reactions": 21, "comments": 4, "likes": 21, "replies": 4}
    assert metrics == {
        shared: {**counts, "shares": 5, "reposts": 5},
        unshared: {**counts, "shares": 0, "reposts": 0},
    }
    assert [sent.path for sent, _ in httpserver.log] == [f"/v23.0/{shared}", f"/v23.0/{unshared}"]
    for sent, _ in httpserver.log:
        assert sent.args.to_dict() == {
            "fields": "reactions.summary(total_count),comments.summary(total_count),shares",
            "access_token": "page-token",
        }


def test_facebook_skips_a_deleted_post(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/v23.0/1_2").respond_with_json(
        {
            "error": {
                "message": "Unsupported get request. Object with ID '1_2' does not exist",
                "type": "GraphMethodException",
                "code": 100,
                "error_subcode": 33,
                "fbtrace_id": "AbCdEf",
            }
        },
        status=400,
    )

    assert FacebookAdapter().fetch_metrics(Credentials(account_id="1", access_token="t"), ["1_2"]) == {}


def test_linkedin_lists_ugcpost_urns_apart_from_shares(httpserver: HTTPServer, base_url):
    path = "/rest/organizationalEntityShareStatistics"
    httpserver.expect_request(path).respond_with_json(
        {"elements": [{"ugcPost": "urn:li:ugcPost:7", "totalShareStatistics": {"likeCount": 1}}]}
    )
    credentials = Credentials(account_id="urn:li:organization:2", access_token="t")

    metrics = LinkedInAdapter().fetch_metrics(credentials, ["urn:li:share:6", "urn:li:ugcPost:7"])

    assert metrics == {"urn:li:ugcPost:7": {"likeCount": 1, "likes": 1}}
    sent = _only_request(httpserver)
    assert (sent.args["shares"], sent.args["ugcPosts"]) == ("List(urn:li:share:6)", "List(urn:li:ugcPost:7)")

"""refresh_token per platform against a local fake token endpoint (contracts.md 2.1-2.6)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer

from publishing.adapters.base import AuthError, Credentials, PermanentError, RetryAfterError
from publishing.adapters.bluesky import BlueskyAdapter
from publishing.adapters.facebook import FacebookAdapter
from publishing.adapters.instagram import InstagramAdapter
from publishing.adapters.linkedin import LinkedInAdapter
from publishing.adapters.mastodon import MastodonAdapter
from publishing.adapters.x import XAdapter

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
OLD = Credentials(account_id="42", access_token="old-access", refresh_token="old-refresh", handle="acme")


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def oauth_apps(settings, base_url):
    settings.X_CLIENT_ID, settings.X_CLIENT_SECRET = "x-client", "x-secret"
    settings.LINKEDIN_CLIENT_ID, settings.LINKEDIN_CLIENT_SECRET = "li-client", "li-secret"
    settings.LINKEDIN_OAUTH_BASE_URL = base_url
    settings.INSTAGRAM_API_BASE_URL = base_url


def test_x_refresh_posts_the_grant_with_basic_auth_and_stores_the_rotated_token(
    httpserver: HTTPServer, oauth_apps, frozen
):
    httpserver.expect_request("/2/oauth2/token", method="POST").respond_with_json(
        {"token_type": "bearer", "expires_in": 7200, "access_token": "new-access",
         "scope": "tweet.read tweet.write users.read offline.access", "refresh_token": "new-refresh"}
    )  # fmt: skip

    fresh = XAdapter().refresh_token(OLD)

    assert (fresh.access_token, fresh.refresh_token) == ("new-access", "new-refresh")
    assert fresh.expires_at == NOW + timedelta(hours=2)
    assert "offline.access" in fresh.scopes
    [(sent, _)] = httpserver.log
    assert sent.form.to_dict() == {
        "grant_type": "refresh_token",
        "refresh_token": "old-refresh",
        "client_id": "x-client",
    }
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(b"x-client:x-secret").decode()


def test_x_refresh_refused_as_invalid_grant_is_permanent(httpserver: HTTPServer, oauth_apps):
    httpserver.expect_request("/2/oauth2/token", method="POST").respond_with_json(
        {"error": "invalid_request", "error_description": "Value passed for the token was invalid."}, status=400
    )
    with pytest.raises(PermanentError, match="HTTP 400"):
        XAdapter().refresh_token(OLD)


def test_x_refresh_answered_503_is_retry_after(httpserver: HTTPServer, oauth_apps):
    httpserver.expect_request("/2/oauth2/token", method="POST").respond_with_json(
        {"title": "Service Unavailable", "status": 503}, status=503, headers={"Retry-After": "10"}
    )
    with pytest.raises(RetryAfterError):
        XAdapter().refresh_token(OLD)


def test_linkedin_refresh_keeps_the_refresh_token_when_none_comes_back(httpserver: HTTPServer, oauth_apps, frozen):
    httpserver.expect_request("/oauth/v2/accessToken", method="POST").respond_with_json(
        {"access_token": "li-new", "expires_in": 5184000}
    )
    fresh = LinkedInAdapter().refresh_token(OLD)
    assert (fresh.access_token, fresh.refresh_token) == ("li-new", "old-refresh")
    [(sent, _)] = httpserver.log
    assert sent.form["client_secret"] == "li-secret" and sent.form["grant_type"] == "refresh_token"


def test_linkedin_without_a_refresh_token_needs_a_reconnect(oauth_apps):
    with pytest.raises(AuthError, match="approved partners"):
        LinkedInAdapter().refresh_token(Credentials(account_id="urn:li:person:1", access_token="t"))


def test_instagram_refresh_uses_the_ig_refresh_grant(httpserver: HTTPServer, oauth_apps, frozen):
    httpserver.expect_request(
        "/refresh_access_token",
        method="GET",
        query_string={"grant_type": "ig_refresh_token", "access_token": "old-access"},
    ).respond_with_json({"access_token": "ig-new", "token_type": "bearer", "expires_in": 5183944})
    fresh = InstagramAdapter().refresh_token(OLD)
    assert fresh.access_token == "ig-new"
    assert fresh.expires_at == NOW + timedelta(seconds=5183944)


def _jwt(exp: datetime) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part({'exp': int(exp.timestamp()), 'scope': 'com.atproto.appPass'})}.sig"


def test_bluesky_refresh_session_sends_the_refresh_jwt_and_reads_the_expiry(httpserver: HTTPServer, base_url, frozen):
    access = _jwt(NOW + timedelta(hours=2))
    httpserver.expect_request("/xrpc/com.atproto.server.refreshSession", method="POST").respond_with_json(
        {"accessJwt": access, "refreshJwt": "refresh-2", "handle": "acme.bsky.social", "did": "did:plc:abc"}
    )
    fresh = BlueskyAdapter().refresh_token(
        Credentials(account_id="did:plc:abc", access_token="a1", refresh_token="refresh-1")
    )
    assert (fresh.access_token, fresh.refresh_token, fresh.account_id) == (access, "refresh-2", "did:plc:abc")
    assert fresh.expires_at == NOW + timedelta(hours=2)
    [(sent, _)] = httpserver.log
    assert sent.headers["Authorization"] == "Bearer refresh-1"


def test_bluesky_expired_refresh_jwt_is_an_auth_error(httpserver: HTTPServer, base_url):
    httpserver.expect_request("/xrpc/com.atproto.server.refreshSession", method="POST").respond_with_json(
        {"error": "ExpiredToken", "message": "Token has expired"}, status=400
    )
    with pytest.raises(AuthError, match="ExpiredToken"):
        BlueskyAdapter().refresh_token(Credentials(account_id="did:plc:abc", refresh_token="r"))


@pytest.mark.parametrize("adapter", [FacebookAdapter, MastodonAdapter])
def test_platforms_without_a_refresh_grant_ask_for_a_reconnect(adapter, httpserver: HTTPServer, base_url):
    with pytest.raises(AuthError, match="reconnect"):
        adapter().refresh_token(OLD)
    assert not httpserver.log

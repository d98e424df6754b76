"""Connect flows against a local fake authorization server: PKCE, state, token exchange, stored accounts."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from pytest_httpserver import HTTPServer

from publishing.models import MastodonApp, SocialAccount
from tests.factories import UserFactory

TOKEN = {"token_type": "bearer", "expires_in": 7200, "access_token": "acc-1", "refresh_token": "ref-1",
         "scope": "tweet.read tweet.write users.read offline.access"}  # fmt: skip


@pytest.fixture
def fake(httpserver: HTTPServer, settings) -> HTTPServer:
    base = httpserver.url_for("").rstrip("/")
    settings.X_CLIENT_ID, settings.X_CLIENT_SECRET, settings.X_AUTHORIZE_URL = "x-cid", "", f"{base}/i/oauth2/authorize"
    settings.X_API_BASE_URL = base
    settings.LINKEDIN_CLIENT_ID, settings.LINKEDIN_CLIENT_SECRET = "li-cid", "li-secret"
    settings.LINKEDIN_OAUTH_BASE_URL = settings.LINKEDIN_API_BASE_URL = base
    settings.META_APP_ID, settings.META_APP_SECRET, settings.META_DIALOG_BASE_URL = "meta-id", "meta-secret", base
    settings.GRAPH_API_BASE_URL, settings.GRAPH_API_VERSION = base, "v23.0"
    settings.BLUESKY_PDS_URL = base
    settings.HTTP_TIMEOUT_SECONDS = 2.0
    return httpserver


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="admin", is_superuser=True))
    return client


def start(client, platform: str, **params) -> dict[str, str]:
    response = client.get(f"/admin/connect/{platform}/start/", params)
    assert response.status_code == 302, response.content
    location = urlsplit(response["Location"])
    return {"path": location.path, **{k: v[0] for k, v in parse_qs(location.query).items()}}


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def sent(fake: HTTPServer, path: str):
    return next(request for request, _ in fake.log if request.path == path)


def test_x_connect_uses_pkce_and_stores_the_account_with_encrypted_tokens(admin_client, fake):
    auth = start(admin_client, "x")
    assert auth["path"] == "/i/oauth2/authorize"
    assert (auth["client_id"], auth["code_challenge_method"], auth["response_type"]) == ("x-cid", "S256", "code")
    assert "offline.access" in auth["scope"].split()
    fake.expect_request("/2/oauth2/token", method="POST").respond_with_json(TOKEN)
    fake.expect_request("/2/users/me").respond_with_json(
        {"data": {"id": "2244994945", "name": "Acme", "username": "acme"}}
    )

    response = admin_client.get("/admin/connect/x/callback/", {"code": "the-code", "state": auth["state"]})

    assert response.status_code == 302
    exchange = sent(fake, "/2/oauth2/token").form
    assert (exchange["grant_type"], exchange["code"], exchange["client_id"]) == (
        "authorization_code",
        "the-code",
        "x-cid",
    )
    assert s256(exchange["code_verifier"]) == auth["code_challenge"]
    assert exchange["redirect_uri"] == auth["redirect_uri"] == "http://testserver/admin/connect/x/callback/"
    assert sent(fake, "/2/users/me").headers["Authorization"] == "Bearer acc-1"
    account = SocialAccount.objects.get(platform="x", external_id="2244994945")
    assert (account.handle, account.access_token, account.refresh_token) == ("acme", "acc-1", "ref-1")
    assert account.token_status == "healthy" and account.token_expires_at is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM publishing_socialaccount WHERE id = %s", [account.pk])
        assert "acc-1" not in cursor.fetchone()[0]
    # The state is single-use.
    again = admin_client.get("/admin/connect/x/callback/", {"code": "the-code", "state": auth["state"]})
    assert again.status_code == 400 and again.content.startswith(b"state:")


def test_linkedin_connect_sends_the_client_secret_and_names_the_member_urn(admin_client, fake):
    auth = start(admin_client, "linkedin")
    assert auth["path"] == "/oauth/v2/authorization"
    fake.expect_request("/oauth/v2/accessToken", method="POST").respond_with_json(
        {"access_token": "li-acc", "expires_in": 5184000, "scope": "openid,profile,w_member_social"}
    )
    fake.expect_request("/v2/userinfo").respond_with_json({"sub": "782bbtaQ", "name": "Ada Lovelace"})

    assert (
        admin_client.get("/admin/connect/linkedin/callback/", {"code": "c", "state": auth["state"]}).status_code == 302
    )

    assert sent(fake, "/oauth/v2/accessToken").form["client_secret"] == "li-secret"
    account = SocialAccount.objects.get(platform="linkedin")
    assert (account.external_id, account.access_token) == ("urn:li:person:782bbtaQ", "li-acc")
    assert account.scopes == ["openid", "profile", "w_member_social"]


def test_meta_connect_exchanges_for_a_long_lived_token_and_adds_each_page_and_instagram_account(admin_client, fake):
    auth = start(admin_client, "meta")
    assert auth["path"] == "/v23.0/dialog/oauth"
    fake.expect_ordered_request("/v23.0/oauth/access_token", method="GET").respond_with_json(
        {"access_token": "short", "expires_in": 3600}
    )
    fake.expect_ordered_request("/v23.0/oauth/access_token", method="GET").respond_with_json(
        {"access_token": "long", "expires_in": 5184000}
    )
    fake.expect_ordered_request("/v23.0/me/accounts", method="GET").respond_with_json(
        {"data": [{"id": "1001", "name": "Acme Page", "access_token": "page-token",
                   "instagram_business_account": {"id": "17841400000000001", "username": "acme"}}]}
    )  # fmt: skip

    assert admin_client.get("/admin/connect/meta/callback/", {"code": "c", "state": auth["state"]}).status_code == 302

    exchange = fake.log[0][0].args
    assert (exchange["code"], exchange["client_secret"]) == ("c", "meta-secret")
    assert s256(exchange["code_verifier"]) == auth["code_challenge"]
    long_lived = fake.log[1][0].args
    assert (long_lived["grant_type"], long_lived["fb_exchange_token"]) == ("fb_exchange_token", "short")
    assert fake.log[2][0].args["access_token"] == "long"
    page = SocialAccount.objects.get(platform="facebook")
    insta = SocialAccount.objects.get(platform="instagram")
    assert (page.external_id, page.access_token, page.handle) == ("1001", "page-token", "Acme Page")
    assert (insta.external_id, insta.access_token, insta.handle) == ("17841400000000001", "page-token", "acme")


def test_mastodon_registers_the_app_once_per_instance_and_remembers_the_instance(admin_client, fake):
    instance = fake.url_for("").rstrip("/")
    fake.expect_oneshot_request("/api/v1/apps", method="POST").respond_with_json(
        {"id": "563419", "name": "Campaign automation", "client_id": "m-cid", "client_secret": "m-secret"}
    )
    auth = start(admin_client, "mastodon", instance=instance)
    start(admin_client, "mastodon", instance=instance)  # no second registration (oneshot above)
    assert auth["path"] == "/oauth/authorize" and auth["client_id"] == "m-cid"
    fake.expect_request("/oauth/token", method="POST").respond_with_json(
        {"access_token": "m-acc", "token_type": "Bearer", "scope": "read:accounts write:statuses", "created_at": 1}
    )
    fake.expect_request("/api/v1/accounts/verify_credentials").respond_with_json(
        {"id": "109", "username": "brand", "acct": "brand", "display_name": "Brand"}
    )

    assert (
        admin_client.get("/admin/connect/mastodon/callback/", {"code": "c", "state": auth["state"]}).status_code == 302
    )

    assert sent(fake, "/oauth/token").form["client_secret"] == "m-secret"
    assert MastodonApp.objects.get().client_secret == "m-secret"
    account = SocialAccount.objects.get(platform="mastodon")
    assert (account.external_id, account.access_token, account.extra) == ("109", "m-acc", {"instance_url": instance})
    assert account.token_expires_at is None


def test_bluesky_connect_creates_a_session_with_the_app_password(admin_client, fake):
    fake.expect_request("/xrpc/com.atproto.server.createSession", method="POST").respond_with_json(
        {"accessJwt": "a.b.c", "refreshJwt": "r.s.t", "handle": "acme.bsky.social", "did": "did:plc:acme"}
    )

    response = admin_client.post(
        "/admin/connect/bluesky/", {"identifier": "@acme.bsky.social", "app_password": "abcd-efgh"}
    )

    assert response.status_code == 302
    assert sent(fake, "/xrpc/com.atproto.server.createSession").get_json() == {
        "identifier": "acme.bsky.social", "password": "abcd-efgh"
    }  # fmt: skip
    account = SocialAccount.objects.get(platform="bluesky")
    assert (account.external_id, account.refresh_token) == ("did:plc:acme", "r.s.t")


def test_reconnecting_a_revoked_account_makes_it_healthy_again(admin_client, fake):
    fake.expect_request("/xrpc/com.atproto.server.createSession", method="POST").respond_with_json(
        {"accessJwt": "a2", "refreshJwt": "r2", "handle": "acme.bsky.social", "did": "did:plc:acme"}
    )
    SocialAccount.objects.create(platform="bluesky", handle="acme", external_id="did:plc:acme", token_status="revoked")
    admin_client.post("/admin/connect/bluesky/", {"identifier": "acme.bsky.social", "app_password": "x"})
    account = SocialAccount.objects.get(platform="bluesky")
    assert (account.token_status, account.access_token) == ("healthy", "a2")


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/admin/connect/myspace/start/", {}, b"platform:"),
        ("/admin/connect/mastodon/start/", {}, b"instance:"),
        ("/admin/connect/mastodon/start/", {"instance": "not a url"}, b"instance:"),
        ("/admin/connect/x/callback/", {"state": "s"}, b"code:"),
        ("/admin/connect/x/callback/", {"code": "c", "state": "forged"}, b"state:"),
        ("/admin/connect/x/callback/", {"error": "access_denied"}, b"error:"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(admin_client, fake, url, params, field):
    response = admin_client.get(url, params)
    assert response.status_code == 400
    assert response.content.startswith(field)


def test_bluesky_without_an_app_password_is_a_400_naming_it(admin_client, fake):
    response = admin_client.post("/admin/connect/bluesky/", {"identifier": "acme.bsky.social"})
    assert (response.status_code, response.content[:13]) == (400, b"app_password:")


def test_an_unconfigured_platform_says_which_setting_is_missing(admin_client, fake, settings):
    settings.X_CLIENT_ID = ""
    response = admin_client.get("/admin/connect/x/start/")
    assert response.status_code == 400 and b"X_CLIENT_ID is not set" in response.content


def test_only_staff_may_connect(client, db, fake):
    response = client.get("/admin/connect/x/start/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

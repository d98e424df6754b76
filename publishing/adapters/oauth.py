"""OAuth 2 authorization-code flows (with PKCE) for connecting accounts: X, LinkedIn, Meta, Mastodon.

HTTP only, no models: the views in publishing/connect.py keep the state and store the accounts.
Every endpoint comes from settings (or, for Mastodon, the instance URL), so tests point them at a
local fake authorization server.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings

from .base import Credentials, HttpRequest, PermanentError
from .graph import GraphAdapter
from .http import HttpResponse
from .live import LiveAdapter
from .mastodon import MastodonAdapter
from .x import XAdapter

PLATFORMS = ("x", "linkedin", "meta", "mastodon")
SCOPES = {
    "x": ("tweet.read", "tweet.write", "users.read", "offline.access", "media.write"),
    "linkedin": ("openid", "profile", "w_member_social"),
    "meta": ("pages_show_list", "pages_manage_posts", "pages_read_engagement", "instagram_basic",
             "instagram_content_publish", "business_management"),
    "mastodon": ("read:accounts", "read:statuses", "write:statuses", "write:media"),
}  # fmt: skip
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class OAuthApp:
    platform: str
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]


class NotConfigured(Exception):
    """The OAuth app for a platform has no client id in settings."""


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge), RFC 7636."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def oauth_app(platform: str, *, instance_url: str = "", client_id: str = "", client_secret: str = "") -> OAuthApp:
    """The app for ``platform``; Mastodon's comes from its registration on ``instance_url``."""
    if platform == "x":
        app = OAuthApp("x", settings.X_CLIENT_ID, settings.X_CLIENT_SECRET, settings.X_AUTHORIZE_URL,
                       f"{settings.X_API_BASE_URL.rstrip('/')}/2/oauth2/token", SCOPES["x"])  # fmt: skip
        name = "X_CLIENT_ID"
    elif platform == "linkedin":
        base = settings.LINKEDIN_OAUTH_BASE_URL.rstrip("/")
        app = OAuthApp("linkedin", settings.LINKEDIN_CLIENT_ID, settings.LINKEDIN_CLIENT_SECRET,
                       f"{base}/oauth/v2/authorization", f"{base}/oauth/v2/accessToken", SCOPES["linkedin"])  # fmt: skip
        name = "LINKEDIN_CLIENT_ID"
    elif platform == "meta":
        version = settings.GRAPH_API_VERSION
        app = OAuthApp("meta", settings.META_APP_ID, settings.META_APP_SECRET,
                       f"{settings.META_DIALOG_BASE_URL.rstrip('/')}/{version}/dialog/oauth",
                       f"{settings.GRAPH_API_BASE_URL.rstrip('/')}/{version}/oauth/access_token", SCOPES["meta"])  # fmt: skip
        name = "META_APP_ID"
    elif platform == "mastodon":
        base = instance_url.rstrip("/")
        app = OAuthApp("mastodon", client_id, client_secret, f"{base}/oauth/authorize", f"{base}/oauth/token",
                       SCOPES["mastodon"])  # fmt: skip
        name = "the instance's app registration"
    else:
        raise ValueError(f"platform: {platform!r} is not one of {', '.join(PLATFORMS)}")
    if not app.client_id:
        raise NotConfigured(f"{name} is not set: connecting {platform} accounts is not configured")
    return app


def authorize_url(app: OAuthApp, *, redirect_uri: str, state: str, code_challenge: str) -> str:
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": redirect_uri,
        "scope": ("," if app.platform == "meta" else " ").join(app.scopes),
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    return f"{app.authorize_url}?{urlencode(query)}"


class _Client(LiveAdapter):
    """The shared send-and-classify of the adapters, for token and identity endpoints."""

    def __init__(self, platform: str) -> None:
        self.platform = platform

    def error_for(self, response: HttpResponse):  # OAuth errors: {"error", "error_description"}
        body = response.body if isinstance(response.body, dict) else {}
        message = body.get("error_description") or body.get("error") or body.get("detail") or str(response.body)
        if isinstance(message, dict):  # Graph: {"error": {"message": ...}}
            message = message.get("message", "")
        return self.error_by_status(response, message=str(message)[:300])


def exchange_code(app: OAuthApp, *, code: str, redirect_uri: str, code_verifier: str) -> Credentials:
    """Trade the authorization code for tokens (account id not known yet: see ``identify``)."""
    client = _Client(app.platform)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": app.client_id, "code_verifier": code_verifier}  # fmt: skip
    headers = dict(FORM)
    if app.platform == "x" and app.client_secret:  # confidential client: Basic auth (X's rule)
        pair = f"{app.client_id}:{app.client_secret}".encode()
        headers["Authorization"] = f"Basic {base64.b64encode(pair).decode()}"
    elif app.client_secret:
        form["client_secret"] = app.client_secret
    if app.platform == "meta":  # Graph takes the exchange as a GET
        http = HttpRequest(method="GET", url=f"{app.token_url}?{urlencode(form)}", headers={})
    else:
        http = HttpRequest(method="POST", url=app.token_url, headers=headers, form=form)
    credentials = client.credentials_from_token(Credentials(account_id=""), client.call(http).body)
    if app.platform == "meta":
        credentials = _meta_long_lived(app, client, credentials)
    return credentials


def _meta_long_lived(app: OAuthApp, client: _Client, short: Credentials) -> Credentials:
    """Swap the short-lived user token for a 60-day one (grant_type=fb_exchange_token)."""
    query = {"grant_type": "fb_exchange_token", "client_id": app.client_id, "client_secret": app.client_secret,
             "fb_exchange_token": short.access_token}  # fmt: skip
    http = HttpRequest(method="GET", url=f"{app.token_url}?{urlencode(query)}", headers={})
    return client.credentials_from_token(short, client.call(http).body)


def _get(platform: str, url: str, token: str) -> dict:
    body = _Client(platform).call(HttpRequest(method="GET", url=url, headers={"Authorization": f"Bearer {token}"})).body
    if not isinstance(body, dict):
        raise PermanentError(f"{platform}: identity answer is not a JSON object")
    return body


def identify(platform: str, credentials: Credentials, *, instance_url: str = "") -> Credentials:
    """The account the token belongs to: id and handle filled in (X, LinkedIn, Mastodon)."""
    token = credentials.access_token
    if platform == "x":
        data = _get("x", f"{XAdapter()._base()}/2/users/me", token).get("data") or {}
        account_id, handle = str(data.get("id", "")), str(data.get("username", ""))
    elif platform == "linkedin":
        data = _get("linkedin", f"{settings.LINKEDIN_API_BASE_URL.rstrip('/')}/v2/userinfo", token)
        sub = str(data.get("sub", ""))
        account_id, handle = (f"urn:li:person:{sub}" if sub else ""), str(data.get("name") or sub)
    elif platform == "mastodon":
        data = _get("mastodon", f"{instance_url.rstrip('/')}/api/v1/accounts/verify_credentials", token)
        account_id, handle = str(data.get("id", "")), f"@{data.get('acct', '')}"
    else:
        raise ValueError(f"platform: {platform!r} has no identity endpoint here")
    if not account_id:
        raise PermanentError(f"{platform}: the identity endpoint did not name the account")
    return dataclasses.replace(credentials, account_id=account_id, handle=handle)


def meta_pages(user: Credentials) -> list[tuple[str, Credentials]]:
    """Pages the user manages, each with its Page token: ("facebook", page) and ("instagram", linked IG user)."""
    url = GraphAdapter().graph_url(
        "me/accounts",
        {"fields": "id,name,access_token,instagram_business_account{id,username}", "access_token": user.access_token},
    )
    body = _Client("meta").call(HttpRequest(method="GET", url=url, headers={})).body or {}
    found: list[tuple[str, Credentials]] = []
    for page in body.get("data", []):
        if not page.get("access_token"):
            continue
        token = str(page["access_token"])
        found.append(("facebook", Credentials(account_id=str(page["id"]), access_token=token,
                                              handle=str(page.get("name", "")), scopes=user.scopes)))  # fmt: skip
        ig = page.get("instagram_business_account") or {}
        if ig.get("id"):
            found.append(("instagram", Credentials(account_id=str(ig["id"]), access_token=token,
                                                   handle=str(ig.get("username") or ig["id"]), scopes=user.scopes)))  # fmt: skip
    return found


def mastodon_register_app(instance_url: str, *, redirect_uri: str, client_name: str = "Campaign automation") -> dict:
    """POST /api/v1/apps on the instance: our client id and secret there."""
    http = HttpRequest(
        method="POST",
        url=f"{instance_url.rstrip('/')}/api/v1/apps",
        headers={},
        body={"client_name": client_name, "redirect_uris": redirect_uri, "scopes": " ".join(SCOPES["mastodon"])},
    )
    body = MastodonAdapter().call(http).body
    if not isinstance(body, dict) or not body.get("client_id"):
        raise PermanentError("mastodon: app registration answered without a client_id")
    return body

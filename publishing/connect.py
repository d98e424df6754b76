"""Connecting social accounts from the admin: OAuth 2 + PKCE (X, LinkedIn, Meta, Mastodon), Bluesky app passwords.

/admin/connect/                          the list of platforms
/admin/connect/<platform>/start/         redirect to the platform (Mastodon: ?instance=https://…)
/admin/connect/<platform>/callback/      code → tokens → account(s), then back to the admin
/admin/connect/bluesky/                  handle + app password → createSession

The PKCE verifier and the state live in the session, one entry per state, so two tabs do not
collide; a callback with an unknown state is refused. Tokens go straight to the encrypted fields.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from .accounts import account_connect
from .adapters import oauth
from .adapters.base import AdapterError
from .adapters.bluesky import BlueskyAdapter
from .models import MastodonApp

SESSION_KEY = "publishing_connect"
ADD_PERMISSION = "publishing.add_socialaccount"


def _bad(field: str, message: str) -> HttpResponseBadRequest:
    return HttpResponseBadRequest(f"{field}: {message}", content_type="text/plain; charset=utf-8")


def _done(request: HttpRequest, accounts: list) -> HttpResponseRedirect:
    names = ", ".join(str(a) for a in accounts)
    messages.success(request, f"Connected {names}.")
    return HttpResponseRedirect(reverse("admin:publishing_socialaccount_changelist"))


def _instance_url(raw: str) -> str | None:
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.path not in ("", "/"):
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _mastodon_app(instance_url: str, redirect_uri: str) -> MastodonApp:
    app = MastodonApp.objects.filter(instance_url=instance_url, redirect_uri=redirect_uri).first()
    if app is None:
        registered = oauth.mastodon_register_app(instance_url, redirect_uri=redirect_uri)
        app, _ = MastodonApp.objects.update_or_create(
            instance_url=instance_url,
            defaults={"client_id": registered["client_id"], "client_secret": registered.get("client_secret", ""),
                      "redirect_uri": redirect_uri, "scopes": " ".join(oauth.SCOPES["mastodon"])},
        )  # fmt: skip
    return app


@staff_member_required
@require_GET
def connect_index(request: HttpRequest) -> HttpResponse:
    return render(request, "publishing/connect.html", {"platforms": oauth.PLATFORMS, "title": "Connect an account"})


@staff_member_required
@permission_required(ADD_PERMISSION, raise_exception=True)
@require_GET
def connect_start(request: HttpRequest, platform: str) -> HttpResponse:
    if platform not in oauth.PLATFORMS:
        return _bad("platform", f"{platform!r} is not one of {', '.join(oauth.PLATFORMS)}")
    redirect_uri = request.build_absolute_uri(reverse("publishing_connect:callback", args=[platform]))
    instance = ""
    try:
        if platform == "mastodon":
            instance = _instance_url(request.GET.get("instance", "")) or ""
            if not instance:
                return _bad("instance", "give the Mastodon instance as https://host")
            registered = _mastodon_app(instance, redirect_uri)
            app = oauth.oauth_app(platform, instance_url=instance, client_id=registered.client_id,
                                  client_secret=registered.client_secret)  # fmt: skip
        else:
            app = oauth.oauth_app(platform)
    except oauth.NotConfigured as exc:
        return _bad("platform", str(exc))
    except AdapterError as exc:
        return _bad("instance", f"app registration failed: {exc}")
    verifier, challenge = oauth.pkce_pair()
    state = secrets.token_urlsafe(24)
    pending = request.session.get(SESSION_KEY, {})
    pending[state] = {"platform": platform, "verifier": verifier, "instance": instance, "redirect_uri": redirect_uri}
    request.session[SESSION_KEY] = dict(list(pending.items())[-5:])  # a few tabs at most
    return HttpResponseRedirect(
        oauth.authorize_url(app, redirect_uri=redirect_uri, state=state, code_challenge=challenge)
    )


@staff_member_required
@permission_required(ADD_PERMISSION, raise_exception=True)
@require_GET
def connect_callback(request: HttpRequest, platform: str) -> HttpResponse:
    if request.GET.get("error"):
        return _bad("error", f"{platform} refused: {request.GET.get('error_description') or request.GET['error']}")
    code, state = request.GET.get("code", ""), request.GET.get("state", "")
    if not code:
        return _bad("code", "missing from the callback")
    pending = request.session.get(SESSION_KEY, {})
    started = pending.pop(state, None) if state else None
    request.session[SESSION_KEY] = pending
    if started is None or started["platform"] != platform:
        return _bad("state", "unknown or already used; start connecting again")
    instance = started["instance"]
    try:
        if platform == "mastodon":
            registered = MastodonApp.objects.get(instance_url=instance, redirect_uri=started["redirect_uri"])
            app = oauth.oauth_app(platform, instance_url=instance, client_id=registered.client_id,
                                  client_secret=registered.client_secret)  # fmt: skip
        else:
            app = oauth.oauth_app(platform)
        tokens = oauth.exchange_code(app, code=code, redirect_uri=started["redirect_uri"],
                                     code_verifier=started["verifier"])  # fmt: skip
        if platform == "meta":
            found = oauth.meta_pages(tokens)
            if not found:
                return _bad("code", "the Meta user manages no Page this app may publish to")
            accounts = [account_connect(platform=p, credentials=c, actor=request.user) for p, c in found]
        else:
            who = oauth.identify(platform, tokens, instance_url=instance)
            extra = {"instance_url": instance} if instance else None
            accounts = [account_connect(platform=platform, credentials=who, actor=request.user, extra=extra)]
    except (oauth.NotConfigured, MastodonApp.DoesNotExist) as exc:
        return _bad("platform", str(exc))
    except AdapterError as exc:
        return _bad("code", f"the platform refused the exchange: {exc}")
    return _done(request, accounts)


@staff_member_required
@permission_required(ADD_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def connect_bluesky(request: HttpRequest) -> HttpResponse:
    context = {"title": "Connect a Bluesky account"}
    if request.method == "GET":
        return render(request, "publishing/connect_bluesky.html", context)
    identifier = request.POST.get("identifier", "").strip().lstrip("@")
    password = request.POST.get("app_password", "")
    if not identifier:
        return _bad("identifier", "give the handle (name.bsky.social) or the DID")
    if not password:
        return _bad("app_password", "create an app password in Bluesky's settings and paste it here")
    try:
        session = BlueskyAdapter().create_session(identifier, password)
    except AdapterError as exc:
        return _bad("app_password", f"Bluesky refused the login: {exc}")
    account = account_connect(platform="bluesky", credentials=session, actor=request.user)
    return _done(request, [account])

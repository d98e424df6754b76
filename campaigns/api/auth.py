"""Bearer-token authentication, the principal an agent token acts as, and scope permissions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from ..apitokens import token_authenticate
from ..models import ApiToken

Scope = ApiToken.Scope


class NeedsHuman(exceptions.PermissionDenied):
    default_detail = "only a person may do this: a reviewer in the admin, or with their personal reviewer token"
    default_code = "needs_human"


class TokenPrincipal:
    """What an agent or read token acts as: authenticated, no Django permissions, no user row.

    Services record it as ``api-token:<id>`` (campaigns.audit.actor_fields reads ``pk`` and
    ``get_username``); ``has_perm`` is always False, so no service's permission check can pass for it.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, token: ApiToken) -> None:
        self.token = token

    def get_username(self) -> str:
        return self.token.label

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def has_perms(self, perms: Any, obj: Any = None) -> bool:
        return False

    def __str__(self) -> str:
        return self.token.label


class TokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer cas_…``. Expired or revoked tokens get 401 ``auth``."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Authorization: Bearer <token>, one token, no spaces")
        now = timezone.now()
        found = token_authenticate(parts[1].decode("latin-1"), window=int(now.timestamp() // 60))
        if found is None:
            raise exceptions.AuthenticationFailed("unknown, expired or revoked token")
        token, count = found
        # Counted with the lookup (one round trip); TokenRateThrottle decides on it.
        request._request._token_count = count  # type: ignore[attr-defined]
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            # At most one write a minute per token: "last used" is for people, not an access log.
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        if Scope.REVIEWER in token.scopes and token.user_id is not None:
            user = get_user_model().objects.filter(pk=token.user_id, is_active=True).first()
            if user is not None:
                # Audit rows name the token; the actor FK still names the person.
                user.get_username = lambda: token.label  # type: ignore[method-assign]
                return user, token
        return TokenPrincipal(token), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def token_of(request: Request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


def is_human(request: Request) -> bool:
    """A person: a session login, or a reviewer token acting as its user."""
    token = token_of(request)
    if token is None:
        return bool(request.user and request.user.is_authenticated and request.user.pk)
    return Scope.REVIEWER in token.scopes and token.user_id is not None


class ScopePermission(BasePermission):
    """read: safe methods only. agent/reviewer: writes too. Views with ``human_only`` need a person."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            raise exceptions.NotAuthenticated()
        if getattr(view, "human_only", False) and request.method not in SAFE_METHODS and not is_human(request):
            raise NeedsHuman()
        token = token_of(request)
        if token is None or request.method in SAFE_METHODS:
            return True
        if Scope.AGENT in token.scopes or Scope.REVIEWER in token.scopes:
            return True
        raise exceptions.PermissionDenied("this token has the read scope only")


def api_actor(request: Request) -> Any:
    """The actor services record: the user, or the token's principal (``api-token:<id>``)."""
    return request.user


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = TokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An API token from the admin: `cas_…`."}

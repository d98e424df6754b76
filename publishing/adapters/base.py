"""The adapter interface: plain frozen dataclasses in and out, no Django models.

An adapter turns a ``PublishRequest`` into one HTTP call on one platform. It never
retries an irreversible call and never decides what happens next: it raises one of
the classified errors below and the publishing service chooses (retry, fail,
reconcile).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class RateLimit:
    """What the platform said about the caller's budget on its last answer.

    ``remaining`` is in the platform's own unit: calls left (X, Bluesky, Mastodon) or, for
    the Meta Graph API, percent of the usage quota left (``limit`` is then 100).
    """

    remaining: int | None
    reset_at: datetime | None
    limit: int | None = None


@dataclass(frozen=True)
class Credentials:
    """What an adapter needs to act as one account. Secrets never reach artifacts."""

    account_id: str  # the platform's id for the account (DID, URN, page id, user id)
    access_token: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)
    handle: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    expires_at: datetime | None = None  # of the access token; None = no known expiry
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PublishRequest:
    """One post for one account. ``idempotency_key`` is sent where the platform takes one."""

    platform: str
    text: str
    credentials: Credentials
    idempotency_key: str
    media_urls: tuple[str, ...] = ()
    link_url: str = ""
    reply_to: str = ""
    media_ids: tuple[str, ...] = ()  # ids of media already uploaded to the platform (X, Mastodon, LinkedIn)
    media_blobs: tuple[dict[str, Any], ...] = ()  # Bluesky blob refs from uploadBlob, in media order


@dataclass(frozen=True)
class HttpRequest:
    """The exact request an adapter sends (or, in PROOF mode, would send)."""

    method: str
    url: str
    headers: dict[str, str]
    body: Any = None  # JSON-serialisable body, or None
    form: dict[str, Any] | None = None  # form-encoded body, when the platform wants one
    content: bytes | None = field(default=None, repr=False)  # raw body (an image upload)
    # multipart/form-data files: field name -> (filename, bytes, content type)
    files: dict[str, tuple[str, bytes, str]] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PublishResult:
    platform_post_id: str
    url: str = ""
    proof: bool = False
    artifact_path: str = ""
    artifact_sha256: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    rate_limit: RateLimit | None = None


@dataclass(frozen=True)
class RecentPost:
    """A post found on the platform while reconciling an outcome-unknown publish."""

    platform_post_id: str
    text: str
    created_at: datetime | None
    url: str = ""


class AdapterError(Exception):
    """Base of every classified adapter error; ``detail`` holds the raw provider error."""

    def __init__(
        self, message: str, *, detail: Any = None, status: int | None = None, rate_limit: RateLimit | None = None
    ) -> None:
        super().__init__(message)
        self.detail = detail
        self.status = status
        self.rate_limit = rate_limit


class PermanentError(AdapterError):
    """Will not succeed if repeated: bad content, duplicate, policy, revoked auth."""


class DuplicateError(PermanentError):
    """The platform refused the post as a duplicate; ``existing_id`` names the original when it says so."""

    def __init__(self, message: str, *, existing_id: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.existing_id = existing_id


class AuthError(PermanentError):
    """Token expired or revoked: refresh once, else the account needs a human."""


class RetryAfterError(AdapterError):
    """Transient refusal (429/503/declared transient); ``retry_after`` seconds from the platform.

    ``throttled``: the platform refused for a rate limit (an HTTP 429, or a platform's own throttle
    code such as Graph's #4 on a 400), so the account's budget is spent until the reset and waiting
    costs no attempt; otherwise (5xx, transient) the attempt counts and the backoff applies.
    ``app_wide``: the limit is the whole app's (Graph's #4), not this account's, so every account
    of the app waits for the reset; any other throttle holds only the account that met it.
    """

    def __init__(
        self, message: str, *, retry_after: float, throttled: bool | None = None, app_wide: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.throttled = self.status == 429 if throttled is None else throttled
        self.app_wide = app_wide


class OutcomeUnknownError(AdapterError):
    """The request may have reached the platform (timeout, dropped connection): reconcile, never resend."""


class Adapter(Protocol):
    platform: str

    def build_publish_request(self, request: PublishRequest) -> HttpRequest: ...

    def publish(self, request: PublishRequest) -> PublishResult: ...

    def validate(self, request: PublishRequest) -> list[str]: ...

    def lookup_recent(self, credentials: Credentials, since: datetime, limit: int) -> list[RecentPost]: ...

    def refresh_token(self, credentials: Credentials) -> Credentials: ...

    def fetch_metrics(self, credentials: Credentials, platform_post_ids: list[str]) -> dict[str, dict[str, int]]:
        """Counters per post id (the platform's names plus impressions/likes/replies/reposts/clicks where known)."""
        ...

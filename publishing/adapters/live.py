"""Common base of the platform adapters: validate, send once, classify the answer."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from .base import (
    AdapterError,
    AuthError,
    Credentials,
    HttpRequest,
    OutcomeUnknownError,
    PermanentError,
    PublishRequest,
    PublishResult,
    RateLimit,
    RecentPost,
    RetryAfterError,
)
from .http import UNREACHED_BACKOFF_SECONDS, HttpClient, HttpResponse
from .media import Image, ImageRule, fetch_images
from .ratelimits import DEFAULT_BACKOFF_SECONDS, now


def counters(raw: Mapping[str, Any], normalised: Mapping[str, str]) -> dict[str, int]:
    """The platform's integer counters under its own names, plus the normalised keys.

    ``normalised`` maps a normalised key (impressions, likes, replies, reposts, clicks) to the
    platform's name for it; a key is added only when the platform sent that counter.
    """
    metrics = {str(k): v for k, v in raw.items() if isinstance(v, int) and not isinstance(v, bool)}
    for key, name in normalised.items():
        if name in metrics:
            metrics.setdefault(key, metrics[name])
    return metrics


def chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    """``items`` in order, ``size`` at a time, duplicates dropped."""
    unique = list(dict.fromkeys(items))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


@contextmanager
def before_the_post(what: str) -> Iterator[None]:
    """Calls made before the post call (media uploads) publish nothing: a lost answer is a retry.

    An orphaned upload costs nothing (platforms expire unattached media), so an outcome-unknown
    failure here becomes retry-after, never unknown.
    """
    try:
        yield
    except OutcomeUnknownError as exc:
        raise RetryAfterError(
            f"{exc} ({what}, before the post: nothing was published)",
            retry_after=UNREACHED_BACKOFF_SECONDS,
            detail=exc.detail,
            status=exc.status,
            rate_limit=exc.rate_limit,
        ) from exc


class LiveAdapter:
    platform = ""
    display_name = ""
    image_rule: ImageRule | None = None  # None: this adapter attaches no images from media_urls

    @cached_property
    def client(self) -> HttpClient:
        return HttpClient(self.platform)

    def build_publish_request(self, request: PublishRequest) -> HttpRequest:
        raise NotImplementedError

    def validate(self, request: PublishRequest) -> list[str]:
        raise NotImplementedError

    def publish(self, request: PublishRequest) -> PublishResult:
        """Refuse content the platform would refuse, then make the platform's publish call(s) once."""
        problems = self.validate(request)
        if problems:
            raise PermanentError(f"{self.platform}: not sent: {'; '.join(problems)}", detail=problems)
        return self._publish(request)

    def _publish(self, request: PublishRequest) -> PublishResult:
        raise NotImplementedError

    # --- images ---------------------------------------------------------------------------------

    def image_rule_for(self, request: PublishRequest) -> ImageRule:
        if self.image_rule is None:
            raise PermanentError(f"{self.platform}: this adapter does not upload media")
        return self.image_rule

    def fetch_images(self, request: PublishRequest) -> tuple[Image, ...]:
        """The images of ``media_urls``, fetched and checked (type, size) against the platform's rule."""
        return fetch_images(self.client, request.media_urls, self.image_rule_for(request))

    def with_media(self, request: PublishRequest) -> PublishRequest:
        """LIVE: fetch and upload the images of ``media_urls``; the request then names the uploads."""
        if not request.media_urls:
            return request
        images = self.fetch_images(request)
        with before_the_post("media upload"):
            return self.upload_media(request, images)

    def upload_media(self, request: PublishRequest, images: Sequence[Image]) -> PublishRequest:
        """Upload ``images`` and return the request with their platform ids (and no media_urls)."""
        raise NotImplementedError

    def proof_media(self, request: PublishRequest, images: Sequence[Image]) -> tuple[list[HttpRequest], PublishRequest]:
        """PROOF: the upload requests LIVE would send first, and the request naming stand-in ids."""
        raise NotImplementedError

    def upload_id(self, response: HttpResponse, value: Any, what: str) -> str:
        """An id from an upload answer; a 2xx without one is a retry (nothing is public yet)."""
        if isinstance(value, str) and value:
            return value
        raise RetryAfterError(
            f"{self.platform}: {what} answered HTTP {response.status} without an id; nothing was published",
            retry_after=UNREACHED_BACKOFF_SECONDS,
            detail=response.body,
            status=response.status,
        )

    def lookup_recent(self, credentials: Credentials, since: datetime, limit: int) -> list[RecentPost]:
        """The account's posts created at or after ``since``, newest first, at most ``limit``."""
        raise NotImplementedError

    def refresh_token(self, credentials: Credentials) -> Credentials:
        """New credentials from the refresh token. Platforms without a refresh grant need a reconnect."""
        raise AuthError(f"{self.platform}: tokens cannot be refreshed through the API; reconnect the account")

    def credentials_from_token(self, credentials: Credentials, body: Any) -> Credentials:
        """An OAuth 2 token response (RFC 6749 5.1) applied to ``credentials``.

        A response without a new refresh token keeps the old one: some platforms rotate it, others
        send it only once, and losing it would force a human to reconnect.
        """
        body = body if isinstance(body, dict) else {}
        access = str(body.get("access_token") or "")
        if not access:
            raise PermanentError(f"{self.platform}: token response without an access_token", detail=sorted(body))
        expires_in = body.get("expires_in")
        scope = body.get("scope")
        scopes = tuple(scope.replace(",", " ").split()) if isinstance(scope, str) else credentials.scopes
        return dataclasses.replace(
            credentials,
            access_token=access,
            refresh_token=str(body.get("refresh_token") or credentials.refresh_token),
            expires_at=now() + timedelta(seconds=float(expires_in)) if expires_in else None,
            scopes=scopes,
        )

    def call(self, http: HttpRequest) -> HttpResponse:
        """Send once; a non-2xx answer becomes the platform's classified error."""
        response = self.client.send(http)
        if not response.ok:
            raise self.error_for(response)
        return response

    def rate_limit(self, response: HttpResponse) -> RateLimit | None:
        return None

    def error_for(self, response: HttpResponse) -> AdapterError:
        return self.error_by_status(response, message=str(response.body)[:300])

    def error_by_status(
        self,
        response: HttpResponse,
        *,
        message: str,
        retry_after: float | None = None,
    ) -> AdapterError:
        """The common classes: 401 auth, 429 and 5xx retry (answered, so nothing was published), other 4xx permanent."""
        text = f"{self.platform}: HTTP {response.status}: {message}"
        common = {"detail": response.body, "status": response.status, "rate_limit": self.rate_limit(response)}
        if response.status == 401:
            return AuthError(text, **common)
        if response.status == 429 or response.status >= 500:
            wait = retry_after if retry_after is not None else DEFAULT_BACKOFF_SECONDS
            return RetryAfterError(text, retry_after=wait, **common)
        return PermanentError(text, **common)

    def result(self, response: HttpResponse, *, post_id: str, url: str) -> PublishResult:
        if not post_id:
            # Published, most likely, but we cannot tell which post: only a lookup can say.
            raise OutcomeUnknownError(
                f"{self.platform}: HTTP {response.status} without a post id: reconcile before any resend",
                detail=response.body,
                status=response.status,
                rate_limit=self.rate_limit(response),
            )
        raw = response.body if isinstance(response.body, dict) else {}
        return PublishResult(platform_post_id=post_id, url=url, raw=raw, rate_limit=self.rate_limit(response))

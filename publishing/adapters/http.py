"""The one HTTP helper every adapter sends through.

It sets timeouts and a User-Agent, never retries, and turns transport failures into the
adapter errors by one question: could the request have reached the platform? A refused
connection or a failed DNS lookup happened before a byte was sent, so trying again later is
safe. A read timeout or a dropped connection happened after, so for a POST the outcome is
unknown and must be reconciled, never resent.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError
from urllib3.util.retry import Retry

from .base import HttpRequest, OutcomeUnknownError, PermanentError, RetryAfterError

USER_AGENT = "campaign-automation/0.1"
# Nothing reached the platform: a short wait is enough before the queue tries again.
UNREACHED_BACKOFF_SECONDS = 30.0
# Methods whose repetition changes nothing on the platform: a lost answer is worth a retry.
_SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)  # case-insensitive when it comes from requests
    body: Any = None  # parsed JSON, else the text, else None when empty

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    # requests retries nothing by default; say so explicitly so no upgrade changes it silently.
    no_retry = HTTPAdapter(max_retries=Retry(total=0, connect=0, read=0, redirect=0, status=0, other=0))
    session.mount("http://", no_retry)
    session.mount("https://", no_retry)
    # A session serves many accounts: no cookie of one answer may ride along on another's call.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    # With trust_env requests re-reads the environment (proxies, no_proxy, .netrc, CA bundle) on
    # every call, about 1 ms of CPU each. Without a proxy configured, read the CA bundle once here
    # and skip the rest (credentials are always explicit: .netrc must never add any).
    proxies = {k: v for k, v in urllib.request.getproxies_environment().items() if k != "no"}
    if not proxies:
        session.trust_env = False
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return session


@dataclass(frozen=True)
class Download:
    """A GET read in chunks up to a cap: ``truncated`` says more than ``max_bytes`` were on offer."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = field(default=b"", repr=False)
    truncated: bool = False


_local = threading.local()


def thread_session(platform: str) -> requests.Session:
    """This thread's session for ``platform``: its connections stay open from one call to the next.

    A new TLS connection per call costs more CPU than the call itself (measured: a session per
    call made the group publish CPU-bound). Per thread, because requests does not promise that one
    session is safe to share between threads; urllib3 drops a pooled connection the server closed.
    """
    sessions = _local.__dict__.setdefault("sessions", {})
    if platform not in sessions:
        sessions[platform] = new_session()
    return sessions[platform]


class HttpClient:
    def __init__(self, platform: str, session: requests.Session | None = None) -> None:
        self.platform = platform
        self._session = session

    @property
    def session(self) -> requests.Session:
        return self._session or thread_session(self.platform)

    def send(self, http: HttpRequest) -> HttpResponse:
        """Send once and return the answer, whatever its status; raise only for transport failures."""
        timeout = float(settings.HTTP_TIMEOUT_SECONDS)
        host = urlsplit(http.url).netloc  # never the full URL: Graph URLs carry the token
        try:
            response = self.session.request(
                http.method,
                http.url,
                headers=http.headers,
                json=http.body if http.form is None and http.content is None and http.files is None else None,
                data=http.content if http.content is not None else http.form,
                files=http.files,
                timeout=(timeout, timeout),
                # A redirect would re-send a POST on its own; only reads may follow one.
                allow_redirects=http.method in _SAFE_METHODS,
            )
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema):
            raise PermanentError(f"{self.platform}: bad URL for {http.method} to {host!r}; check the base URL setting")
        except requests.RequestException as exc:
            raise self._transport_error(http, host, exc) from exc
        return HttpResponse(status=response.status_code, headers=response.headers, body=_parse_body(response))

    def download(self, url: str, *, max_bytes: int, chunk_size: int = 64 * 1024) -> Download:
        """GET ``url`` and read at most ``max_bytes + 1`` bytes of it, within a total time budget.

        Only the reads are bounded by the socket timeout; a slow drip is cut by the total budget
        (four timeouts). Redirects are followed (a read); no credentials are sent.
        """
        timeout = float(settings.HTTP_TIMEOUT_SECONDS)
        host = urlsplit(url).netloc
        http = HttpRequest(method="GET", url=url, headers={})
        deadline = time.monotonic() + 4 * timeout
        try:
            with self.session.get(url, timeout=(timeout, timeout), stream=True, allow_redirects=True) as response:
                parts: list[bytes] = []
                total = 0
                if response.ok:
                    for chunk in response.iter_content(chunk_size):
                        parts.append(chunk)
                        total += len(chunk)
                        if total > max_bytes:
                            break
                        if time.monotonic() > deadline:
                            raise RetryAfterError(
                                f"{self.platform}: GET {host} took longer than {4 * timeout:g} s; try again later",
                                retry_after=UNREACHED_BACKOFF_SECONDS,
                            )
                content = b"".join(parts)
                return Download(
                    status=response.status_code,
                    headers=response.headers,
                    content=content[: max_bytes + 1],
                    truncated=total > max_bytes,
                )
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema):
            raise PermanentError(f"{self.platform}: bad URL for GET to {host!r}")
        except requests.RequestException as exc:
            raise self._transport_error(http, host, exc) from exc

    def _transport_error(self, http: HttpRequest, host: str, exc: requests.RequestException) -> Exception:
        what = f"{self.platform}: {http.method} to {host}"
        if not reached_server(exc):
            return RetryAfterError(
                f"{what} not sent ({type(exc).__name__}): safe to retry",
                retry_after=UNREACHED_BACKOFF_SECONDS,
                detail=str(exc),
            )
        if http.method in _SAFE_METHODS:
            return RetryAfterError(
                f"{what} got no answer ({type(exc).__name__})", retry_after=UNREACHED_BACKOFF_SECONDS, detail=str(exc)
            )
        return OutcomeUnknownError(
            f"{what} was sent but no answer came back ({type(exc).__name__}): reconcile before any resend",
            detail=str(exc),
        )


def reached_server(exc: requests.RequestException) -> bool:
    """False only when the failure provably happened before the request was written."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        cause: Any = exc.args[0] if exc.args else None
        cause = getattr(cause, "reason", cause)  # urllib3's MaxRetryError wraps the real failure
        # NewConnectionError covers refused connections and (as NameResolutionError) DNS failures.
        return not isinstance(cause, NewConnectionError)
    return True  # anything else (chunked body cut, decoding): assume it arrived


def _parse_body(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text

"""Email through Django's email backends: SMTP, or an ESP via django-anymail (contracts.md 3.1).

``send_email`` sends one message once and classifies what went wrong like the social adapters:
PermanentError (5xx, refused address, bad configuration), RetryAfterError (4xx, 429, nothing
accepted: safe to send again), OutcomeUnknownError (the connection died after the message body
was handed over: the message may be on its way; reconcile, never resend blindly). It never
retries; the caller's attempt row (written before the call) is what keeps one message per key.
"""

from __future__ import annotations

import functools
import re
import secrets
import smtplib
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.policy import Compat32
from email.utils import make_msgid
from typing import Any

import requests
from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailRequestsAPIError,
)
from anymail.message import AnymailMessage
from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address

from .base import OutcomeUnknownError, PermanentError, RetryAfterError
from .http import reached_server
from .ratelimits import retry_after_seconds

# A temporary SMTP refusal (4xx) rarely clears in seconds; greylisting wants minutes.
SMTP_RETRY_SECONDS = 300.0
ESP_RETRY_SECONDS = 60.0


@dataclass(frozen=True)
class EmailMessageSpec:
    """One message to one recipient (or a few). ``message_id`` without angle brackets; empty = we make one."""

    to: str | Sequence[str]
    from_email: str
    subject: str
    text: str
    html: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    message_id: str = ""
    idempotency_key: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class EmailResult:
    message_id: str  # ours, without angle brackets: replies carry it in In-Reply-To / References
    esp_message_id: str  # the ESP's id from anymail_status, "" over SMTP
    status: str  # "sent" over SMTP; anymail's status (queued, sent, ...) for an ESP


def _recipients(spec: EmailMessageSpec) -> list[str]:
    return [spec.to] if isinstance(spec.to, str) else list(spec.to)


def _check(spec: EmailMessageSpec) -> list[str]:
    problems = []
    if not _recipients(spec) or not all(a and "@" in a for a in _recipients(spec)):
        problems.append("to: at least one address with an @")
    if "@" not in spec.from_email:
        problems.append("from_email: an address with an @")
    if not spec.subject.strip():
        problems.append("subject: empty")
    if not spec.text.strip() and not spec.html.strip():
        problems.append("text: empty (and no html)")
    bad = [k for k, v in spec.headers.items() if "\n" in k + v or "\r" in k + v]
    if bad:
        problems.append(f"headers: line breaks in {', '.join(bad)}")
    return problems


def message_id_for(spec: EmailMessageSpec) -> str:
    if spec.message_id:
        return spec.message_id.strip("<>")
    domain = settings.EMAIL_MESSAGE_ID_DOMAIN or spec.from_email.rpartition("@")[2].strip(">")
    return make_msgid(domain=domain).strip("<>")


class _ShortHeadersAsIs(Compat32):
    """Compat32 (what Django's messages use), with a header that already fits on one line written as it is.

    Compat32 runs every header through ``email.header.Header.encode``, which for a short ASCII value
    returns it unchanged: most of the MIME build's time went there (tests/publishing/adapters/
    test_email.py compares the two over random values). Anything else goes the long way.
    """

    def fold_binary(self, name: str, value: Any) -> bytes:
        if (isinstance(value, str) and value.isascii() and "\r" not in value and "\n" not in value
                and len(name) + len(value) + 2 <= self.max_line_length):  # fmt: skip
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


SHORT_HEADERS_AS_IS = _ShortHeadersAsIs()


class _Message(AnymailMessage):
    def message(self) -> Any:
        msg = super().message()
        msg.policy = SHORT_HEADERS_AS_IS  # the generator passes it on to the parts
        if msg.is_multipart() and msg.get_param("boundary") is None:
            # Left unset, the generator picks a boundary and scans every part for it with a freshly
            # compiled regex: a fifth of the MIME build. 128 random bits cannot collide with content
            # nobody can predict (and only "=" and hex: nothing quoted-printable or base64 emits).
            msg.set_boundary(f"==============={secrets.token_hex(16)}==")
        return msg


def build_message(spec: EmailMessageSpec, message_id: str, connection: Any = None) -> AnymailMessage:
    """The message exactly as it goes out: our Message-ID, the caller's headers, text + HTML parts."""
    headers = {**spec.headers, "Message-ID": f"<{message_id}>"}
    if spec.idempotency_key and settings.EMAIL_IDEMPOTENCY_HEADER:
        headers[settings.EMAIL_IDEMPOTENCY_HEADER] = spec.idempotency_key
    message = _Message(
        subject=spec.subject,
        body=spec.text,
        from_email=spec.from_email,
        to=_recipients(spec),
        headers=headers,
        connection=connection,
    )
    if spec.html:
        message.attach_alternative(spec.html, "text/html")
    # Anymail-only attributes (SMTP ignores them): the key comes back in the ESP's webhook events.
    message.metadata = {**spec.metadata, **({"idempotency_key": spec.idempotency_key} if spec.idempotency_key else {})}
    message.tags = list(spec.tags)
    return message


class _DataWatch:
    """Marks when smtplib starts the DATA phase: a failure after it may have delivered the message.

    Installed once per SMTP connection (a reused connection keeps its watch); reset per message.
    """

    def __init__(self, smtp: smtplib.SMTP) -> None:
        self.started = False
        original = smtp.data

        def data(msg: Any) -> Any:
            self.started = True
            return original(msg)

        smtp.data = data  # type: ignore[method-assign]

    @classmethod
    def on(cls, smtp: smtplib.SMTP) -> _DataWatch:
        watch = getattr(smtp, "_data_watch", None)
        if watch is None:
            watch = cls(smtp)
            smtp._data_watch = watch  # type: ignore[attr-defined]
        watch.started = False
        return watch


def send_email(spec: EmailMessageSpec, *, connection: Any = None) -> EmailResult:
    """Send ``spec`` once through ``connection`` (default: settings.EMAIL_BACKEND). See the module doc."""
    problems = _check(spec)
    if problems:
        raise PermanentError(f"email: not sent: {'; '.join(problems)}", detail=problems)
    conn = connection or get_connection(fail_silently=False)
    message_id = message_id_for(spec)
    message = build_message(spec, message_id, conn)
    if isinstance(conn, SMTPBackend):
        return _send_smtp(conn, message, message_id)
    try:
        sent = message.send(fail_silently=False)
    except AnymailError as exc:
        raise _esp_error(exc) from exc
    status = getattr(message, "anymail_status", None)
    esp_id = ""
    if status is not None and status.message_id:
        esp_id = status.message_id if isinstance(status.message_id, str) else ",".join(sorted(status.message_id))
    state = ",".join(sorted(status.status)) if status is not None and status.status else ("sent" if sent else "")
    if not sent and not state:
        raise OutcomeUnknownError("email: the backend reported 0 messages sent without an error")
    return EmailResult(message_id=message_id, esp_message_id=esp_id, status=state)


def _send_smtp(conn: SMTPBackend, message: AnymailMessage, message_id: str) -> EmailResult:
    opened_here = False
    try:
        opened_here = bool(conn.open())
    except (OSError, smtplib.SMTPException) as exc:  # refused, DNS, TLS, auth: nothing was sent
        raise _smtp_error(exc, after_data=False) from exc
    watch = _DataWatch.on(conn.connection)
    encoding = message.encoding or settings.DEFAULT_CHARSET
    try:
        # What Django's EmailBackend._send does (one message, our connection), with the sender's
        # address parsed once per process instead of per message: it is the same on every message.
        try:
            sender = _envelope_sender(message.from_email, encoding)
            recipients = [envelope_recipient(address, encoding) for address in message.recipients()]
            data = message.message().as_bytes(linesep="\r\n")
        except Exception as exc:  # refused while being built (ValueError; the stdlib parser raises others too)
            raise PermanentError(f"email: not sent: the message could not be built ({type(exc).__name__}: "
                                 f"{exc})") from exc  # fmt: skip
        conn.connection.sendmail(sender, recipients, data)
    except (OSError, smtplib.SMTPException) as exc:
        raise _smtp_error(exc, after_data=watch.started) from exc
    finally:
        if opened_here:
            try:
                conn.close()
            except (OSError, smtplib.SMTPException):
                pass
    return EmailResult(message_id=message_id, esp_message_id="", status="sent")


@functools.lru_cache(maxsize=256)
def _envelope_sender(address: str, encoding: str) -> str:
    return sanitize_address(address, encoding)


# local@domain with a dot-atom local part and LDH labels (1-63 characters each): the form normalised
# lead addresses have, which sanitize_address returns unchanged.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                            r"@(?:[A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}")  # fmt: skip


def envelope_recipient(address: str, encoding: str) -> str:
    """The RCPT TO address as Django's backend makes it, without the full RFC 5322 parse for a plain
    ``local@domain`` (which it returns unchanged). Anything else goes through sanitize_address."""
    return address if _PLAIN_ADDRESS.fullmatch(address) else sanitize_address(address, encoding)


def _smtp_error(exc: BaseException, *, after_data: bool) -> Exception:
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        code = min(codes) if codes else None  # any 4xx among them: worth another try
    if isinstance(code, int) and 400 <= code < 500:
        return RetryAfterError(f"email: SMTP {code}: {exc}", retry_after=SMTP_RETRY_SECONDS, status=code)
    if isinstance(code, int) and code >= 500:
        return PermanentError(f"email: SMTP {code}: {exc}", status=code)
    if after_data and isinstance(exc, (smtplib.SMTPServerDisconnected, OSError, socket.timeout)):
        return OutcomeUnknownError(
            f"email: connection lost after DATA ({type(exc).__name__}): the message may have been accepted; "
            "reconcile before any resend",
            detail=str(exc),
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPNotSupportedError):
        return PermanentError(f"email: SMTP configuration: {exc}")
    return RetryAfterError(f"email: SMTP not sent ({type(exc).__name__}: {exc})", retry_after=ESP_RETRY_SECONDS)


def _esp_error(exc: AnymailError) -> Exception:
    if isinstance(exc, AnymailRecipientsRefused | AnymailInvalidAddress):
        return PermanentError(f"email: {exc}")
    status = getattr(exc, "status_code", None)
    if isinstance(exc, AnymailRequestsAPIError) and status is None:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, requests.RequestException) and not reached_server(cause):
            return RetryAfterError(f"email: ESP not reached: {exc}", retry_after=ESP_RETRY_SECONDS)
        return OutcomeUnknownError(f"email: ESP call sent, no answer: {exc}; reconcile before any resend")
    if isinstance(exc, AnymailAPIError) and status is not None:
        if status == 429 or status >= 500:
            response = getattr(exc, "response", None)
            wait = _retry_after(response.headers if response is not None else {})
            return RetryAfterError(f"email: ESP HTTP {status}: {exc}", retry_after=wait, status=status)
        return PermanentError(f"email: ESP HTTP {status}: {exc}", status=status)
    return PermanentError(f"email: {type(exc).__name__}: {exc}")


def _retry_after(headers: Mapping[str, str]) -> float:
    wait = retry_after_seconds(headers)
    return wait if wait is not None else ESP_RETRY_SECONDS

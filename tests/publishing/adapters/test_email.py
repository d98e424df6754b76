"""The email adapter against a real local SMTP server (aiosmtpd) and a local fake ESP (Postmark via anymail)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import random
import socket
import string
from collections.abc import Iterator
from email.generator import BytesGenerator

import pytest
from aiosmtpd.controller import Controller
from django.core.mail import get_connection
from django.core.mail.message import sanitize_address
from pytest_httpserver import HTTPServer

from publishing.adapters.base import OutcomeUnknownError, PermanentError, RetryAfterError
from publishing.adapters.email import (
    SHORT_HEADERS_AS_IS,
    EmailMessageSpec,
    EmailResult,
    build_message,
    envelope_recipient,
    send_email,
)

KEY = "send_email:7:42:1"


class Sink:
    """Records every message accepted; ``refuse_rcpt`` / ``refuse_data`` / ``hang_after_data`` script failures."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse_rcpt: list[str] = []  # SMTP replies for the next RCPT commands
        self.refuse_data: list[str] = []
        self.hang_after_data = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            return self.refuse_rcpt.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_data:
            return self.refuse_data.pop(0)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self.hang_after_data:
            await asyncio.sleep(self.hang_after_data)  # accepted, but the client gives up before the 250
        return "250 2.0.0 Ok: queued"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sink(settings) -> Iterator[Sink]:
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 1.0
    settings.EMAIL_MESSAGE_ID_DOMAIN = "mail.example.com"
    settings.EMAIL_IDEMPOTENCY_HEADER = ""
    yield handler
    controller.stop()


def spec(**overrides) -> EmailMessageSpec:
    fields = {
        "to": "lead@example.org",
        "from_email": "Acme <hello@acme.example>",
        "subject": "Quick question",
        "text": "Hi Ada,\nplain text part",
        "html": "<p>Hi Ada,<br>HTML part</p>",
        "headers": {
            "List-Unsubscribe": "<https://acme.example/u/tok/>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        "idempotency_key": KEY,
        "metadata": {"attempt_id": "9"},
        "tags": ("outreach",),
    }
    return EmailMessageSpec(**{**fields, **overrides})


def test_it_sends_headers_message_id_and_both_parts(sink):
    result = send_email(spec())

    [message] = sink.messages
    assert result.message_id.endswith("@mail.example.com") and "<" not in result.message_id
    assert message["Message-ID"] == f"<{result.message_id}>"
    assert (result.esp_message_id, result.status) == ("", "sent")
    assert message["List-Unsubscribe"] == "<https://acme.example/u/tok/>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Subject"] == "Quick question" and message["To"] == "lead@example.org"
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().splitlines() == ["Hi Ada,", "plain text part"]
    assert message.get_body(("html",)).get_content().strip() == "<p>Hi Ada,<br>HTML part</p>"
    assert sink.envelopes == [("hello@acme.example", ["lead@example.org"])]


def test_a_given_message_id_is_used_as_is(sink):
    result = send_email(spec(message_id="abc.123@acme.example"))
    assert result.message_id == "abc.123@acme.example"
    assert sink.messages[0]["Message-ID"] == "<abc.123@acme.example>"


def test_the_idempotency_header_goes_out_when_configured(sink, settings):
    settings.EMAIL_IDEMPOTENCY_HEADER = "Resend-Idempotency-Key"
    send_email(spec())
    assert sink.messages[0]["Resend-Idempotency-Key"] == KEY


def test_a_reused_connection_sends_many(sink):
    connection = get_connection()
    connection.open()
    try:
        ids = {send_email(spec(to=f"l{i}@example.org"), connection=connection).message_id for i in range(5)}
    finally:
        connection.close()
    assert len(ids) == 5 and len(sink.messages) == 5


def test_smtp_4xx_is_retry_after_and_nothing_was_accepted(sink):
    sink.refuse_rcpt = ["450 4.2.1 Mailbox busy, try later"]
    with pytest.raises(RetryAfterError, match="SMTP 450"):
        send_email(spec())
    assert sink.messages == []


def test_smtp_5xx_is_permanent(sink):
    sink.refuse_data = ["550 5.7.1 Message rejected as spam"]
    with pytest.raises(PermanentError, match="SMTP 550"):
        send_email(spec())


def test_connection_lost_after_data_is_outcome_unknown(sink):
    sink.hang_after_data = 2.0  # longer than EMAIL_TIMEOUT
    with pytest.raises(OutcomeUnknownError, match="after DATA"):
        send_email(spec())
    assert len(sink.messages) == 1  # it did arrive: which is why it must never be resent blindly


def test_a_refused_connection_is_safe_to_retry(settings, sink):
    settings.EMAIL_PORT = free_port()  # nothing listens there
    with pytest.raises(RetryAfterError, match="not sent"):
        send_email(spec())


@pytest.mark.parametrize(
    ("override", "field"),
    [({"to": "nobody"}, "to:"), ({"from_email": ""}, "from_email:"), ({"subject": " "}, "subject:"),
     ({"text": "", "html": ""}, "text:"), ({"headers": {"X-Bad": "a\r\nBcc: x@y"}}, "headers:")],
)  # fmt: skip
def test_bad_input_is_refused_naming_the_field(sink, override, field):
    with pytest.raises(PermanentError, match=field):
        send_email(spec(**override))
    assert sink.messages == []


def test_an_address_django_cannot_parse_is_permanent_and_nothing_is_sent(sink):
    # Unquoted, the comma makes two addresses of one: Django refuses it before MAIL FROM. Nothing left,
    # so it is a permanent refusal naming the address, not an unknown outcome to reconcile.
    with pytest.raises(PermanentError, match=r"not sent: .*ValueError: Invalid address.*Acme, Inc"):
        send_email(spec(from_email="Acme, Inc. <hello@acme.example>"))
    # The stdlib parser under sanitize_address raises AttributeError on some garbage: still nothing sent.
    with pytest.raises(PermanentError, match=r"not sent: the message could not be built \(AttributeError"):
        send_email(spec(to="X.<$y{@Q9Y0JnZp6"))
    assert sink.messages == [] and sink.envelopes == []


def _flatten(msg, policy) -> bytes:
    out = io.BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=policy).flatten(msg)
    return out.getvalue()


@pytest.mark.parametrize("name", ["Acme, Inc.", "Zoë", "A" * 90])
def test_the_fast_header_policy_writes_the_same_bytes_as_compat32(name):
    # Long and non-ASCII headers (a folded List-Unsubscribe, an encoded From) go compat32's own way.
    message = build_message(spec(from_email=f'"{name}" <hello@acme.example>', subject="Über " + "x" * 80),
                            "abc@acme.example").message()  # fmt: skip
    assert message.policy is SHORT_HEADERS_AS_IS and message.get_boundary().startswith("=" * 15)
    assert _flatten(message, SHORT_HEADERS_AS_IS.clone(linesep="\r\n")) == _flatten(
        message, email.policy.compat32.clone(linesep="\r\n"))  # fmt: skip


def test_short_headers_as_is_matches_compat32_on_random_values():
    rng = random.Random(5)
    alphabet = string.ascii_letters + string.digits + string.punctuation + " \t" + " " * 8
    fast, slow = SHORT_HEADERS_AS_IS.clone(linesep="\r\n"), email.policy.compat32.clone(linesep="\r\n")
    for _ in range(20_000):
        name = rng.choice(["Subject", "To", "List-Unsubscribe", "X-Campaign-Key"])
        value = rng.choice(["", " ", "=?utf-8?q?"]) + "".join(rng.choices(alphabet, k=rng.randint(0, 80)))
        assert fast.fold_binary(name, value) == slow.fold_binary(name, value), (name, value)


def test_envelope_recipient_is_what_sanitize_address_makes_of_it():
    # The plain-address shortcut must never change an address Django would have changed (or refused).
    rng = random.Random(3)
    local = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-." + '"() ,;:<>@[]\\é'
    domain = string.ascii_letters + string.digits + "-.é_"
    shortcuts = 0
    for n in range(20_000):
        if n % 3:
            address = "".join(rng.choices(local, k=rng.randint(0, 12))) + "@" + "".join(
                rng.choices(domain, k=rng.randint(0, 70)))  # fmt: skip
        else:  # plain ones, some with a label longer than 63 (which Django's IDNA step refuses)
            address = "".join(rng.choices(string.ascii_lowercase + ".", k=8)) + "@" + "".join(
                rng.choices(string.ascii_lowercase + ".-", k=rng.choice([12, 70]))) + ".org"  # fmt: skip
        try:  # the stdlib parser under sanitize_address raises more than ValueError on garbage
            expected = sanitize_address(address, "utf-8")
        except Exception as exc:
            expected = type(exc)
        try:
            got = envelope_recipient(address, "utf-8")
        except Exception as exc:
            got = type(exc)
        assert got == expected, address
        shortcuts += got == address
    assert shortcuts > 5_000  # the shortcut was taken, not only the long way


# --- one message per key, with the caller's attempt row (a minimal stand-in for outreach's) ---------


class AttemptHarness:
    """Attempt-first as DESIGN.md says: row (key, sending) before the call, result after; unknown is never resent."""

    def __init__(self) -> None:
        self.rows: dict[str, str] = {}

    def run(self, message: EmailMessageSpec) -> str:
        status = self.rows.get(message.idempotency_key)
        if status == "sent":
            return "skipped"
        if status in ("sending", "needs_reconcile"):
            self.rows[message.idempotency_key] = "needs_reconcile"
            return "needs_reconcile"
        self.rows[message.idempotency_key] = "sending"  # committed before the call
        try:
            send_email(message)
        except RetryAfterError:
            del self.rows[message.idempotency_key]  # refused before acceptance: free to try again
            return "retry"
        except OutcomeUnknownError:
            self.rows[message.idempotency_key] = "needs_reconcile"
            return "needs_reconcile"
        self.rows[message.idempotency_key] = "sent"
        return "sent"


def test_one_message_per_key_even_when_the_send_is_retried(sink):
    harness = AttemptHarness()
    sink.refuse_rcpt = ["451 4.7.1 Greylisted, come back later"]

    outcomes = [harness.run(spec()) for _ in range(4)]

    assert outcomes == ["retry", "sent", "skipped", "skipped"]
    assert len(sink.messages) == 1


def test_an_unknown_send_is_not_resent_by_a_retry(sink):
    harness = AttemptHarness()
    sink.hang_after_data = 2.0
    assert harness.run(spec()) == "needs_reconcile"
    sink.hang_after_data = 0
    assert harness.run(spec()) == "needs_reconcile"
    assert len(sink.messages) == 1


# --- an ESP through anymail (Postmark's API shape, on a local fake) ---------------------------------


@pytest.fixture
def postmark(httpserver: HTTPServer, settings) -> HTTPServer:
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "server-token", "POSTMARK_API_URL": httpserver.url_for("/")}
    settings.EMAIL_MESSAGE_ID_DOMAIN = "mail.example.com"
    settings.EMAIL_IDEMPOTENCY_HEADER = ""
    return httpserver


def postmark_connection():
    return get_connection("anymail.backends.postmark.EmailBackend")


def test_esp_send_returns_the_esp_message_id_and_carries_our_key_as_metadata(postmark):
    postmark.expect_request("/email", method="POST").respond_with_json(
        {"To": "lead@example.org", "SubmittedAt": "2026-03-02T10:00:00Z", "ErrorCode": 0, "Message": "OK",
         "MessageID": "b7bc2f4a-e38e-4336-af7d-e6c392c2f817"}
    )  # fmt: skip

    result = send_email(spec(), connection=postmark_connection())

    assert result == EmailResult(message_id=result.message_id, esp_message_id="b7bc2f4a-e38e-4336-af7d-e6c392c2f817",
                                 status="sent")  # fmt: skip
    body = postmark.log[0][0].get_json()
    assert body["Metadata"] == {"attempt_id": "9", "idempotency_key": KEY}
    assert body["Tag"] == "outreach"
    headers = {h["Name"]: h["Value"] for h in body["Headers"]}
    assert headers["Message-ID"] == f"<{result.message_id}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert body["TextBody"].startswith("Hi Ada") and body["HtmlBody"].startswith("<p>Hi Ada")


def test_esp_429_is_retry_after_its_header(postmark):
    postmark.expect_request("/email", method="POST").respond_with_json(
        {"ErrorCode": 429, "Message": "Rate limit exceeded"}, status=429, headers={"Retry-After": "42"}
    )
    with pytest.raises(RetryAfterError) as caught:
        send_email(spec(), connection=postmark_connection())
    assert caught.value.retry_after == 42


def test_esp_422_is_permanent(postmark):
    postmark.expect_request("/email", method="POST").respond_with_json(
        {"ErrorCode": 300, "Message": "Invalid email request"}, status=422
    )
    with pytest.raises(PermanentError, match="422"):
        send_email(spec(), connection=postmark_connection())

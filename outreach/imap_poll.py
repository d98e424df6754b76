"""IMAP polling: read replies from a mailbox, the alternative to an ESP's inbound webhook.

Each message is stored raw through the same ``inbound_store`` as anymail's inbound webhook (one
payload shape, one ``process_esp_event`` path), deduplicated by its Message-ID, so a poll that runs
twice, two pollers racing, or a folder whose UIDVALIDITY changed store every reply once.

The cursor (UIDVALIDITY, last UID) is written only here: it moves with a compare-and-set in the
same transaction that stores the batch it covers, so a crash mid-poll re-reads that batch next time
(and the Message-ID dedupes it) instead of skipping it. The folder is opened read-only; we never
change flags or delete mail in someone's inbox.
"""

from __future__ import annotations

import email
import hashlib
import imaplib
import re
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.html import strip_tags

from campaigns.actions import action_enqueue
from campaigns.audit import audit_record

from .events import IMAP_ESP, inbound_store
from .models import ImapInbox
from .replies import reply_text_strip

FETCH_UID = re.compile(rb"UID (\d+)")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ImapPollError(Exception):
    """A poll that could not finish; ``transient`` says whether trying again later can help."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class PollResult:
    inbox: str
    seen: int  # messages fetched
    stored: int  # new ones (the rest were already stored: replays)
    last_uid: int
    rescanned: bool  # UIDVALIDITY was new or changed, so the folder was read from the backfill date

    def __str__(self) -> str:
        rescan = ", folder rescanned" if self.rescanned else ""
        return f"{self.inbox}: {self.seen} fetched, {self.stored} new, cursor at UID {self.last_uid}{rescan}"


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _imap_date(day: datetime) -> str:
    return f"{day.day:02d}-{MONTHS[day.month - 1]}-{day.year}"  # RFC 3501 date, never the locale's month


def _connect(inbox: ImapInbox) -> imaplib.IMAP4:
    timeout = settings.IMAP_TIMEOUT_SECONDS
    context = ssl.create_default_context(cafile=settings.IMAP_SSL_CAFILE or None)
    if inbox.security == ImapInbox.Security.SSL:
        return imaplib.IMAP4_SSL(inbox.host, inbox.port, ssl_context=context, timeout=timeout)
    conn = imaplib.IMAP4(inbox.host, inbox.port, timeout=timeout)
    if inbox.security == ImapInbox.Security.STARTTLS:
        conn.starttls(ssl_context=context)
    return conn


def _open(inbox: ImapInbox) -> tuple[imaplib.IMAP4, int]:
    """Connected, logged in, folder selected read-only: (connection, UIDVALIDITY)."""
    try:
        conn = _connect(inbox)
    except (OSError, imaplib.IMAP4.error) as exc:  # refused, DNS, TLS, timeout: the server may come back
        raise ImapPollError(f"cannot connect to {inbox.host}:{inbox.port}: {exc}", transient=True) from exc
    try:
        conn.login(inbox.username, inbox.password)
    except imaplib.IMAP4.error as exc:
        _logout(conn)
        raise ImapPollError(f"login as {inbox.username} refused: {_text(exc)}", transient=False) from exc
    typ, data = conn.select(_quoted(inbox.folder), readonly=True)
    if typ != "OK":
        _logout(conn)
        raise ImapPollError(f"folder {inbox.folder!r} cannot be opened: {_text(data)}", transient=False)
    _, values = conn.response("UIDVALIDITY")
    if not values or values[0] is None:
        _logout(conn)
        raise ImapPollError(f"{inbox.host} sent no UIDVALIDITY for {inbox.folder!r}", transient=False)
    return conn, int(values[0])


def _text(value: object) -> str:
    if isinstance(value, list | tuple):
        value = b" ".join(v for v in value if isinstance(v, bytes))
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _logout(conn: imaplib.IMAP4) -> None:
    try:
        conn.logout()
    except (OSError, imaplib.IMAP4.error):
        pass  # the session is over either way


def _uids(conn: imaplib.IMAP4, *, after: int, since: datetime | None) -> list[int]:
    criteria = ("SINCE", _imap_date(since)) if since else ("UID", f"{after + 1}:*")
    typ, data = conn.uid("SEARCH", None, *criteria)
    if typ != "OK":
        raise ImapPollError(f"UID SEARCH failed: {_text(data)}", transient=True)
    # "UID n:*" always matches the last message, even when its UID is below n: filter, as RFC 3501 says.
    return sorted(uid for uid in (int(x) for x in (data[0] or b"").split()) if uid > after)


def _fetch(conn: imaplib.IMAP4, uids: list[int]) -> list[tuple[int, bytes]]:
    typ, data = conn.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
    if typ != "OK":
        raise ImapPollError(f"UID FETCH failed: {_text(data)}", transient=True)
    messages = []
    for item in data:
        if isinstance(item, tuple) and (match := FETCH_UID.search(item[0])):
            messages.append((int(match.group(1)), item[1]))
    return messages


def _original_message_ids(message: EmailMessage) -> list[str]:
    """The Message-ID of the email a bounce report (multipart/report) is about: how a DSN is matched."""
    ids = []
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if inner is None:
                inner = email.message_from_string(part.get_content(), policy=policy.default)
            if inner["Message-ID"]:
                ids.append(str(inner["Message-ID"]).strip())
    return ids


def _body_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    try:
        text = body.get_content()
    except (LookupError, ValueError):  # an unknown charset: keep what decodes
        text = (body.get_payload(decode=True) or b"").decode("utf-8", errors="replace")
    return strip_tags(text) if body.get_content_type() == "text/html" else text


def _store(raw: bytes) -> bool:
    message = email.message_from_bytes(raw, policy=policy.default)
    if message.get_content_type() == "multipart/report" and (originals := _original_message_ids(message)):
        # Matching reads In-Reply-To/References; a bounce names the bounced email only inside itself.
        references = " ".join(filter(None, [str(message["References"] or ""), *originals]))
        del message["References"]
        message["References"] = references
    try:
        sent_at = parsedate_to_datetime(str(message["Date"])) if message["Date"] else timezone.now()
    except (TypeError, ValueError):
        sent_at = timezone.now()
    _, from_addr = parseaddr(str(message["From"] or ""))
    fallback = "sha256:" + hashlib.sha256(raw).hexdigest()
    _, created = inbound_store(esp=IMAP_ESP, event_id=str(message["Message-ID"] or "").strip() or fallback,
                               timestamp=sent_at, message=message, from_addr=from_addr,
                               subject=str(message["Subject"] or ""),
                               text=reply_text_strip(_body_text(message)))  # fmt: skip
    return created


def _advance(inbox: ImapInbox, *, uidvalidity: int, last_uid: int, stored: int) -> None:
    """Compare-and-set the cursor; a poller that lost the race rolls its batch back."""
    moved = ImapInbox.objects.filter(pk=inbox.pk, uidvalidity=inbox.uidvalidity, last_uid=inbox.last_uid).update(
        uidvalidity=uidvalidity, last_uid=last_uid, messages_stored=F("messages_stored") + stored
    )
    if not moved:
        raise ImapPollError(f"{inbox.name}: another poll moved the cursor first; this one stops", transient=True)
    inbox.uidvalidity, inbox.last_uid = uidvalidity, last_uid


def inbox_poll(*, inbox: ImapInbox, actor: str) -> PollResult:
    """Read the new messages of one inbox and store them as inbound events (processed by actions)."""
    try:
        result = _poll(inbox, actor)
    except ImapPollError as exc:
        _finish(inbox, error=str(exc))
        raise
    except (OSError, imaplib.IMAP4.error) as exc:  # the connection dropped or the server broke protocol
        error = ImapPollError(f"{inbox.host}: {exc.__class__.__name__}: {exc}", transient=True)
        _finish(inbox, error=str(error))
        raise error from exc
    _finish(inbox, error="")
    return result


def _finish(inbox: ImapInbox, *, error: str) -> None:
    ImapInbox.objects.filter(pk=inbox.pk).update(last_polled_at=timezone.now(), last_error=error[:500])


def _poll(inbox: ImapInbox, actor: str) -> PollResult:
    conn, uidvalidity = _open(inbox)
    try:
        rescan = inbox.uidvalidity != uidvalidity
        if rescan and inbox.uidvalidity is not None:
            audit_record(obj=inbox, actor=actor, action="imap:uidvalidity",
                         note=f"UIDVALIDITY {inbox.uidvalidity} → {uidvalidity}: folder rescanned, "
                              "Message-IDs keep replies stored once")  # fmt: skip
        since = inbox.created_at - timedelta(days=settings.IMAP_BACKFILL_DAYS) if rescan else None
        uids = _uids(conn, after=0 if rescan else inbox.last_uid, since=since)
        seen = stored = 0
        if rescan and not uids:
            with transaction.atomic():
                _advance(inbox, uidvalidity=uidvalidity, last_uid=0, stored=0)
        batch = max(1, settings.IMAP_FETCH_BATCH)
        for start in range(0, len(uids), batch):
            chunk = uids[start : start + batch]
            messages = _fetch(conn, chunk)
            with transaction.atomic():
                created = sum(_store(raw) for _, raw in messages)
                _advance(inbox, uidvalidity=uidvalidity, last_uid=max(chunk), stored=created)
            seen += len(messages)
            stored += created
    finally:
        _logout(conn)
    return PollResult(inbox=inbox.name, seen=seen, stored=stored, last_uid=inbox.last_uid, rescanned=rescan)


def inbox_cursor_reset(*, inbox: ImapInbox, actor: str, reason: str) -> None:
    """Forget the cursor (the server, account or folder changed): the next poll rescans from the backfill date."""
    ImapInbox.objects.filter(pk=inbox.pk).update(uidvalidity=None, last_uid=0)
    inbox.uidvalidity, inbox.last_uid = None, 0
    audit_record(obj=inbox, actor=actor, action="imap:cursor-reset", note=reason)


def imap_polls_enqueue(*, now: datetime | None = None) -> int:
    """One ``poll_imap:<inbox>:<slot>`` action per enabled inbox and IMAP_POLL_MINUTES slot."""
    now = now or timezone.now()
    minutes = settings.IMAP_POLL_MINUTES
    slot = now.replace(minute=now.minute - now.minute % minutes, second=0, microsecond=0)
    count = 0
    for pk in ImapInbox.objects.filter(enabled=True).values_list("pk", flat=True):
        action_enqueue(key=f"poll_imap:{pk}:{slot:%Y%m%dT%H%M}", action_type="poll_imap", payload={"inbox_id": pk})
        count += 1
    return count


def imap_polls_enqueue_task() -> str:
    """django-q2 schedule entry point (config/schedules.py)."""
    return f"{imap_polls_enqueue()} poll_imap action(s) enqueued"


__all__ = ["ImapPollError", "PollResult", "imap_polls_enqueue", "inbox_cursor_reset", "inbox_poll"]

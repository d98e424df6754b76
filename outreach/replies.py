"""Replies: match an inbound email to what we sent, classify it, and act on the label.

Matching: In-Reply-To / References against our stored Message-IDs first, then the sender's address
(case-insensitive). The classifier is pluggable (``settings.OUTREACH_REPLY_CLASSIFIER``, a dotted
path to ``classify(reply: InboundReply) -> label``); the default is the rules below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from .identity import normalise_email
from .models import Lead, Reply, SendAttempt

L = Reply.Label
MSGID = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True)
class InboundReply:
    from_email: str
    subject: str
    text: str
    headers: dict[str, str] = field(default_factory=dict)


def _any(patterns: str, text: str) -> bool:
    return re.search(patterns, text, re.IGNORECASE) is not None


def classify_rules(reply: InboundReply) -> str:
    """The default classifier: ordered rules, first match wins; neutral when nothing matches."""
    subject, body = reply.subject or "", reply.text or ""
    both = f"{subject}\n{body}"
    sender = reply.from_email.lower()
    auto = (reply.headers.get("Auto-Submitted", "no").lower() not in ("", "no")) or any(
        h in reply.headers for h in ("X-Autoreply", "X-Autorespond")
    )
    if sender.startswith(("mailer-daemon@", "postmaster@")) or _any(
        r"undeliverable|delivery status notification|mail delivery (failed|subsystem)|returned mail", subject
    ):
        return L.BOUNCE
    if _any(r"out of (the )?office|on (vacation|holiday|leave)|away (until|from)|annual leave|abwesend|"
            r"currently away|limited access to (my )?e-?mail", both):  # fmt: skip
        return L.OUT_OF_OFFICE
    if auto or _any(r"^(automatic reply|auto(matic)?[- ]?(reply|response)|auto:)", subject):
        return L.AUTO_REPLY
    if _any(r"unsubscribe|remove me|take me off|stop (e-?mailing|contacting|sending)|opt[- ]?out", body):
        return L.UNSUBSCRIBE
    if _any(r"not interested|no,? thank|no need|don'?t (contact|email)|do not (contact|email)|please stop|"
            r"not a (good )?fit|not relevant", body):  # fmt: skip
        return L.NEGATIVE
    if _any(r"\binterested\b|let'?s (talk|chat|meet)|sounds (good|great)|book a (call|meeting|demo)|"
            r"tell me more|happy to (chat|talk)|send (me )?(more|details|pricing)|\byes\b|when are you free|"
            r"schedule a", body):  # fmt: skip
        return L.POSITIVE
    return L.NEUTRAL


def classify(reply: InboundReply) -> str:
    label = import_string(settings.OUTREACH_REPLY_CLASSIFIER)(reply)
    return label if label in L.values else L.NEUTRAL


MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
     "december"], start=1)}  # fmt: skip


def return_date(text: str, *, today: date) -> date | None:
    """The date an out-of-office says the person is back, when one can be read."""
    cue = r"(?:until|till|back on|back|return(?:ing)? on|returning|return|bis|from)\s+(?:\w+day,?\s+)?"
    for match in re.finditer(cue + r"(\d{4})-(\d{2})-(\d{2})", text, re.IGNORECASE):
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            continue
    for match in re.finditer(cue + r"(\d{1,2})[./](\d{1,2})[./](\d{4})", text, re.IGNORECASE):
        try:
            return date(int(match[3]), int(match[2]), int(match[1]))
        except ValueError:
            continue
    names = "|".join(MONTHS)
    for match in re.finditer(cue + rf"(?:the\s+)?(?:(\d{{1,2}})(?:st|nd|rd|th)?\s+({names})|({names})\s+(\d{{1,2}})"
                             rf"(?:st|nd|rd|th)?)(?:,?\s+(\d{{4}}))?", text, re.IGNORECASE):  # fmt: skip
        day = int(match[1] or match[4])
        month = MONTHS[(match[2] or match[3]).lower()]
        year = int(match[5]) if match[5] else today.year
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if not match[5] and found < today:
            found = date(year + 1, month, day)
        return found
    return None


def ooo_resume_at(text: str, *, now: datetime) -> datetime:
    """After the return date (the day after it) when one can be read, else 7 days from now."""
    back = return_date(text, today=now.date())
    if back and back >= now.date():
        return datetime.combine(back + timedelta(days=1), datetime.min.time(), tzinfo=timezone.get_current_timezone())
    return now + timedelta(days=7)


# Where the quoted original starts in a plain-text reply: "On <date>, <name> wrote:" (Gmail,
# Apple Mail, Thunderbird; Gmail may wrap it onto two lines), Outlook's separators, or a ">" block.
QUOTE_START = re.compile(
    r"^(?:On\s.{0,300}?wrote:\s*$|-{2,}\s*Original Message\s*-{2,}|_{20,}\s*$|From:\s.+\n(?:Sent|Date):\s)",
    re.IGNORECASE | re.MULTILINE | re.DOTALL,
)


def reply_text_strip(text: str) -> str:
    """The new part of a reply, without the quoted original below it.

    Our own footer (with its "unsubscribe" link) is quoted in most replies; classifying the quote
    would label every reply an unsubscribe. ESPs do this for their inbound webhooks
    (``stripped_text``); IMAP gives us the whole message, so we do it here.
    """
    match = QUOTE_START.search(text)
    head = text[: match.start()] if match else text
    kept = [line for line in head.splitlines() if not line.lstrip().startswith(">")]
    stripped = "\n".join(kept).strip()
    return stripped or text.strip()


def message_ids(headers: dict[str, str]) -> list[str]:
    ids: list[str] = []
    for name in ("In-Reply-To", "References"):
        ids += MSGID.findall(headers.get(name, "") or "")
    return ids


def reply_match(reply: InboundReply) -> tuple[Lead | None, SendAttempt | None, str]:
    """(lead, attempt, how): by our Message-ID in In-Reply-To/References, else by sender address."""
    ids = message_ids(reply.headers)
    if ids:
        attempt = SendAttempt.objects.filter(message_id__in=ids).select_related("lead").order_by("-created_at").first()
        if attempt:
            return attempt.lead, attempt, "message_id"
    # Addresses are stored normalised (lower-case), so "case-insensitive" is an indexed equality.
    address = normalise_email(reply.from_email)
    if address:
        attempt = (SendAttempt.objects.filter(to_email=address).select_related("lead")
                   .order_by("-created_at").first())  # fmt: skip
        if attempt:
            return attempt.lead, attempt, "address"
        lead = Lead.objects.filter(email=address).first()
        if lead:
            return lead, None, "address"
    return None, None, ""

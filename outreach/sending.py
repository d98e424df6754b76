"""The email an outreach step sends: rendered template, compliance headers, our own Message-ID.

Every outreach email carries ``List-Unsubscribe`` (https and mailto) and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058). They are set here, before the
message reaches the backend, so the ESP's DKIM signature covers them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from email.utils import make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

from campaigns.tracking import tracked_text

from .models import Lead, Mailbox, SequenceStep
from .sequences import Rendered, public_base_url
from .tokens import unsubscribe_token

_PLACEHOLDER = "PLACEHOLDER"  # stands for the token in the cached path: tokens hold only URL-safe characters
_unsubscribe_paths: dict[tuple, str] = {}


def _unsubscribe_path(token: str) -> str:
    """``reverse("outreach:unsubscribe", args=[token])`` without resolving per call.

    A group send builds one link per message and ``reverse`` was 5 % of its Python time. The
    resolved path is kept per URLconf and script prefix, the two things ``reverse`` depends on.
    """
    key = (get_urlconf(), get_script_prefix())
    path = _unsubscribe_paths.get(key)
    if path is None:
        path = _unsubscribe_paths[key] = reverse("outreach:unsubscribe", args=[_PLACEHOLDER])
    return path.replace(_PLACEHOLDER, token, 1)


def unsubscribe_url(*, lead: Lead, campaign_id: int | None) -> str:
    token = unsubscribe_token(lead_id=lead.pk, campaign_id=campaign_id)
    return public_base_url() + _unsubscribe_path(token)


def tracked_email(rendered: Rendered, *, lead: Lead, campaign: Any, step: SequenceStep) -> Rendered:
    """``rendered`` with its links (text, and HTML hrefs) tracked per step, carrying the lead signed.

    Our own links (``/u/`` unsubscribe) stay direct: one click there must unsubscribe, whatever a
    redirect or a mail filter's prefetch of it would do.
    """
    place = {"campaign": campaign, "channel": "email", "email_step": f"step-{step.pk}", "lead_id": lead.pk,
             "keep_prefixes": (public_base_url() + "/u/",)}  # fmt: skip
    return dataclasses.replace(
        rendered, text=tracked_text(rendered.text, **place), html=tracked_text(rendered.html, html=True, **place)
    )


def compliance_headers(*, lead: Lead, campaign_id: int | None, mailbox: Mailbox, url: str) -> dict[str, str]:
    domain = mailbox.from_email.rpartition("@")[2]
    mailto = settings.OUTREACH_UNSUBSCRIBE_MAILTO or f"unsubscribe@{domain}"
    token = url.rstrip("/").rsplit("/", 1)[-1]
    return {
        "List-Unsubscribe": f"<{url}>, <mailto:{mailto}?subject={quote('unsubscribe ' + token)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def new_message_id(mailbox: Mailbox) -> str:
    """Our Message-ID, without angle brackets (replies are matched on it)."""
    return make_msgid(domain=mailbox.from_email.rpartition("@")[2]).strip("<>")


def email_fields(
    *, lead: Lead, mailbox: Mailbox, rendered: Rendered, headers: dict[str, str], message_id: str, key: str,
    attempt_id: int, campaign_id: int,
) -> dict[str, Any]:  # fmt: skip
    """The keyword arguments of publishing.adapters.email.EmailMessageSpec."""
    all_headers = dict(headers)
    if mailbox.reply_to:
        all_headers["Reply-To"] = mailbox.reply_to
    return {
        "to": lead.email,
        "from_email": mailbox.from_header(),
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
        "headers": all_headers,
        "message_id": message_id,
        "idempotency_key": key,
        "metadata": {"attempt_id": str(attempt_id), "lead_id": str(lead.pk), "campaign_id": str(campaign_id)},
        "tags": ("outreach", f"campaign-{campaign_id}"),
    }


def proof_write(*, fields: dict[str, Any], name: str) -> tuple[str, str]:
    """PROOF mode: write exactly what LIVE would send; returns (path, sha256)."""
    body = json.dumps({**fields, "tags": list(fields["tags"])}, sort_keys=True, indent=2, ensure_ascii=False).encode()
    sha = hashlib.sha256(body).hexdigest()
    directory = Path(settings.ARTIFACTS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-{sha[:12]}.json"
    path.write_bytes(body)
    return str(path), sha

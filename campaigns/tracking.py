"""Links in posts and emails go out as tracked ``/c/<code>`` URLs: the rewriter is named in settings.

Publishing and outreach send, analytics owns the tracked-link table and the click view, and the
layering (pyproject.toml) lets no sender import analytics. So, like ACTION_TYPES, the rewriter is a
dotted path: ``settings.TRACKED_LINK_REWRITER`` (empty: links go out as written).

The rewrite is deterministic for a place (one post target, or one email step): a retried send or a
reconciliation rebuilds the same text, so the platform sees one post and a lookup can match it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

# Same shape as analytics.links.URL_RE: what a reader (and a platform) takes for a link.
URL_RE = re.compile(r"https?://[^\s<>\"'()\[\]{}]+", re.IGNORECASE)
# Length of a code minted by the rewriter (secrets.token_urlsafe(6)), for length previews.
CODE_LENGTH = 8


class Rewriter(Protocol):
    def __call__(
        self, text: str, *, campaign: Any, channel: str, target_id: int | None = None, email_step: str = "",
        lead_id: int | None = None, html: bool = False, keep_prefixes: tuple[str, ...] = (),
    ) -> str: ...  # fmt: skip


@lru_cache(maxsize=4)
def _rewriter(path: str) -> Rewriter | None:
    return import_string(path) if path else None


def tracking_enabled() -> bool:
    return bool(settings.TRACKED_LINK_REWRITER)


def tracked_text(
    text: str, *, campaign: Any, channel: str, target_id: int | None = None, email_step: str = "",
    lead_id: int | None = None, html: bool = False, keep_prefixes: tuple[str, ...] = (),
) -> str:  # fmt: skip
    """``text`` with every http(s) link replaced by its tracked URL (HTML: only ``href`` values).

    Links starting with one of ``keep_prefixes`` stay as written (an unsubscribe link must reach us
    directly, not through a redirect that a filter may prefetch).
    """
    rewrite = _rewriter(settings.TRACKED_LINK_REWRITER)
    if rewrite is None or not text or "http" not in text.lower():
        return text
    return rewrite(text, campaign=campaign, channel=channel, target_id=target_id, email_step=email_step,
                   lead_id=lead_id, html=html, keep_prefixes=keep_prefixes)  # fmt: skip


def tracked_preview(text: str) -> str:
    """``text`` as it will be sent, with a placeholder code, without creating links (length checks)."""
    if not tracking_enabled():
        return text
    stand_in = f"{settings.TRACKED_LINK_BASE_URL.rstrip('/')}/c/{'x' * CODE_LENGTH}"
    return URL_RE.sub(lambda m: stand_in + split_trailing(m.group(0))[1], text)


def split_trailing(url: str) -> tuple[str, str]:
    """Split sentence punctuation off the end of a matched URL ("see https://a.b/c." → ".")."""
    tail = ""
    while url and url[-1] in ".,;:!?":
        url, tail = url[:-1], url[-1] + tail
    return url, tail

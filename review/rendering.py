"""How an item looks on its review page: content per platform, lengths in the platform's unit,
links and mentions highlighted, the diff against the last approved version."""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from campaigns.audit import audit_trail
from campaigns.tracking import URL_RE, split_trailing, tracked_preview, tracking_enabled
from publishing.adapters.base import Credentials, PublishRequest
from publishing.adapters.registry import get_adapter
from publishing.adapters.validation import graphemes, mastodon_length, x_weighted_length
from publishing.models import Post

# (unit, counter, limit) per platform, mirroring the adapters' own checks.
LENGTH_RULES = {
    "x": ("weighted characters", x_weighted_length, 280),
    "bluesky": ("graphemes", graphemes, 300),
    "mastodon": ("characters", mastodon_length, 500),
    "linkedin": ("characters", len, 3000),
    "instagram": ("characters", len, 2200),
    "facebook": ("characters", len, 63206),
}
_TOKENS = re.compile(r"(https?://\S+)|(@[\w.]+(?:@[\w.-]+\w)?)|(#\w+)")


def highlight(text: str) -> SafeString:
    """Escape, then mark links, @mentions and #tags so a reviewer sees what becomes a link."""
    out, position = [], 0
    for match in _TOKENS.finditer(text):
        out.append(escape(text[position : match.start()]))
        css = "link" if match.group(1) else "mention" if match.group(2) else "tag"
        out.append(f'<mark class="{css}">{escape(match.group(0))}</mark>')
        position = match.end()
    out.append(escape(text[position:]))
    return mark_safe("".join(out).replace("\n", "<br>"))  # noqa: S308 - every piece above is escaped


def platform_checks(post: Post) -> list[dict[str, Any]]:
    rows = []
    for target in post.targets.all():
        platform = target.account.platform
        unit, counter, limit = LENGTH_RULES[platform]
        sent = tracked_preview(post.body)  # lengths as sent: links become /c/<code> URLs
        request = PublishRequest(
            platform=platform, text=sent, credentials=Credentials(account_id=target.account.external_id),
            idempotency_key="preview", media_urls=tuple(post.media_urls), link_url=post.link_url,
        )  # fmt: skip
        rows.append({
            "platform": platform, "account": str(target.account), "length": counter(sent), "unit": unit,
            "limit": limit, "problems": get_adapter(platform).validate(request),
            "token": getattr(target.account, "token_status", ""),
        })  # fmt: skip
    return rows


def post_preview(post: Post) -> SafeString:
    checks = format_html_join(
        "",
        '<tr><td>{}</td><td>{}</td><td class="{}">{} / {} {}</td><td>{}</td><td>{}</td></tr>',
        (
            (c["platform"], c["account"], "over" if c["length"] > c["limit"] else "ok", c["length"], c["limit"],
             c["unit"], "; ".join(c["problems"]) or "—", c["token"] or "—")
            for c in platform_checks(post)
        ),
    )  # fmt: skip
    images = format_html_join("", '<img src="{}" alt="attached image" style="max-height:160px;margin:4px">',
                              ((url,) for url in post.media_urls))  # fmt: skip
    return format_html(
        '<div class="review-content" style="white-space:normal;max-width:60em">{}</div>{}{}{}'
        '<table class="platform-checks"><thead><tr><th>Platform</th><th>Account</th><th>Length</th>'
        "<th>Problems</th><th>Token</th></tr></thead><tbody>{}</tbody></table>",
        highlight(post.body),
        format_html('<p>Link: <a href="{0}" rel="noopener noreferrer">{0}</a></p>', post.link_url)
        if post.link_url
        else "",
        tracked_note(post.body + " " + post.link_url),
        images,
        checks,
    )


def tracked_note(text: str) -> SafeString:
    """Tell the reviewer which destinations the tracked links lead to (lengths above count them)."""
    destinations = sorted({split_trailing(m.group(0))[0] for m in URL_RE.finditer(text)})
    if not destinations or not tracking_enabled():
        return mark_safe("")
    return format_html(
        '<p class="tracked-links">Links go out as tracked /c/ links (UTM added) that redirect to: {}</p>',
        format_html_join(", ", "<code>{}</code>", ((d,) for d in destinations)),
    )


def current_content(kind: str, obj) -> dict:
    """What an approval of this kind is bound to, in the shape its approval audit row keeps."""
    if kind == "post":
        return obj.approved_content()
    if kind == "strategy":
        return {"strategy": obj.strategy, "channels": sorted(obj.channels)}
    return {"subject": obj.subject, "text": obj.body_text, "html": obj.body_html}


def last_approved_content(obj) -> dict | None:
    entry = audit_trail(obj).filter(data__decision="approved").order_by("-created_at").first()
    return entry.data.get("content") if entry else None


def content_diff(before: dict | None, after: dict) -> SafeString:
    """A unified diff of the last approved content against what is up for review now."""
    if before is None:
        return mark_safe("<p>Never approved before.</p>")
    if before == after:
        return mark_safe("<p>Same as the last approved version.</p>")
    old = json.dumps(before, indent=1, ensure_ascii=False, sort_keys=True).splitlines()
    new = json.dumps(after, indent=1, ensure_ascii=False, sort_keys=True).splitlines()
    lines = difflib.unified_diff(old, new, "last approved", "now", lineterm="")
    return format_html_join(
        "", '<div class="{}">{}</div>',
        (("diff-add" if line.startswith("+") else "diff-del" if line.startswith("-") else "diff-ctx", line)
         for line in lines),
    )  # fmt: skip

"""Tracked links: rewrite URLs in a post or an email to ``/c/<code>`` with UTM, sign lead tokens,
and tell link-preview bots and prefetchers from people."""

from __future__ import annotations

import hashlib
import html as html_lib
import re
import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from campaigns.models import Campaign
from campaigns.tracking import URL_RE, split_trailing

from .models import TrackedLink

LEAD_SALT = "analytics.click"
# An href attribute of an HTML email: only these are rewritten, the visible text stays as written.
HREF_RE = re.compile(r"""(\bhref\s*=\s*)(["'])(https?://[^"'<>\s]+)\2""", re.IGNORECASE)
# Link-preview fetchers, crawlers and scripted clients: their hits are recorded, flagged, and not
# counted as clicks (Slack, X, LinkedIn, Facebook and friends fetch every link they see).
BOT_UA_RE = re.compile(
    r"bot\b|bot/|crawler|spider|preview|facebookexternalhit|facebookcatalog|slack|twitterbot|linkedinbot|"
    r"whatsapp|telegrambot|discordbot|skypeuripreview|embedly|outlook|bingpreview|googleimageproxy|"
    r"headlesschrome|curl/|wget/|python-requests|python-urllib|go-http-client|okhttp|java/|libwww|"
    r"mastodon/|bluesky|cardyb|iframely|proofpoint|mimecast|barracuda",
    re.IGNORECASE,
)
PREFETCH_HEADERS = ("HTTP_PURPOSE", "HTTP_SEC_PURPOSE", "HTTP_X_PURPOSE", "HTTP_X_MOZ")


def _medium(channel: str) -> str:
    return "email" if channel == "email" else "social"


def with_utm(url: str, utm: dict[str, str]) -> str:
    """Add UTM parameters the URL does not already carry (an author's own utm_* wins)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {k for k, _ in query}
    query += [(k, v) for k, v in utm.items() if v and k not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))


def link_create(
    *,
    destination: str,
    campaign: Campaign,
    channel: str,
    target_id: int | None = None,
    post_id: int | None = None,
    email_step: str = "",
) -> TrackedLink:
    """Get-or-create the tracked link of ``destination`` in one place (post target or email step).

    Raises ValidationError naming ``destination`` for anything but an absolute http(s) URL.
    """
    try:
        URLValidator(schemes=["http", "https"])(destination)
    except ValidationError:
        raise ValidationError({"destination": f"not an absolute http(s) URL: {destination[:100]!r}"}) from None
    utm = {
        "utm_source": channel,
        "utm_medium": _medium(channel),
        "utm_campaign": campaign.slug,
        "utm_content": f"target-{target_id}" if target_id else (f"post-{post_id}" if post_id else email_step),
    }
    final = with_utm(destination, utm)
    digest = hashlib.sha256(final.encode()).hexdigest()
    place = {
        "campaign": campaign,
        "channel": channel,
        "target_id": target_id,
        "post_id": post_id,
        "email_step": email_step,
        "destination_sha256": digest,
    }
    for _ in range(3):
        existing = TrackedLink.objects.filter(**place).first()
        if existing:
            return existing
        try:
            with transaction.atomic():
                return TrackedLink.objects.create(code=secrets.token_urlsafe(6), destination=final, utm=utm, **place)
        except IntegrityError:
            continue  # a concurrent writer made the same place, or (rarely) the code collided
    raise RuntimeError("could not allocate a tracked link code")


def lead_token(lead_id: int) -> str:
    return signing.dumps(lead_id, salt=LEAD_SALT, compress=True)


def lead_from_token(token: str) -> int:
    """The lead id in a ``t`` token; raises signing.BadSignature if it was not made by us."""
    value = signing.loads(token, salt=LEAD_SALT)
    if not isinstance(value, int):
        raise signing.BadSignature("not a lead id")
    return value


def link_url(link: TrackedLink, *, lead_id: int | None = None, base_url: str | None = None) -> str:
    base = (base_url if base_url is not None else settings.TRACKED_LINK_BASE_URL).rstrip("/")
    url = f"{base}/c/{link.code}"
    return f"{url}?t={lead_token(lead_id)}" if lead_id is not None else url


def links_rewrite(
    text: str,
    *,
    campaign: Campaign,
    channel: str,
    target_id: int | None = None,
    post_id: int | None = None,
    email_step: str = "",
    lead_id: int | None = None,
    base_url: str | None = None,
    html: bool = False,
    keep_prefixes: tuple[str, ...] = (),
) -> str:
    """Replace every http(s) URL in ``text`` with its tracked ``/c/<code>`` URL.

    Posts pass ``target_id`` (or ``post_id`` before targets exist); emails pass ``email_step`` and the
    recipient's ``lead_id``, which travels signed in the URL. ``html`` rewrites ``href`` values only
    (entities decoded first). URLs already tracked, or starting with one of ``keep_prefixes``, are
    left alone. This is settings.TRACKED_LINK_REWRITER (campaigns.tracking.tracked_text).
    """
    base = (base_url if base_url is not None else settings.TRACKED_LINK_BASE_URL).rstrip("/")
    keep = (f"{base}/c/", *keep_prefixes)

    def tracked(url: str) -> str:
        if url.startswith(keep):
            return url
        link = link_create(destination=url, campaign=campaign, channel=channel, target_id=target_id,
                           post_id=post_id, email_step=email_step)  # fmt: skip
        return link_url(link, lead_id=lead_id, base_url=base)

    if html:
        return HREF_RE.sub(
            lambda m: m.group(1) + m.group(2) + html_lib.escape(tracked(html_lib.unescape(m.group(3)))) + m.group(2),
            text,
        )

    def replace(match: re.Match[str]) -> str:
        url, tail = split_trailing(match.group(0))
        return tracked(url) + tail

    return URL_RE.sub(replace, text)


def bot_reason(request: HttpRequest) -> str:
    """Why this hit is not a person ("" if it looks like one): UA, prefetch header or HEAD."""
    if request.method == "HEAD":
        return "head request"
    for header in PREFETCH_HEADERS:
        if "prefetch" in request.META.get(header, "").lower() or "preview" in request.META.get(header, "").lower():
            return f"{header[5:].lower().replace('_', '-')}: prefetch"
    ua = request.META.get("HTTP_USER_AGENT", "")
    if not ua.strip():
        return "no user agent"
    match = BOT_UA_RE.search(ua)
    return f"user agent: {match.group(0)}" if match else ""

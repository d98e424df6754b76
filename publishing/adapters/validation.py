"""Pre-publish checks, each counted in the platform's own unit.

Every violation is one message naming the rule and the limit, e.g.
``"text: 312 graphemes, Bluesky allows 300"``.
"""

from __future__ import annotations

import unicodedata

import regex

from .base import PublishRequest

_GRAPHEME = regex.compile(r"\X")
_URL = regex.compile(r"https?://\S+")
# twitter-text v3: these ranges weigh 1, everything else 2, a URL 23, an emoji sequence 2.
_X_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_X_URL_WEIGHT = 23
_EMOJI_JOINERS = frozenset({0x200D, 0xFE0F})
MASTODON_URL_LENGTH = 23
_REMOTE_MENTION = regex.compile(r"(@\w+)@[\w.-]+\w")


def graphemes(text: str) -> int:
    """Extended grapheme clusters (UAX #29), the unit Bluesky's 300 counts."""
    return len(_GRAPHEME.findall(text))


def x_weighted_length(text: str) -> int:
    """X's weighted length, approximating twitter-text v3.

    Known gaps: only ``http(s)://`` URLs get the fixed weight of 23 (X also shortens bare
    domains), and an emoji is any multi-code-point cluster with a joiner, a variation
    selector or a skin-tone modifier, or a single code point outside the light ranges.
    """
    text = unicodedata.normalize("NFC", text)
    total, position = 0, 0
    for url in _URL.finditer(text):
        total += _x_weigh(text[position : url.start()]) + _X_URL_WEIGHT
        position = url.end()
    return total + _x_weigh(text[position:])


def _x_weigh(text: str) -> int:
    total = 0
    for cluster in _GRAPHEME.findall(text):
        points = [ord(char) for char in cluster]
        if len(points) > 1 and any(
            p in _EMOJI_JOINERS or 0x1F3FB <= p <= 0x1F3FF or 0x1F1E6 <= p <= 0x1F1FF for p in points
        ):
            total += 2
        else:
            total += sum(1 if any(lo <= p <= hi for lo, hi in _X_LIGHT_RANGES) else 2 for p in points)
    return total


def mastodon_length(text: str) -> int:
    """Mastodon's count: code points, any URL as 23, a remote mention without its domain."""
    text = _URL.sub("x" * MASTODON_URL_LENGTH, text)
    return len(_REMOTE_MENTION.sub(r"\1", text))


def over_limit(field: str, count: int, unit: str, platform: str, limit: int) -> list[str]:
    return [f"{field}: {count} {unit}, {platform} allows {limit}"] if count > limit else []


def common_violations(
    request: PublishRequest,
    platform: str,
    *,
    text_required: bool = True,
    uploads_media_urls: bool = False,
    takes_media_ids: bool = False,
) -> list[str]:
    """Rules every platform shares: non-empty text, and only media this adapter can attach.

    Media the adapter cannot attach is refused rather than dropped, so a post never goes
    out silently without its image.
    """
    problems: list[str] = []
    has_media = bool(request.media_ids) or (uploads_media_urls and bool(request.media_urls))
    if text_required and not request.text.strip() and not has_media:
        problems.append(f"text: empty, {platform} needs text")
    if request.media_urls and not uploads_media_urls:
        remedy = "upload them first and pass media_ids" if takes_media_ids else "remove them"
        problems.append(
            f"media_urls: {len(request.media_urls)} given, but this {platform} adapter does not upload media; {remedy}"
        )
    if request.media_ids and not takes_media_ids:
        problems.append(f"media_ids: {len(request.media_ids)} given, but this {platform} adapter cannot attach them")
    return problems

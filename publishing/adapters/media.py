"""Images for the adapters: URL-level checks before publishing, the fetch (type, size) at publish time.

A post's ``media_urls`` are checked twice. On save and in review only the URLs are looked at
(how many, which scheme): nothing is downloaded. Right before the upload the adapter fetches
each image through its HTTP client (timeouts, a size cap, no credentials sent) and checks the
type (sniffed from the bytes, else the Content-Type) and the size against the platform's rule.
A broken rule is a ``PermanentError`` naming it and the limit; nothing is uploaded or posted.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .base import PermanentError, RetryAfterError
from .http import HttpClient
from .ratelimits import DEFAULT_BACKOFF_SECONDS, retry_after_or
from .validation import over_limit

JPEG, PNG, GIF, WEBP = "image/jpeg", "image/png", "image/gif", "image/webp"
_EXTENSIONS = {JPEG: "jpg", PNG: "png", GIF: "gif", WEBP: "webp"}
_SCHEMES = frozenset({"http", "https"})


@dataclass(frozen=True)
class ImageRule:
    """How many images one post may carry on a platform, of which types, each at most how big."""

    platform: str  # the display name used in messages
    max_count: int
    max_bytes: int
    types: tuple[str, ...] = (JPEG, PNG, GIF, WEBP)


@dataclass(frozen=True)
class Image:
    url: str
    mime_type: str
    content: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def filename(self) -> str:
        return f"{self.sha256[:16]}.{_EXTENSIONS.get(self.mime_type, 'bin')}"

    def summary(self) -> dict[str, object]:
        """What a PROOF artifact keeps of an image: never the bytes."""
        return {"url": self.url, "mime_type": self.mime_type, "size": self.size, "sha256": self.sha256}


def url_violations(media_urls: Sequence[str], rule: ImageRule, *, attached: int = 0) -> list[str]:
    """Count (with ``attached`` media ids already uploaded) and scheme: what can be known without a fetch."""
    name = "media_urls + media_ids" if attached else "media_urls"
    problems = over_limit(name, len(media_urls) + attached, "images", rule.platform, rule.max_count)
    for index, url in enumerate(media_urls):
        parts = urlsplit(url)
        if parts.scheme.lower() not in _SCHEMES or not parts.netloc:
            problems.append(f"media_urls[{index}]: {url[:80]!r} is not an http(s) URL")
    return problems


def sniff(content: bytes) -> str:
    """The image type the bytes say they are (magic numbers), or "" when none of ours."""
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return WEBP
    return ""


def fetch_image(client: HttpClient, url: str, rule: ImageRule, index: int = 0) -> Image:
    """Download one image and check it against ``rule``; raise PermanentError naming a broken rule."""
    where = f"media_urls[{index}]"
    host = urlsplit(url).netloc
    download = client.download(url, max_bytes=rule.max_bytes)
    if download.status == 429 or download.status >= 500:
        wait = retry_after_or(download.headers, DEFAULT_BACKOFF_SECONDS)
        raise RetryAfterError(
            f"{client.platform}: {where}: GET {host} answered HTTP {download.status}; try again later",
            retry_after=wait,
            status=download.status,
        )
    if not 200 <= download.status < 300:
        raise PermanentError(
            f"{client.platform}: not sent: {where}: GET {host} answered HTTP {download.status}, "
            "the image is not available",
            status=download.status,
        )
    if download.truncated:
        declared = _content_length(download.headers)
        size = f"{declared}" if declared and declared > rule.max_bytes else f"more than {rule.max_bytes}"
        raise PermanentError(
            f"{client.platform}: not sent: {where}: {size} bytes, {rule.platform} allows {rule.max_bytes} bytes per image",
            detail={"url": url, "limit": rule.max_bytes},
        )
    if not download.content:
        raise PermanentError(f"{client.platform}: not sent: {where}: empty body from {host}", detail={"url": url})
    declared_type = (download.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    # The bytes decide; a declared image type the bytes do not bear out is no type at all.
    mime_type = sniff(download.content) or ("" if declared_type in _EXTENSIONS else declared_type)
    if mime_type not in rule.types:
        shown = mime_type or f"unknown (declared {declared_type or 'none'})"
        raise PermanentError(
            f"{client.platform}: not sent: {where}: type {shown}, {rule.platform} allows {', '.join(rule.types)}",
            detail={"url": url, "content_type": declared_type, "allowed": list(rule.types)},
        )
    return Image(url=url, mime_type=mime_type, content=download.content)


def fetch_images(client: HttpClient, media_urls: Sequence[str], rule: ImageRule) -> tuple[Image, ...]:
    return tuple(fetch_image(client, url, rule, index) for index, url in enumerate(media_urls))


def placeholder_id(image: Image) -> str:
    """A numeric stand-in for a media id in PROOF artifacts (LIVE sends the id the platform returns)."""
    return str(int(image.sha256[:15], 16))


def blob_cid(content: bytes) -> str:
    """The CID a PDS gives a blob: CIDv1, raw codec, sha2-256, base32 lower-case (``bafkrei...``)."""
    raw = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(content).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def _content_length(headers) -> int | None:
    try:
        return int(headers.get("Content-Length") or "")
    except ValueError:
        return None

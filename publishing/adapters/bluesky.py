"""Bluesky: com.atproto.repo.createRecord of an app.bsky.feed.post (contracts.md 2.5).

Idempotency comes from the record key: the rkey is a TID derived from our idempotency key,
so every attempt of one publish targets the same record, and an outcome-unknown attempt is
settled exactly with getRecord (``lookup_by_key``).

Images: each is sent raw to com.atproto.repo.uploadBlob (Content-Type its MIME type); the blob
refs it answers go into the record's ``app.bsky.embed.images`` embed (at most 4, each at most the
lexicon's ``maxSize``). A blob never referenced is deleted by the PDS, so a failed post leaves none.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.conf import settings

from .base import (
    AdapterError,
    AuthError,
    Credentials,
    HttpRequest,
    OutcomeUnknownError,
    PermanentError,
    PublishRequest,
    PublishResult,
    RateLimit,
    RecentPost,
    RetryAfterError,
)
from .http import HttpResponse
from .live import LiveAdapter, chunks, counters
from .media import GIF, JPEG, PNG, WEBP, Image, ImageRule, blob_cid, url_violations
from .ratelimits import header_rate_limit, parse_iso, retry_after_seconds, seconds_until
from .validation import common_violations, graphemes, over_limit

COLLECTION = "app.bsky.feed.post"
MAX_GRAPHEMES = 300
MAX_BYTES = 3000
MAX_FEED_PAGE = 100
MAX_URIS_PER_GETPOSTS = 25
MAX_IMAGES = 4  # app.bsky.embed.images: images maxLength
MAX_IMAGE_BYTES = 2_000_000  # app.bsky.embed.images#image: blob maxSize (formerly 1,000,000)
IMAGES_EMBED = "app.bsky.embed.images"
POST_COUNTERS = ("likeCount", "repostCount", "replyCount", "quoteCount", "bookmarkCount")
METRIC_NAMES = {"likes": "likeCount", "replies": "replyCount", "reposts": "repostCount"}
AUTH_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthMissing", "AuthRequired"})
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable
# A link or mention starts the text or follows whitespace or "(": never inside a word or an email.
_LINK = re.compile(r"(?<![^\s(])https?://\S+")
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
_MENTION = re.compile(rf"(?<![^\s(])@((?:{_LABEL}\.)+[a-zA-Z](?:[a-zA-Z0-9-]{{0,61}}[a-zA-Z0-9])?)")
_URL_TRAILING = ".,;:!?\"'"


def tid_for_key(idempotency_key: str) -> str:
    """The rkey for one idempotency key: 13 base32-sortable characters, top bit zero.

    The timestamp bits come from the key's hash, so the key alone finds the record again.
    They are kept below 2^50 microseconds (before 2006) so our keys never sort ahead of
    clock-made TIDs; Bluesky orders feeds by createdAt, not by rkey.
    """
    digest = int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest()[:8], "big")
    value = ((digest >> 14) << 10) | (digest & 0x3FF)  # 50 bits of "time", 10 bits of clock id
    return "".join(_TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def mention_dids(credentials: Credentials) -> dict[str, str]:
    """Handle → DID pairs given as ``extra["@alice.example.com"] = "did:plc:..."``."""
    return {key[1:].lower(): did for key, did in credentials.extra.items() if key.startswith("@")}


def mentioned_handles(text: str) -> list[str]:
    return [match.group(1).lower() for match in _MENTION.finditer(text)]


def _trim_url(url: str) -> str:
    url = url.rstrip(_URL_TRAILING)
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1].rstrip(_URL_TRAILING)
    return url


def _byte_slice(text: str, start: int, end: int) -> dict[str, int]:
    """Facet indexes count UTF-8 bytes, end exclusive, not characters."""
    byte_start = len(text[:start].encode())
    return {"byteStart": byte_start, "byteEnd": byte_start + len(text[start:end].encode())}


def build_facets(text: str, dids: Mapping[str, str]) -> list[dict]:
    """Link facets for http(s) URLs and mention facets for handles with a known DID."""
    facets = []
    for match in _LINK.finditer(text):
        uri = _trim_url(match.group())
        feature = {"$type": "app.bsky.richtext.facet#link", "uri": uri}
        facets.append({"index": _byte_slice(text, match.start(), match.start() + len(uri)), "features": [feature]})
    for match in _MENTION.finditer(text):
        did = dids.get(match.group(1).lower())
        if did:  # an unresolved handle stays plain text, as in the Bluesky app
            feature = {"$type": "app.bsky.richtext.facet#mention", "did": did}
            facets.append({"index": _byte_slice(text, match.start(), match.end()), "features": [feature]})
    return sorted(facets, key=lambda facet: facet["index"]["byteStart"])


def _post_url(uri: str) -> str:
    # at://<did>/app.bsky.feed.post/<rkey>
    repo, _, rkey = uri.removeprefix("at://").partition(f"/{COLLECTION}/")
    return f"https://bsky.app/profile/{repo}/post/{rkey}" if rkey else ""


class BlueskyAdapter(LiveAdapter):
    platform = "bluesky"
    display_name = "Bluesky"
    image_rule = ImageRule("Bluesky", MAX_IMAGES, MAX_IMAGE_BYTES, (JPEG, PNG, GIF, WEBP))

    def _xrpc(self, nsid: str, query: Mapping[str, object] | None = None) -> str:
        url = f"{settings.BLUESKY_PDS_URL.rstrip('/')}/xrpc/{nsid}"
        return f"{url}?{urlencode(query)}" if query else url

    def _auth(self, credentials: Credentials) -> dict[str, str]:
        return {"Authorization": f"Bearer {credentials.access_token}"}

    def build_publish_request(self, request: PublishRequest) -> HttpRequest:
        """Pure: mentions become facets only for handles whose DID is in ``credentials.extra``."""
        record: dict = {
            "$type": COLLECTION,
            "text": request.text,
            "createdAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        facets = build_facets(request.text, mention_dids(request.credentials))
        if facets:
            record["facets"] = facets
        if request.media_blobs:
            record["embed"] = {"$type": IMAGES_EMBED, "images": [{"image": b, "alt": ""} for b in request.media_blobs]}
        return HttpRequest(
            method="POST",
            url=self._xrpc("com.atproto.repo.createRecord"),
            headers={**self._auth(request.credentials), "Content-Type": "application/json"},
            body={
                "repo": request.credentials.account_id,
                "collection": COLLECTION,
                "rkey": tid_for_key(request.idempotency_key),
                "record": record,
            },
        )

    def build_upload_request(self, credentials: Credentials, image: Image) -> HttpRequest:
        """com.atproto.repo.uploadBlob: the raw bytes, typed by Content-Type."""
        return HttpRequest(
            method="POST",
            url=self._xrpc("com.atproto.repo.uploadBlob"),
            headers={**self._auth(credentials), "Content-Type": image.mime_type},
            content=image.content,
        )

    def upload_media(self, request: PublishRequest, images: Sequence[Image]) -> PublishRequest:
        blobs = []
        for image in images:
            response = self.call(self.build_upload_request(request.credentials, image))
            blob = response.body.get("blob") if isinstance(response.body, dict) else None
            ref = blob.get("ref") if isinstance(blob, dict) else None
            self.upload_id(response, ref.get("$link") if isinstance(ref, dict) else None, "uploadBlob")
            blobs.append(blob)
        return dataclasses.replace(request, media_urls=(), media_blobs=tuple(blobs))

    def proof_media(self, request: PublishRequest, images: Sequence[Image]) -> tuple[list[HttpRequest], PublishRequest]:
        """The blob ref is the bytes' CID, so PROOF shows the one the PDS will answer."""
        uploads = [self.build_upload_request(request.credentials, image) for image in images]
        blobs = tuple(
            {"$type": "blob", "ref": {"$link": blob_cid(i.content)}, "mimeType": i.mime_type, "size": i.size}
            for i in images
        )
        return uploads, dataclasses.replace(request, media_urls=(), media_blobs=blobs)

    def validate(self, request: PublishRequest) -> list[str]:
        problems = common_violations(request, self.display_name, uploads_media_urls=True)
        problems += url_violations(request.media_urls, self.image_rule)
        problems += over_limit("text", graphemes(request.text), "graphemes", self.display_name, MAX_GRAPHEMES)
        problems += over_limit("text", len(request.text.encode()), "bytes", self.display_name, MAX_BYTES)
        if request.reply_to:
            problems.append("reply_to: Bluesky replies need the parent's uri and cid; not supported by this adapter")
        return problems

    def _publish(self, request: PublishRequest) -> PublishResult:
        request = self.with_media(request)
        http = self.build_publish_request(self._with_resolved_mentions(request))
        try:
            response = self.call(http)
        except RetryAfterError as exc:
            if exc.status != 500:
                raise
            # Today a create at an existing rkey answers 500: an earlier attempt may have landed.
            raise OutcomeUnknownError(
                f"{exc} (createRecord at rkey {http.body['rkey']}: the record may already exist; "
                "reconcile with getRecord)",
                detail=exc.detail,
                status=exc.status,
                rate_limit=exc.rate_limit,
            ) from exc
        uri = str(response.body.get("uri", "")) if isinstance(response.body, dict) else ""
        return self.result(response, post_id=uri, url=_post_url(uri))

    def _with_resolved_mentions(self, request: PublishRequest) -> PublishRequest:
        """Look up the DIDs of mentioned handles not given in ``credentials.extra`` (LIVE only)."""
        known = mention_dids(request.credentials)
        resolved = {}
        for handle in dict.fromkeys(mentioned_handles(request.text)):
            if handle in known:
                continue
            http = HttpRequest(
                method="GET", url=self._xrpc("com.atproto.identity.resolveHandle", {"handle": handle}), headers={}
            )
            response = self.client.send(http)
            if response.ok and isinstance(response.body, dict) and response.body.get("did"):
                resolved[f"@{handle}"] = response.body["did"]
            elif response.status != 400:  # 400 = no such handle: the mention stays plain text
                raise self.error_for(response)
        if not resolved:
            return request
        credentials = dataclasses.replace(request.credentials, extra={**request.credentials.extra, **resolved})
        return dataclasses.replace(request, credentials=credentials)

    def create_session(self, identifier: str, app_password: str) -> Credentials:
        """com.atproto.server.createSession with an app password (30 per 5 min per account: keep the session)."""
        http = HttpRequest(
            method="POST",
            url=self._xrpc("com.atproto.server.createSession"),
            headers={"Content-Type": "application/json"},
            body={"identifier": identifier, "password": app_password},
        )
        return self._session(Credentials(account_id="", handle=identifier), self.call(http).body)

    def refresh_token(self, credentials: Credentials) -> Credentials:
        """com.atproto.server.refreshSession with the refresh JWT as the bearer."""
        if not credentials.refresh_token:
            raise AuthError(f"{self.platform}: no refresh JWT; log in again with an app password")
        http = HttpRequest(
            method="POST",
            url=self._xrpc("com.atproto.server.refreshSession"),
            headers={"Authorization": f"Bearer {credentials.refresh_token}"},
        )
        return self._session(credentials, self.call(http).body)

    def _session(self, credentials: Credentials, body: object) -> Credentials:
        body = body if isinstance(body, dict) else {}
        if not body.get("accessJwt") or not body.get("did"):
            raise PermanentError(f"{self.platform}: session answer without accessJwt or did", detail=sorted(body))
        return dataclasses.replace(
            credentials,
            account_id=str(body["did"]),
            handle=str(body.get("handle") or credentials.handle),
            access_token=str(body["accessJwt"]),
            refresh_token=str(body.get("refreshJwt") or credentials.refresh_token),
            expires_at=jwt_expiry(str(body["accessJwt"])),
        )

    def lookup_by_key(self, credentials: Credentials, idempotency_key: str) -> RecentPost | None:
        """The post published under this key, or None when the PDS says the record does not exist."""
        query = {"repo": credentials.account_id, "collection": COLLECTION, "rkey": tid_for_key(idempotency_key)}
        response = self.client.send(
            HttpRequest(
                method="GET", url=self._xrpc("com.atproto.repo.getRecord", query), headers=self._auth(credentials)
            )
        )
        if response.status == 400 and _error_name(response) == "RecordNotFound":
            return None
        if not response.ok:
            raise self.error_for(response)
        return self._recent_post(response.body or {}, record=(response.body or {}).get("value") or {})

    def lookup_recent(self, credentials: Credentials, since: datetime, limit: int) -> list[RecentPost]:
        # The AppView feed, not listRecords: our rkeys do not sort by time (see tid_for_key).
        query = {"actor": credentials.account_id, "limit": min(limit, MAX_FEED_PAGE), "filter": "posts_with_replies"}
        response = self.call(
            HttpRequest(
                method="GET", url=self._xrpc("app.bsky.feed.getAuthorFeed", query), headers=self._auth(credentials)
            )
        )
        posts = [
            self._recent_post(item["post"], record=item["post"].get("record") or {})
            for item in (response.body or {}).get("feed", [])
            if "reason" not in item  # a repost of someone else's post
        ]
        return [p for p in posts if p.created_at is None or p.created_at >= since][:limit]

    def fetch_metrics(self, credentials: Credentials, platform_post_ids: list[str]) -> dict[str, dict[str, int]]:
        """app.bsky.feed.getPosts, 25 uris a call; a post the AppView does not return is left out."""
        metrics: dict[str, dict[str, int]] = {}
        for uris in chunks(platform_post_ids, MAX_URIS_PER_GETPOSTS):
            url = f"{self._xrpc('app.bsky.feed.getPosts')}?{urlencode([('uris', uri) for uri in uris])}"
            response = self.call(HttpRequest(method="GET", url=url, headers=self._auth(credentials)))
            body = response.body if isinstance(response.body, dict) else {}
            for view in body.get("posts") or []:
                if isinstance(view, dict) and view.get("uri"):
                    counts = {name: view.get(name) for name in POST_COUNTERS}
                    metrics[str(view["uri"])] = counters(counts, METRIC_NAMES)
        return metrics

    def _recent_post(self, view: dict, *, record: dict) -> RecentPost:
        uri = str(view.get("uri", ""))
        return RecentPost(
            platform_post_id=uri,
            text=record.get("text", ""),
            created_at=parse_iso(record.get("createdAt")),
            url=_post_url(uri),
        )

    def rate_limit(self, response: HttpResponse) -> RateLimit | None:
        return header_rate_limit(response.headers, prefix="RateLimit")

    def error_for(self, response: HttpResponse) -> AdapterError:
        body = response.body if isinstance(response.body, dict) else {}
        name = _error_name(response)
        message = f"{name}: {body.get('message', '')}" if name else str(response.body)[:300]
        if name in AUTH_ERRORS:
            # ExpiredToken comes as 400: refresh the session and try once more.
            return AuthError(
                f"{self.platform}: HTTP {response.status}: {message}",
                detail=body,
                status=response.status,
                rate_limit=self.rate_limit(response),
            )
        wait = retry_after_seconds(response.headers)
        if wait is None and response.status == 429:
            limit = self.rate_limit(response)
            wait = seconds_until(limit.reset_at) if limit else None  # RateLimit-Reset is a Unix time, not a delta
        return self.error_by_status(response, message=message, retry_after=wait)


def jwt_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT, read without verifying it (only to schedule the refresh)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def _error_name(response: HttpResponse) -> str:
    return str(response.body.get("error", "")) if isinstance(response.body, dict) else ""

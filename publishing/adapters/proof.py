"""PROOF mode: write the exact request LIVE would send, secrets removed, and hash it.

A post with images shows the uploads LIVE sends before the post (each body as its size and
SHA-256, never the bytes) and the post request as LIVE builds it, with stand-in ids where the
platform's answer to an upload would go (Bluesky's blob CID is computed: it is the bytes' hash).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from .base import Adapter, HttpRequest, PublishRequest, PublishResult

REDACTED = "***"
_SECRET_HEADERS = {"authorization", "cookie", "x-api-key"}
_SECRET_FIELDS = {"access_token", "password", "client_secret", "refresh_token"}


def _bytes_summary(content: bytes) -> dict:
    return {"bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}


def redact(http: HttpRequest) -> dict:
    data = asdict(http)
    data["headers"] = {k: (REDACTED if k.lower() in _SECRET_HEADERS else v) for k, v in http.headers.items()}
    for key in ("body", "form"):
        if isinstance(data[key], dict):
            data[key] = {k: (REDACTED if k in _SECRET_FIELDS else v) for k, v in data[key].items()}
    # Raw and multipart bodies appear as size and hash only; absent ones are left out altogether.
    if http.content is None:
        del data["content"]
    else:
        data["content"] = _bytes_summary(http.content)
    if http.files is None:
        del data["files"]
    else:
        data["files"] = {
            name: {"filename": filename, "content_type": content_type, **_bytes_summary(content)}
            for name, (filename, content, content_type) in http.files.items()
        }
    return data


def proof_publish(adapter: Adapter, request: PublishRequest, *, artifacts_dir: Path, name: str) -> PublishResult:
    """Build the LIVE request(s), store them as ``<name>-<sha12>.json`` and return its SHA-256.

    Images are fetched and checked as in LIVE (a wrong type or size fails PROOF too), then the
    adapter's ``proof_media`` gives the upload requests and the post request naming the uploads.
    """
    document: dict = {"platform": request.platform, "idempotency_key": request.idempotency_key}
    proof_media = getattr(adapter, "proof_media", None)
    if request.media_urls and proof_media is not None and getattr(adapter, "image_rule", None) is not None:
        images = adapter.fetch_images(request)  # type: ignore[attr-defined]
        uploads, request = proof_media(request, images)
        document["media"] = [image.summary() for image in images]
        document["uploads"] = [redact(upload) for upload in uploads]
    document["request"] = redact(adapter.build_publish_request(request))
    payload = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False).encode()
    sha = hashlib.sha256(payload).hexdigest()
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    path = artifacts_dir / f"{name}-{sha[:12]}.json"
    # Write then rename, so a crash never leaves a half artifact under the final name.
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(payload)
    tmp.replace(path)
    return PublishResult(platform_post_id=f"proof-{sha[:16]}", proof=True, artifact_path=str(path), artifact_sha256=sha)

"""PROOF mode: write the exact request LIVE would send, secrets removed, and hash it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from .base import Adapter, HttpRequest, PublishRequest, PublishResult

REDACTED = "***"
_SECRET_HEADERS = {"authorization", "cookie", "x-api-key"}
_SECRET_FIELDS = {"access_token", "password", "client_secret", "refresh_token"}


def redact(http: HttpRequest) -> dict:
    data = asdict(http)
    data["headers"] = {k: (REDACTED if k.lower() in _SECRET_HEADERS else v) for k, v in http.headers.items()}
    for key in ("body", "form"):
        if isinstance(data[key], dict):
            data[key] = {k: (REDACTED if k in _SECRET_FIELDS else v) for k, v in data[key].items()}
    return data


def proof_publish(adapter: Adapter, request: PublishRequest, *, artifacts_dir: Path, name: str) -> PublishResult:
    """Build the LIVE request, store it as ``<name>-<sha12>.json`` and return its SHA-256."""
    http = adapter.build_publish_request(request)
    payload = json.dumps(
        {"platform": request.platform, "idempotency_key": request.idempotency_key, "request": redact(http)},
        sort_keys=True,
        indent=2,
        ensure_ascii=False,
    ).encode()
    sha = hashlib.sha256(payload).hexdigest()
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    path = artifacts_dir / f"{name}-{sha[:12]}.json"
    # Write then rename, so a crash never leaves a half artifact under the final name.
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(payload)
    tmp.replace(path)
    return PublishResult(platform_post_id=f"proof-{sha[:16]}", proof=True, artifact_path=str(path), artifact_sha256=sha)

import hashlib
import json
from typing import Any


def content_sha256(content: Any) -> str:
    """SHA-256 of a canonical JSON form: the same content always gives the same hash."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()

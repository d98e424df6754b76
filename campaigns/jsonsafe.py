"""JSON values PostgreSQL can store: jsonb refuses NUL, lone UTF-16 surrogates and infinite numbers.

Python's json module reads all three without complaint (``"\\u0000"``, ``"\\ud800"``, ``1e400``), so
they pass every field that takes a string or a dict and fail in the database as a 500. Entry points
that can refuse a body call ``unstorable`` (a 400 naming the field); ones that must keep what a
provider sent (ESP webhooks) call ``storable``, which replaces them.

Nesting is the fourth: ``json.loads`` of ``[[[[…`` a few thousand deep raises RecursionError (not a
ValueError, so no parser turns it into a 400), and below that depth the walks here and ``json.dumps``
at save do. Every JSON entry point asks ``too_deep`` about the raw body before parsing it.
"""

from __future__ import annotations

import math
import re
from typing import Any

REPLACEMENT = "\ufffd"
# Far beyond any payload we take (the ESPs' and the API's nest under ten levels), far below Python's
# recursion limit of 1,000 frames that the parse, these walks and the save all share.
MAX_DEPTH = 100
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)  # a JSON string, escapes included
_BRACKET = re.compile(rb"[\[\]{}]")
_JSON_START = re.compile(rb"\s*[\[{]")  # form-encoded and multipart bodies are not JSON: their brackets are text


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> str | None:
    """Why the JSON text ``raw`` cannot be taken because of its nesting; None when it can (or is not JSON)."""
    if raw.count(b"[") + raw.count(b"{") <= limit or not _JSON_START.match(raw):  # the common case, at C speed
        return None
    depth = 0
    for bracket in _BRACKET.findall(_STRING.sub(b"", raw)):  # brackets inside strings do not nest
        depth += 1 if bracket in b"[{" else -1
        if depth > limit:
            return f"arrays and objects are nested more than {limit} levels deep"
    return None


def unstorable(value: Any, path: str = "") -> tuple[str, str] | None:
    """(field path, reason) of the first value in ``value`` PostgreSQL cannot store; None when all is fine."""
    where = path or "body"
    if isinstance(value, float) and not math.isfinite(value):
        return where, f"{value} is not a finite number"
    if isinstance(value, str):
        if "\x00" in value:
            return where, "contains a NUL character"
        return None if _encodable(value) else (where, "contains a lone UTF-16 surrogate (not a character)")
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and ("\x00" in key or not _encodable(key)):
            return where, "a key contains a NUL character or a lone UTF-16 surrogate"
        if problem := unstorable(item, f"{path}.{key}" if path else str(key)):
            return problem
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable(value: Any) -> Any:
    """``value`` with NUL and lone surrogates replaced by U+FFFD and infinite numbers by None."""
    if isinstance(value, str):
        value = value.replace("\x00", REPLACEMENT)
        return value if _encodable(value) else "".join(REPLACEMENT if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {storable(k) if isinstance(k, str) else k: storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value

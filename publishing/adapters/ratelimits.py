"""Reading the platforms' rate-limit headers into seconds to wait and ``RateLimit`` values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from .base import RateLimit

# When a platform refuses without saying for how long.
DEFAULT_BACKOFF_SECONDS = 60.0


def now() -> datetime:
    return datetime.now(UTC)


def parse_int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def parse_unix(value: str | None) -> datetime | None:
    seconds = parse_int(value)
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def seconds_until(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    return max(0.0, (moment - now()).total_seconds())


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` as delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return seconds_until(parsedate_to_datetime(value))
    except (TypeError, ValueError):
        return None


def retry_after_or(headers: Mapping[str, str], default: float) -> float:
    """``Retry-After``, or ``default`` when the answer gives none. ``Retry-After: 0`` is an answer
    (try again now), not a missing one: ``or default`` would turn it into a long wait."""
    stated = retry_after_seconds(headers)
    return default if stated is None else stated


def header_rate_limit(headers: Mapping[str, str], *, prefix: str, iso_reset: bool = False) -> RateLimit | None:
    """``<prefix>-Limit``, ``-Remaining`` and ``-Reset``; the reset is Unix seconds unless ``iso_reset``."""
    remaining = parse_int(headers.get(f"{prefix}-Remaining"))
    reset_value = headers.get(f"{prefix}-Reset")
    reset_at = parse_iso(reset_value) if iso_reset else parse_unix(reset_value)
    limit = parse_int(headers.get(f"{prefix}-Limit"))
    if remaining is None and reset_at is None and limit is None:
        return None
    return RateLimit(remaining=remaining, reset_at=reset_at, limit=limit)

"""Field rules of a post that the database cannot check and a broken value would outlive.

Both were found by fuzzing the admin: a number in ``media_urls`` crashed the content hash (a 500),
a NaN in an account's ``extra`` failed in jsonb, and a scheduled time in year 1 of a zone east of UTC was stored before year 1 in UTC, after which
PostgreSQL could not return the row and every page showing the post failed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from campaigns.jsonsafe import unstorable

_url = URLValidator(schemes=["http", "https"])


def validate_json_object(value: Any) -> None:
    """An object jsonb can store (NaN, which the admin's JSON field accepts, it cannot)."""
    if not isinstance(value, dict):
        raise ValidationError("must be a JSON object, e.g. {}")
    if problem := unstorable(value):
        raise ValidationError(f"{problem[0]}: {problem[1]}")


def validate_media_urls(value: Any) -> None:
    if not isinstance(value, list):
        raise ValidationError('must be a list of http(s) URLs, e.g. ["https://example.com/a.jpg"]')
    for n, url in enumerate(value):
        try:
            if not isinstance(url, str):
                raise ValidationError("not text")
            _url(url)
        except ValidationError:
            raise ValidationError(f"item {n}: {url!r} is not an http(s) URL") from None


def validate_schedule_time(value: datetime | None) -> None:
    if value is None:
        return
    try:
        year = value.astimezone(UTC).year if value.tzinfo else value.year
    except OverflowError:
        year = 0
    if not 2000 <= year <= 9998:
        raise ValidationError("must be between the years 2000 and 9998")

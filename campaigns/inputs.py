"""Checks for values from outside (URLs, forms, provider payloads) before they reach a query."""

from __future__ import annotations


def is_id(text: str | None) -> bool:
    """A value that can be a primary key. Not ``isdigit()`` alone: that takes "²", which int() refuses;
    and at most 18 digits, which always fit a bigint."""
    return bool(text) and text.isascii() and text.isdigit() and len(text) < 19

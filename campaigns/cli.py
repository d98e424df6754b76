"""Option checks shared by the management commands: an out-of-range number is a CommandError
naming the option and its range, not an OverflowError, a database error or a loop that never ends."""

from __future__ import annotations

from django.core.management.base import CommandError


def check_range(name: str, value: float | None, low: float, high: float) -> None:
    """None passes (the option was not given); NaN fails like any number outside [low, high]."""
    if value is not None and not low <= value <= high:
        raise CommandError(f"{name}: must be between {low:g} and {high:g} (got {value:g})")

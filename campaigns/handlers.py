"""Handlers that belong to the queue itself."""

from __future__ import annotations

from .models import Action
from .outcomes import Outcome


def noop(action: Action) -> Outcome:
    """Does nothing; used by health checks and the queue benchmark."""
    return Outcome.ok()

"""Handlers used only by tests, registered through the ``settings`` fixture."""

from __future__ import annotations

import time

from campaigns.audit import audit_record
from campaigns.models import Action
from campaigns.outcomes import Outcome


def record(action: Action) -> Outcome:
    """A visible side effect per run, so "ran exactly once" can be counted."""
    audit_record(obj=action, actor="test-handler", action="ran", note=action.locked_by)
    time.sleep(action.payload.get("sleep", 0))
    return Outcome.ok("recorded")


def boom(action: Action) -> Outcome:
    raise RuntimeError("handler exploded")


def later(action: Action) -> Outcome:
    return Outcome.retry("platform said later", after=120)


def refuse(action: Action) -> Outcome:
    return Outcome.permanent("bad content")


def wait(action: Action) -> Outcome:
    return Outcome.release("budget spent", after=30)

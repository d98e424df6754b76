"""What a handler tells the dispatcher. Handlers never write queue status themselves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Outcome:
    kind: str  # ok | retry | release | permanent | unknown | skipped
    message: str = ""
    retry_after: float | None = None  # seconds; None = the dispatcher's backoff
    artifact_ref: str = ""
    artifact_sha256: str = ""
    result: dict[str, Any] | None = field(default=None)

    @classmethod
    def ok(cls, message: str = "", **kw: Any) -> Outcome:
        return cls("ok", message, **kw)

    @classmethod
    def retry(cls, message: str, after: float | None = None, **kw: Any) -> Outcome:
        return cls("retry", message, retry_after=after, **kw)

    @classmethod
    def release(cls, message: str, after: float = 60.0) -> Outcome:
        """Not now (paused, killed, rate budget spent): wait ``after`` seconds; the attempt does not count."""
        return cls("release", message, retry_after=after)

    @classmethod
    def permanent(cls, message: str, **kw: Any) -> Outcome:
        return cls("permanent", message, **kw)

    @classmethod
    def unknown(cls, message: str, **kw: Any) -> Outcome:
        """The outbound call may or may not have happened; the item waits for reconciliation."""
        return cls("unknown", message, **kw)

    @classmethod
    def skipped(cls, message: str, **kw: Any) -> Outcome:
        """Nothing to do (e.g. already published): the action succeeds without effect."""
        return cls("skipped", message, **kw)

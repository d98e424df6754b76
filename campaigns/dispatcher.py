"""The dispatcher: claims due actions, runs their handlers, and owns every queue transition.

Claim: one transaction reads due ids with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite
serialises writers instead) and marks them ``in_progress`` under a per-pass token. The UPDATE
repeats the "due" condition, so even without row locks two passes never claim one action.
Finish: every write is conditional on that token, so a worker whose lease expired and whose
actions were reclaimed by another cannot overwrite the newer attempt.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from . import queue_sql
from .backoff import backoff_seconds
from .models import Action, ActionLog
from .outcomes import Outcome

logger = logging.getLogger(__name__)
S = Action.Status
Handler = Callable[[Action], Outcome]


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class DispatchReport:
    claimed: int = 0
    batches: int = 0
    statuses: Counter = field(default_factory=Counter)

    def __str__(self) -> str:
        parts = ", ".join(f"{k}={v}" for k, v in sorted(self.statuses.items())) or "nothing due"
        return f"claimed {self.claimed} in {self.batches} batch(es): {parts}"


@dataclass(frozen=True)
class _Finish:
    status: str
    last_error: str
    not_before: datetime | None
    result_json: str  # JSON text, so equal results group together
    log_level: str
    log_message: str
    artifact_ref: str = ""
    artifact_sha256: str = ""


class Dispatcher:
    def __init__(self, *, worker_id: str = "", batch_size: int | None = None, lease_seconds: int | None = None) -> None:
        self.worker_id = worker_id or default_worker_id()
        self.batch_size = batch_size or settings.DISPATCH_BATCH_SIZE
        self.lease = timedelta(seconds=lease_seconds or settings.ACTION_LEASE_SECONDS)
        self._handlers: dict[str, Handler | None] = {}
        self._next_release = 0.0  # when to look for expired leases next (monotonic seconds)

    # --- handlers -------------------------------------------------------------------------
    def handler_for(self, action_type: str) -> Handler | None:
        if action_type not in self._handlers:
            dotted = settings.ACTION_HANDLERS.get(action_type)
            self._handlers[action_type] = import_string(dotted) if dotted else None
        return self._handlers[action_type]

    # --- claim ----------------------------------------------------------------------------
    def claim(self) -> tuple[str, list[Action]]:
        """Mark up to ``batch_size`` due actions ``in_progress`` under a fresh token, in one statement."""
        now = timezone.now()
        if time.monotonic() >= self._next_release:
            queue_sql.release_expired(now=now, actor_label=f"dispatcher:{self.worker_id}")
            self._next_release = time.monotonic() + max(1.0, self.lease.total_seconds() / 10)
        token = f"{self.worker_id}:{uuid.uuid4().hex[:12]}"
        return token, queue_sql.claim(token=token, now=now, locked_until=now + self.lease, limit=self.batch_size)

    # --- run ------------------------------------------------------------------------------
    def run_one(self, action: Action) -> _Finish:
        if action.attempts > action.max_attempts:
            # Only reachable when leases kept expiring (a worker died mid-run each time).
            return self._finish(action, Outcome.retry("lease expired on every attempt"))
        handler = self.handler_for(action.action_type)
        if handler is None:
            return self._finish(action, Outcome.permanent(f"unknown action type {action.action_type!r}"))
        try:
            outcome = handler(action)
        except Exception as exc:  # a handler bug or an unclassified error: retry with backoff, keep the trace
            logger.exception("action %s raised", action.idempotency_key)
            tb = traceback.format_exc(limit=8)
            return self._finish(action, Outcome.retry(f"{type(exc).__name__}: {exc}\n{tb}"))
        return self._finish(action, outcome)

    def _finish(self, action: Action, outcome: Outcome) -> _Finish:
        """Map a handler's outcome to the action's next status (the dispatcher's decision alone)."""
        result, message, level = outcome.result, outcome.message, ActionLog.Level.ERROR
        not_before = None
        if outcome.kind in ("ok", "skipped"):
            status, level, error = S.SUCCEEDED, ActionLog.Level.INFO, ""
            if outcome.kind == "skipped":
                result, message = {**(result or {}), "skipped": outcome.message}, f"skipped: {outcome.message}"
        elif outcome.kind == "retry" and action.attempts >= action.max_attempts:
            status, error = S.DEAD_LETTER, outcome.message
            message = f"dead letter after {action.attempts} attempts: {outcome.message}"
        elif outcome.kind == "retry":
            delay = outcome.retry_after if outcome.retry_after is not None else backoff_seconds(action.attempts)
            status, error, level = S.RETRY_WAIT, outcome.message, ActionLog.Level.WARNING
            not_before = timezone.now() + timedelta(seconds=delay)
            message = f"retry in {delay:.0f}s: {outcome.message}"
        elif outcome.kind == "unknown":
            status, error = S.FAILED, outcome.message
            message = f"outcome unknown, needs reconciliation: {outcome.message}"
        else:
            status, error = S.FAILED, outcome.message
        return _Finish(
            status=status, last_error=error, not_before=not_before, result_json="null" if result is None else json.dumps(result, sort_keys=True),
            log_level=level, log_message=message, artifact_ref=outcome.artifact_ref,
            artifact_sha256=outcome.artifact_sha256,
        )  # fmt: skip

    # --- finish ---------------------------------------------------------------------------
    def _record(self, token: str, finished: list[tuple[Action, _Finish]]) -> None:
        """Write the batch's results: one statement per distinct result (no-ops: one for the batch)."""
        now = timezone.now()
        groups: dict[_Finish, list[int]] = defaultdict(list)
        for action, fin in finished:
            groups[fin].append(action.pk)
        # One group (the common case) is one statement, atomic by itself: skip BEGIN/COMMIT round trips.
        with transaction.atomic() if len(groups) > 1 else nullcontext():
            for fin, ids in groups.items():
                changed = queue_sql.finish(
                    ids=ids,
                    token=token,
                    status=fin.status,
                    last_error=fin.last_error,
                    result=json.loads(fin.result_json),
                    not_before=fin.not_before,
                    finished_at=None if fin.status == S.RETRY_WAIT else now,
                    log={"level": fin.log_level, "message": fin.log_message, "artifact_ref": fin.artifact_ref,
                         "artifact_sha256": fin.artifact_sha256, "actor": f"dispatcher:{self.worker_id}"},
                    now=now,
                )  # fmt: skip
                if changed != len(ids):
                    # The lease expired and another worker took these over: its result stands.
                    logger.warning("%d action(s) lost their lease before finishing", len(ids) - changed)

    def _extend_lease(self, token: str) -> None:
        Action.objects.filter(locked_by=token, status=S.IN_PROGRESS).update(locked_until=timezone.now() + self.lease)

    def run_batch(self, report: DispatchReport | None = None) -> int:
        token, actions = self.claim()
        if not actions:
            return 0
        started = time.monotonic()
        finished: list[tuple[Action, _Finish]] = []
        for action in actions:
            finished.append((action, self.run_one(action)))
            # Slow handlers (network calls): keep the rest of the batch from being reclaimed.
            if time.monotonic() - started > self.lease.total_seconds() / 3:
                self._extend_lease(token)
                started = time.monotonic()
        self._record(token, finished)
        if report is not None:
            report.claimed += len(actions)
            report.batches += 1
            report.statuses.update(fin.status for _, fin in finished)
        return len(actions)

    def drain(self, *, max_seconds: float | None = None, max_batches: int | None = None) -> DispatchReport:
        """Run batches until nothing is due, or a limit is reached."""
        report = DispatchReport()
        deadline = time.monotonic() + max_seconds if max_seconds else None
        while True:
            if max_batches is not None and report.batches >= max_batches:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            if not self.run_batch(report):
                break
        return report

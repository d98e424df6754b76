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
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from . import controls, queue_sql
from .backoff import backoff_seconds
from .models import Action, ActionLog, Heartbeat
from .outcomes import Outcome
from .queue_sql import Finish
from .registry import action_type_spec

logger = logging.getLogger(__name__)
S = Action.Status
Handler = Callable[[Action], Outcome]
GroupHandler = Callable[[list[Action]], list[Outcome]]


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class DispatchReport:
    claimed: int = 0
    batches: int = 0
    statuses: Counter = field(default_factory=Counter)
    stopped: str = ""  # why the drain stopped early (a control flag), if it did
    killed: bool = False

    def __str__(self) -> str:
        parts = ", ".join(f"{k}={v}" for k, v in sorted(self.statuses.items())) or "nothing due"
        tail = f"; stopped: {self.stopped}" if self.stopped else ""
        return f"claimed {self.claimed} in {self.batches} batch(es): {parts}{tail}"


# Between actions of a batch the flags are re-read at most this often (seconds): a query per
# no-op action would halve the drain rate, and handlers re-check right before outbound calls.
FLAG_CHECK_INTERVAL = 1.0
HEARTBEAT_INTERVAL = 10.0  # seconds between heartbeats during a long drain


class Dispatcher:
    def __init__(self, *, worker_id: str = "", batch_size: int | None = None, lease_seconds: int | None = None) -> None:
        self.worker_id = worker_id or default_worker_id()
        self.batch_size = batch_size or settings.DISPATCH_BATCH_SIZE
        self.lease = timedelta(seconds=lease_seconds or settings.ACTION_LEASE_SECONDS)
        self._handlers: dict[str, Handler | None] = {}
        self._group_handlers: dict[str, GroupHandler | None] = {}
        self._next_release = 0.0  # when to look for expired leases next (monotonic seconds)

    # --- handlers -------------------------------------------------------------------------
    def handler_for(self, action_type: str) -> Handler | None:
        if action_type not in self._handlers:
            spec = action_type_spec(action_type)
            self._handlers[action_type] = import_string(spec.handler) if spec else None
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

    def group_handler_for(self, action_type: str) -> GroupHandler | None:
        if action_type not in self._group_handlers:
            spec = action_type_spec(action_type)
            self._group_handlers[action_type] = (
                import_string(spec.group_handler) if spec and spec.group_handler else None
            )
        return self._group_handlers[action_type]

    def split_groups(self, actions: list[Action]) -> tuple[list[list[Action]], list[Action]]:
        """(groups for group handlers, each at most GROUP_HANDLER_SIZE actions of one type; the rest)."""
        grouped: dict[str, list[Action]] = defaultdict(list)
        single = []
        for action in actions:
            if action.attempts <= action.max_attempts and self.group_handler_for(action.action_type):
                grouped[action.action_type].append(action)
            else:
                single.append(action)
        size = max(1, settings.GROUP_HANDLER_SIZE)
        return [same[i : i + size] for same in grouped.values() for i in range(0, len(same), size)], single

    # --- run ------------------------------------------------------------------------------
    def run_group(self, actions: list[Action]) -> list[tuple[Action, Finish]]:
        """Run same-type actions through their group handler: one outcome each, as ``run_one`` would."""
        handler = self.group_handler_for(actions[0].action_type)
        try:
            outcomes = handler(actions)
            if len(outcomes) != len(actions):
                raise RuntimeError(f"group handler returned {len(outcomes)} outcomes for {len(actions)} actions")
        except Exception as exc:  # as run_one: retry with backoff; attempts already written are reconciled
            logger.exception("group of %d %s actions raised", len(actions), actions[0].action_type)
            tb = traceback.format_exc(limit=8)
            outcomes = [Outcome.retry(f"{type(exc).__name__}: {exc}\n{tb}")] * len(actions)
        return [(action, self._finish(action, outcome)) for action, outcome in zip(actions, outcomes, strict=True)]

    def run_one(self, action: Action) -> Finish:
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

    def _finish(self, action: Action, outcome: Outcome) -> Finish:
        """Map a handler's outcome to the action's next status (the dispatcher's decision alone)."""
        result, message, level = outcome.result, outcome.message, ActionLog.Level.ERROR
        not_before = None
        if outcome.kind in ("ok", "skipped"):
            status, level, error = S.SUCCEEDED, ActionLog.Level.INFO, ""
            if outcome.kind == "skipped":
                result, message = {**(result or {}), "skipped": outcome.message}, f"skipped: {outcome.message}"
        elif outcome.kind == "release":
            status, error, level = S.RETRY_WAIT, outcome.message, ActionLog.Level.INFO
            wait = 60.0 if outcome.retry_after is None else outcome.retry_after  # 0: claimable at once
            not_before = timezone.now() + timedelta(seconds=wait)
            message = f"released for {wait:.0f}s: {outcome.message}"
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
        return Finish(
            status=status, last_error=error, not_before=not_before, result_json="null" if result is None else json.dumps(result, sort_keys=True),
            log_level=level, log_message=message, artifact_ref=outcome.artifact_ref,
            artifact_sha256=outcome.artifact_sha256, refund_attempt=outcome.kind == "release",
        )  # fmt: skip

    # --- finish ---------------------------------------------------------------------------
    def _record(self, token: str, finished: list[tuple[Action, Finish]]) -> None:
        """Write the batch's results: one statement for the batch (PostgreSQL)."""
        changed = queue_sql.finish(results=[(action.pk, fin) for action, fin in finished], token=token,
                                   actor=f"dispatcher:{self.worker_id}", now=timezone.now())  # fmt: skip
        if changed != len(finished):
            # The lease expired and another worker took these over: its result stands.
            logger.warning("%d action(s) lost their lease before finishing", len(finished) - changed)

    def _extend_lease(self, token: str) -> None:
        Action.objects.filter(locked_by=token, status=S.IN_PROGRESS).update(locked_until=timezone.now() + self.lease)

    def run_batch(self, report: DispatchReport | None = None) -> int:
        report = report if report is not None else DispatchReport()
        # The claim itself skips everything while a global or campaign flag says stop; only an empty
        # claim needs to ask why (a kill must end a shell dispatcher with its own exit code).
        token, actions = self.claim()
        if not actions:
            self._stopped(report)
            return 0
        finished = self.run_actions(token, actions, report)
        self._record(token, finished)
        report.claimed += len(actions)
        report.batches += 1
        report.statuses.update(fin.status for _, fin in finished)
        return len(actions)

    def run_actions(self, token: str, actions: list[Action], report: DispatchReport) -> list[tuple[Action, Finish]]:
        """Run a claimed batch one by one. A subclass may run it concurrently (publishing.worker)."""
        started = last_check = time.monotonic()
        groups, actions = self.split_groups(actions)
        finished: list[tuple[Action, Finish]] = []
        for group in groups:
            finished += self.run_group(group)
        for action in actions:
            if time.monotonic() - last_check > FLAG_CHECK_INTERVAL:
                last_check = time.monotonic()
                if self._stopped(report):
                    # Paused or killed mid-batch: hand the rest back untouched.
                    finished.append((action, self._finish(action, Outcome.release(report.stopped, after=5))))
                    continue
            finished.append((action, self.run_one(action)))
            # Slow handlers (network calls): keep the rest of the batch from being reclaimed.
            if time.monotonic() - started > self.lease.total_seconds() / 3:
                self._extend_lease(token)
                started = time.monotonic()
        return finished

    def _stopped(self, report: DispatchReport) -> bool:
        if report.stopped:
            return True
        reason = controls.stop_reason()
        if reason:
            report.stopped, report.killed = reason, "kill" in reason
        return bool(reason)

    def heartbeat(self) -> None:
        Heartbeat.objects.update_or_create(
            name="dispatcher", defaults={"worker": self.worker_id, "beat_at": timezone.now()}
        )

    def drain(self, *, max_seconds: float | None = None, max_batches: int | None = None) -> DispatchReport:
        """Run batches until nothing is due, or a limit is reached."""
        report = DispatchReport()
        deadline = time.monotonic() + max_seconds if max_seconds else None
        self.heartbeat()
        last_beat = time.monotonic()
        while True:
            if time.monotonic() - last_beat > HEARTBEAT_INTERVAL:
                self.heartbeat()
                last_beat = time.monotonic()
            if max_batches is not None and report.batches >= max_batches:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            if not self.run_batch(report):
                break
        return report


# Distinct exit code when the kill switch stopped a shell dispatcher, so a supervisor does not restart it.
EXIT_KILLED = 3


def run_loop(dispatcher: Dispatcher, *, once: bool, sleep: float, write: Callable[[str], object]) -> None:
    """Drain, report, sleep, again; or once. Exits with EXIT_KILLED when the kill switch is on."""
    while True:
        report = dispatcher.drain()
        if report.claimed or once or report.killed:
            write(str(report))
        if report.killed:
            raise SystemExit(EXIT_KILLED)
        if once:
            return
        time.sleep(sleep)

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
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

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
    result: dict | None
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

    # --- handlers -------------------------------------------------------------------------
    def handler_for(self, action_type: str) -> Handler | None:
        if action_type not in self._handlers:
            dotted = settings.ACTION_HANDLERS.get(action_type)
            self._handlers[action_type] = import_string(dotted) if dotted else None
        return self._handlers[action_type]

    # --- claim ----------------------------------------------------------------------------
    def claim(self) -> tuple[str, list[Action]]:
        now = timezone.now()
        token = f"{self.worker_id}:{uuid.uuid4().hex[:12]}"
        due = Q(status__in=Action.CLAIMABLE, not_before__lte=now) | Q(status=S.IN_PROGRESS, locked_until__lt=now)
        with transaction.atomic():
            ids = list(
                Action.objects.select_for_update(skip_locked=True)
                .filter(due)
                .order_by("priority", "not_before", "id")
                .values_list("id", flat=True)[: self.batch_size]
            )
            if not ids:
                return token, []
            Action.objects.filter(due, id__in=ids).update(
                status=S.IN_PROGRESS,
                locked_by=token,
                locked_until=now + self.lease,
                attempts=F("attempts") + 1,
                fencing_token=F("fencing_token") + 1,
                started_at=now,
                finished_at=None,
            )
        return token, list(Action.objects.filter(locked_by=token).order_by("priority", "not_before", "id"))

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
        now = timezone.now()
        refs = {"artifact_ref": outcome.artifact_ref, "artifact_sha256": outcome.artifact_sha256}
        if outcome.kind in ("ok", "skipped"):
            message = outcome.message if outcome.kind == "ok" else f"skipped: {outcome.message}"
            result = outcome.result
            if outcome.kind == "skipped":
                result = {**(result or {}), "skipped": outcome.message}
            return _Finish(S.SUCCEEDED, "", None, result, ActionLog.Level.INFO, message, **refs)
        if outcome.kind == "retry":
            if action.attempts >= action.max_attempts:
                msg = f"dead letter after {action.attempts} attempts: {outcome.message}"
                return _Finish(S.DEAD_LETTER, outcome.message, None, outcome.result, ActionLog.Level.ERROR, msg, **refs)
            delay = outcome.retry_after if outcome.retry_after is not None else backoff_seconds(action.attempts)
            msg = f"retry in {delay:.0f}s: {outcome.message}"
            return _Finish(
                S.RETRY_WAIT, outcome.message, now + timedelta(seconds=delay), outcome.result,
                ActionLog.Level.WARNING, msg, **refs,
            )  # fmt: skip
        if outcome.kind == "unknown":
            msg = f"outcome unknown, needs reconciliation: {outcome.message}"
            return _Finish(S.FAILED, outcome.message, None, outcome.result, ActionLog.Level.ERROR, msg, **refs)
        return _Finish(S.FAILED, outcome.message, None, outcome.result, ActionLog.Level.ERROR, outcome.message, **refs)

    # --- finish ---------------------------------------------------------------------------
    def _record(self, token: str, finished: list[tuple[Action, _Finish]]) -> None:
        """Write the batch's results: one UPDATE per distinct result, one INSERT for all log rows."""
        now = timezone.now()
        groups: dict[tuple, list[int]] = defaultdict(list)
        for action, fin in finished:
            key = (fin.status, fin.last_error, json.dumps(fin.result, sort_keys=True), fin.not_before)
            groups[key].append(action.pk)
        with transaction.atomic():
            for (status, last_error, result_json, not_before), ids in groups.items():
                values = {
                    "status": status,
                    "last_error": last_error,
                    "result": json.loads(result_json),
                    "locked_by": "",
                    "locked_until": None,
                    "finished_at": None if status == S.RETRY_WAIT else now,
                }
                if not_before is not None:
                    values["not_before"] = not_before
                changed = Action.objects.filter(pk__in=ids, locked_by=token).update(**values)
                if changed != len(ids):
                    logger.warning("%d action(s) of this batch were reclaimed by another worker", len(ids) - changed)
            ActionLog.objects.bulk_create(
                ActionLog(
                    action_id=action.pk,
                    attempt=action.attempts,
                    level=fin.log_level,
                    status=fin.status,
                    message=fin.log_message,
                    artifact_ref=fin.artifact_ref,
                    artifact_sha256=fin.artifact_sha256,
                    actor_label=f"dispatcher:{self.worker_id}",
                )
                for action, fin in finished
            )

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

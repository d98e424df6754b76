"""A dispatcher that runs a claimed batch on threads: network I/O waits, the core does other work.

Outbound calls spend nearly all their time waiting for the platform, so one process can keep
many in flight. Two limits apply: ``threads`` in total, and PUBLISH_CONCURRENCY_PER_ACCOUNT per
social account (a platform counts requests per account, and two posts racing on one account
also race on its token refresh). Everything else (claim, finish, leases, fencing) is the
dispatcher's, unchanged: each action still gets exactly one handler call and one recorded result.

Batches overlap: ``lanes`` loops (default 4) each claim, run and record their own batch, so while
one lane reserves or records (database work, no call in flight) the other's calls keep the
platforms busy. Two lanes of one process are as safe as two processes: claims skip locked rows and
every finish is fenced by its batch's token.

Each thread keeps its own database connection; ``close()`` closes them.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from django.conf import settings
from django.db import connections

from campaigns.dispatcher import HEARTBEAT_INTERVAL, Dispatcher, DispatchReport
from campaigns.models import Action

from .calls import calls_configure
from .models import PublishTarget

# Action types whose payload names a publish target, and so an account to limit.
ACCOUNT_BOUND = frozenset({"post_social", "reconcile_publish"})


def account_groups(actions: list[Action]) -> dict[int, str]:
    """Action id → ``account:<pk>`` for actions bound to one social account (one query)."""
    target_ids = {a.payload.get("target_id"): a.pk for a in actions if a.action_type in ACCOUNT_BOUND}
    if not target_ids:
        return {}
    rows = PublishTarget.objects.filter(pk__in=[t for t in target_ids if t]).values_list("pk", "account_id")
    by_target = dict(rows)
    return {
        a.pk: f"account:{by_target[a.payload['target_id']]}"
        for a in actions
        if a.action_type in ACCOUNT_BOUND and a.payload.get("target_id") in by_target
    }


class ConcurrentDispatcher(Dispatcher):
    def __init__(self, *, threads: int = 50, per_account: int | None = None, lanes: int = 4, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.threads = threads
        self.lanes = lanes
        self._lock = threading.Lock()
        self._busy: dict[str, int] = defaultdict(int)  # single actions in flight per account, all lanes
        self.per_account = per_account or settings.PUBLISH_CONCURRENCY_PER_ACCOUNT
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dispatch")
        # Group publishes hand their calls to the process's call pool: the same limits apply there.
        calls_configure(in_flight=threads, per_account=self.per_account)
        self.peak_in_flight = 0

    def run_actions(self, token: str, actions: list[Action], report: DispatchReport) -> list:
        # Group handlers (e.g. send_email over one SMTP session per group) take a thread per group,
        # side by side with the single actions, in the same wait loop.
        batches, actions = self.split_groups(actions)
        grouped = {self.pool.submit(self.run_group, batch) for batch in batches}
        groups = account_groups(actions)
        waiting = deque(actions)
        busy = self._busy
        running: dict[Future, Action] = {}
        finished = []
        last_extend = time.monotonic()
        while waiting or running or grouped:
            # Start what the limits allow; an action whose account is busy waits its turn.
            deferred = deque()
            while waiting and len(running) + len(grouped) < self.threads:
                action = waiting.popleft()
                group = groups.get(action.pk)
                with self._lock:
                    if group and busy[group] >= self.per_account:
                        deferred.append(action)
                        continue
                    if group:
                        busy[group] += 1
                running[self.pool.submit(self.run_one, action)] = action
            waiting.extendleft(reversed(deferred))
            self.peak_in_flight = max(self.peak_in_flight, len(running) + len(grouped))
            done, _ = wait([*running, *grouped], timeout=5, return_when=FIRST_COMPLETED)
            for future in done:
                if future in grouped:
                    grouped.discard(future)
                    finished += future.result()  # run_group never raises: it maps errors to results
                    continue
                action = running.pop(future)
                group = groups.get(action.pk)
                if group:
                    with self._lock:
                        busy[group] -= 1
                finished.append((action, future.result()))  # run_one never raises: it maps errors to a result
            if time.monotonic() - last_extend > self.lease.total_seconds() / 3:
                self._extend_lease(token)
                last_extend = time.monotonic()
        return finished

    def drain(self, *, max_seconds: float | None = None, max_batches: int | None = None) -> DispatchReport:
        """The base drain, on ``lanes`` overlapping loops; ``max_batches`` counts the batches of all lanes."""
        if self.lanes <= 1:
            return super().drain(max_seconds=max_seconds, max_batches=max_batches)
        deadline = time.monotonic() + max_seconds if max_seconds else None
        tickets = [max_batches]  # batches left to start, shared by the lanes (None: no limit)

        def lane() -> DispatchReport:
            report = DispatchReport()
            try:
                while deadline is None or time.monotonic() < deadline:
                    with self._lock:
                        if tickets[0] is not None:
                            if tickets[0] <= 0:
                                break
                            tickets[0] -= 1
                    if not self.run_batch(report):
                        break
            finally:
                connections.close_all()  # this lane thread's connection
            return report

        self.heartbeat()
        with ThreadPoolExecutor(max_workers=self.lanes, thread_name_prefix="lane") as pool:
            running = {pool.submit(lane) for _ in range(self.lanes)}
            while wait(running, timeout=HEARTBEAT_INTERVAL)[1]:
                self.heartbeat()
            reports = [f.result() for f in running]
        total = DispatchReport()
        for report in reports:
            total.claimed += report.claimed
            total.batches += report.batches
            total.statuses.update(report.statuses)
            total.stopped = total.stopped or report.stopped
            total.killed = total.killed or report.killed
        return total

    def close(self) -> None:
        """Close every worker thread's database connection, then stop the threads."""
        barrier = threading.Barrier(self.threads + 1, timeout=30)

        def close_mine() -> None:
            connections.close_all()
            barrier.wait()  # hold this thread so each thread runs exactly one of these

        for _ in range(self.threads):
            self.pool.submit(close_mine)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        self.pool.shutdown(wait=True)

    def __enter__(self) -> ConcurrentDispatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

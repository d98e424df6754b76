"""A dispatcher that runs a claimed batch on threads: network I/O waits, the core does other work.

Outbound calls spend nearly all their time waiting for the platform, so one process can keep
many in flight. Two limits apply: ``threads`` in total, and PUBLISH_CONCURRENCY_PER_ACCOUNT per
social account (a platform counts requests per account, and two posts racing on one account
also race on its token refresh). Everything else (claim, finish, leases, fencing) is the
dispatcher's, unchanged: each action still gets exactly one handler call and one recorded result.

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

from campaigns.dispatcher import Dispatcher, DispatchReport
from campaigns.models import Action

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
    def __init__(self, *, threads: int = 50, per_account: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.threads = threads
        self.per_account = per_account or settings.PUBLISH_CONCURRENCY_PER_ACCOUNT
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dispatch")
        self.peak_in_flight = 0

    def run_actions(self, token: str, actions: list[Action], report: DispatchReport) -> list:
        # Group handlers (e.g. send_email over one SMTP session per group) take a thread per group,
        # side by side with the single actions, in the same wait loop.
        batches, actions = self.split_groups(actions)
        grouped = {self.pool.submit(self.run_group, batch) for batch in batches}
        groups = account_groups(actions)
        waiting = deque(actions)
        busy: dict[str, int] = defaultdict(int)
        running: dict[Future, Action] = {}
        finished = []
        last_extend = time.monotonic()
        while waiting or running or grouped:
            # Start what the limits allow; an action whose account is busy waits its turn.
            deferred = deque()
            while waiting and len(running) + len(grouped) < self.threads:
                action = waiting.popleft()
                group = groups.get(action.pk)
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
                    busy[group] -= 1
                finished.append((action, future.result()))  # run_one never raises: it maps errors to a result
            if time.monotonic() - last_extend > self.lease.total_seconds() / 3:
                self._extend_lease(token)
                last_extend = time.monotonic()
        return finished

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

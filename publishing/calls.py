"""Outbound platform calls on one pool per process: many in flight, a few per account.

The group publish (publishing.group_publish) hands its calls here. The threads do nothing but the
HTTP exchange (no database), so a worker keeps many calls in flight without a connection per call.
Limits: PUBLISH_MAX_IN_FLIGHT calls per process (the concurrent worker sets it to its ``--threads``)
and PUBLISH_CONCURRENCY_PER_ACCOUNT per social account, because a platform counts requests per
account and two posts racing on one account would also race on its token refresh.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from django.conf import settings

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_slots: dict[Any, threading.BoundedSemaphore] = {}
_per_account = 0


def calls_configure(*, in_flight: int | None = None, per_account: int | None = None) -> None:
    """Set this process's limits (None: the setting). Takes effect for the calls started afterwards."""
    global _pool, _pool_size, _per_account
    size = in_flight or settings.PUBLISH_MAX_IN_FLIGHT
    per = per_account or settings.PUBLISH_CONCURRENCY_PER_ACCOUNT
    with _lock:
        if _pool is not None and _pool_size != size:
            _pool.shutdown(wait=False)  # its running calls finish; new ones go to the new pool
            _pool = None
        if _pool is None:
            _pool, _pool_size = ThreadPoolExecutor(max_workers=size, thread_name_prefix="publish-call"), size
        if per != _per_account:
            _slots.clear()
            _per_account = per


def calls_per_account() -> int:
    return _per_account or settings.PUBLISH_CONCURRENCY_PER_ACCOUNT


def _pool_and_slot(account: Any) -> tuple[ThreadPoolExecutor, threading.BoundedSemaphore]:
    if _pool is None:
        calls_configure()
    with _lock:
        slot = _slots.get(account)
        if slot is None:
            slot = _slots[account] = threading.BoundedSemaphore(_per_account)
        return _pool, slot


def _limited(slot: threading.BoundedSemaphore, call: Callable[[], Any]) -> Any:
    # Another group of this process may be calling the same account right now: wait for its slot.
    with slot:
        return call()


def calls_run(calls: list[tuple[Any, Callable[[], Any]]]) -> list[Future]:
    """Run ``(account, call)`` pairs concurrently within the limits; returns when all are done.

    Each future holds the call's result or its exception (never raised here). Calls of one account
    are started in turn, so the per-account limit rarely makes a pool thread wait.
    """
    by_account: dict[Any, list[int]] = defaultdict(list)
    for n, (account, _) in enumerate(calls):
        by_account[account].append(n)
    order = []  # round-robin over the accounts: their first calls, then their second ones, …
    while by_account:
        for account in list(by_account):
            order.append(by_account[account].pop(0))
            if not by_account[account]:
                del by_account[account]
    futures: list[Future | None] = [None] * len(calls)
    for n in order:
        account, call = calls[n]
        pool, slot = _pool_and_slot(account)
        futures[n] = pool.submit(_limited, slot, call)
    wait(futures)
    return futures

"""Functions django-q2 runs. They only wake the dispatcher: the action table is the source of truth."""

from __future__ import annotations

from django.conf import settings

from .dispatcher import Dispatcher, default_worker_id
from .leases import LeaseLost, lease_acquire
from .ticks import LEASE_NAME, produce_ticks


def dispatch_pass(max_seconds: float = 50.0) -> str:
    """Drain due actions for at most ``max_seconds`` (below the cluster's task timeout)."""
    return str(Dispatcher(worker_id=f"q2:{default_worker_id()}").drain(max_seconds=max_seconds))


def produce_ticks_task() -> str:
    """Scheduled each slot: the cluster that gets the lease enqueues the slot's ticks."""
    holder = f"q2:{default_worker_id()}"
    handle = lease_acquire(name=LEASE_NAME, holder=holder, ttl_seconds=settings.TICK_LEASE_SECONDS)
    if handle is None:
        return "another producer holds the lease"
    try:
        return f"{produce_ticks(handle=handle)} tick(s) enqueued"
    except LeaseLost as exc:
        return f"lease lost: {exc}"


def enqueue_event_partitions() -> str:
    """Daily: one ``event_partitions`` action (keyed by day, so a second cluster adds nothing)."""
    from django.utils import timezone

    from .actions import action_enqueue

    action_enqueue(key=f"event_partitions:{timezone.now():%Y%m%d}", action_type="event_partitions", payload={})
    return "event_partitions enqueued"

"""Functions django-q2 runs. They only wake the dispatcher: the action table is the source of truth."""

from __future__ import annotations

from .dispatcher import Dispatcher, default_worker_id


def dispatch_pass(max_seconds: float = 50.0) -> str:
    """Drain due actions for at most ``max_seconds`` (below the cluster's task timeout)."""
    return str(Dispatcher(worker_id=f"q2:{default_worker_id()}").drain(max_seconds=max_seconds))

"""Two real tick-producer processes; the leader is frozen (SIGSTOP) past its lease and resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.models import Action, Lease

ROOT = Path(__file__).resolve().parents[2]


def subprocess_env() -> dict[str, str]:
    """Same server and test database as this test, for manage.py in a child process."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}


def start_producer(name: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_tick_producer", "--holder", name, "--interval-seconds", "1",
         "--lease-seconds", "2", "--max-seconds", "25"],
        cwd=ROOT, env=subprocess_env(), stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def lease() -> Lease | None:
    return Lease.objects.filter(name="tick-producer").first()


def held_by(holder: str) -> Lease | None:
    current = lease()
    return current if current and current.holder == holder else None


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_stopped_leader_is_fenced_out_after_takeover(running_campaign, tmp_path):
    a = start_producer("A", tmp_path / "a.log")
    b = None
    try:
        first = wait_for(lambda: held_by("A"), 20, "A to lead")
        wait_for(lambda: Action.objects.filter(payload__lease_token=first.token).exists(), 10, "A's first tick")
        b = start_producer("B", tmp_path / "b.log")
        time.sleep(1.5)
        assert lease().holder == "A"  # B waits while A renews

        os.kill(a.pid, signal.SIGSTOP)
        stopped_at = timezone.now()
        second = wait_for(lambda: held_by("B"), 15, "B to take over")
        assert second.token > first.token
        takeover = second.acquired_at
        wait_for(lambda: Action.objects.filter(payload__lease_token=second.token).exists(), 10, "B's first tick")

        os.kill(a.pid, signal.SIGCONT)
        wait_for(lambda: "lease lost" in (tmp_path / "a.log").read_text(), 10, "A to notice")
        time.sleep(2)  # let A try again: it must stay out while B holds the lease

        late = Action.objects.filter(payload__lease_token=first.token, created_at__gte=takeover)
        assert not late.exists(), list(late.values_list("idempotency_key", "created_at"))
        assert Action.objects.filter(payload__lease_token=first.token, created_at__lt=stopped_at).exists()
        assert lease().holder == "B"
    finally:
        for proc in (a, b):
            if proc and proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
                proc.terminate()
                proc.wait(10)

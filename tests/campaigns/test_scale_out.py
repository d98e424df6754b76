"""Two django-q2 clusters (real processes) on one database share a backlog; no action runs twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django_q.tasks import async_task

from campaigns.actions import action_enqueue
from campaigns.models import Action, AuditEntry

ROOT = Path(__file__).resolve().parents[2]
N = 300


def cluster(log: Path) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DJANGO_SETTINGS_MODULE": "tests.settings_subprocess",
        "Q_WORKERS": "2",
        "DISPATCH_BATCH_SIZE": "10",
    }
    return subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_clusters_share_a_backlog_and_run_each_action_once(settings, tmp_path):
    settings.ACTION_TYPES = {**settings.ACTION_TYPES, "record": {"handler": "tests.campaigns.handlers.record"}}
    for i in range(N):
        action_enqueue(key=f"r:{i}", action_type="record", payload={"sleep": 0.01}, wake=False)
    clusters = [cluster(tmp_path / "a.log"), cluster(tmp_path / "b.log")]
    try:
        for _ in range(8):  # wake-ups, as enqueues and the schedule would send them
            async_task("campaigns.tasks.dispatch_pass", 20.0)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and Action.objects.filter(status="succeeded").count() < N:
            time.sleep(0.5)
        # Which process group (= which cluster) each live process belongs to, before they stop.
        ps = subprocess.run(["ps", "-eo", "pid=,pgid="], capture_output=True, text=True).stdout.split()
        group_of = dict(zip(ps[::2], ps[1::2], strict=True))
    finally:
        for proc in clusters:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in clusters:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    logs = "\n".join((tmp_path / n).read_text()[-1500:] for n in ("a.log", "b.log"))
    assert Action.objects.filter(status="succeeded").count() == N, logs
    runs = AuditEntry.objects.filter(action="ran")
    assert runs.count() == N
    assert runs.values("object_id").distinct().count() == N
    # locked_by is "q2:<host>:<worker pid>:<claim>": both clusters' workers took part.
    worker_pids = {note.split(":")[2] for note in runs.values_list("note", flat=True)}
    clusters_seen = {group_of.get(pid) for pid in worker_pids}
    assert clusters_seen == {str(p.pid) for p in clusters}, (worker_pids, group_of)

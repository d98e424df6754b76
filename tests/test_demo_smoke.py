"""The README's run command works on the embedded default: SQLite and django-q2's ORM broker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_demo_command_serves_the_admin_login_on_sqlite(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE")}
    env.update({"PORT": str(port), "VAR_DIR": str(tmp_path), "ARTIFACTS_DIR": str(tmp_path / "artifacts")})
    log = (tmp_path / "demo.log").open("w")
    proc = subprocess.Popen(["bash", "scripts/demo"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = requests.get(f"http://127.0.0.1:{port}/admin/login/", timeout=2).status_code
                if status == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        output = (tmp_path / "demo.log").read_text()
        assert status == 200, output[-3000:]
        assert (tmp_path / "demo.sqlite3").exists()  # the embedded default, not the test PostgreSQL
        assert "Reviewer login: reviewer / " in output
        # The django-q2 cluster (ORM broker) runs the dispatcher on SQLite: an enqueued action gets done.
        # The rollup is PostgreSQL SQL: on SQLite its action ends skipped with the reason, not a traceback.
        enqueue = (
            "from campaigns.actions import action_enqueue; import time\n"
            "a, _ = action_enqueue(key='smoke:1', action_type='noop')\n"
            "r, _ = action_enqueue(key='smoke:rollup', action_type='rollup_metrics', payload={})\n"
            "for _ in range(120):\n"
            "    a.refresh_from_db(); r.refresh_from_db()\n"
            "    if a.status == r.status == 'succeeded': break\n"
            "    time.sleep(0.5)\n"
            "print(a.status, a.logs.count(), r.status)\n"
            "print(r.logs.order_by('pk').last().message)"
        )
        shell = subprocess.run([str(ROOT / ".venv/bin/python"), "manage.py", "shell", "--no-imports", "-c", enqueue],
                               cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)  # fmt: skip
        status_line, _, reason = shell.stdout.partition("\n")
        assert status_line.split() == ["succeeded", "1", "succeeded"], shell.stderr[-2000:]
        assert "PostgreSQL only" in reason, reason
        log_text = (tmp_path / "demo.log").read_text()
        assert "pg_advisory_xact_lock" not in log_text
        assert "database is locked" not in log_text  # BEGIN IMMEDIATE: the cluster and the server queue
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()

"""Shared start-up for benchmarks: a dedicated PostgreSQL database, migrated, and Django ready."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/campaign_automation")


def setup(db_name: str = "") -> None:
    """Point Django at ``db_name`` on the same server as DATABASE_URL, create and migrate it.

    The default is one database per benchmark script, so two benchmarks never truncate each other's data.
    """
    db_name = db_name or f"campaign_automation_bench_{Path(sys.argv[0]).stem}"
    if not BASE_URL.startswith("postgres"):
        sys.exit("benchmarks need PostgreSQL: set DATABASE_URL=postgres://...")
    url = BASE_URL.rsplit("/", 1)[0] + "/" + db_name
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    subprocess.run([sys.executable, str(ROOT / "scripts/ensure_database.py")], check=True, env=os.environ)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"], check=True, env=os.environ)
    import django

    django.setup()


def ratio_line(name: str, ours: float, limit: float, unit: str, target: str) -> str:
    return (
        f"{name}: {ours:,.0f} {unit} vs physical limit {limit:,.0f} {unit} → ratio {ours / limit:.2f} (target {target})"
    )


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all cores, /proc/stat), to account for a run."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def median_seconds(fn, runs: int = 20) -> float:
    """Median wall time of ``runs`` calls of ``fn``: one slow outlier does not move it."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)

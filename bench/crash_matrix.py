"""Crash matrix: N publishes, each through a real dispatcher process SIGKILLed at a random point,
then a fresh dispatcher. Prints deliveries per key (max must be 1), stuck items (must be 0) and
the recovery time. The "physical limit" beside the recovery time is the lease the dead worker
held, which recovery has to wait out.

Usage: .venv/bin/python bench/crash_matrix.py [--trials 200] [--seed 7]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _setup import ROOT, setup

POINTS = ["publish.before_attempt", "publish.before_call", "slow_call", "publish.after_call", "no_crash"]
LEASE = 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    setup()
    sys.path.insert(0, str(ROOT))
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.db import connection

    from campaigns import services as campaign_services
    from campaigns.controls import control_set
    from campaigns.models import Action, Campaign
    from publishing import services
    from publishing.models import PublishTarget, SocialAccount
    from tests.fakes.x_api import FakeX

    with connection.cursor() as cur:
        cur.execute("TRUNCATE campaigns_campaign, campaigns_action, campaigns_auditentry, publishing_socialaccount "
                    "RESTART IDENTITY CASCADE")  # fmt: skip
    User = get_user_model()
    author = User.objects.get_or_create(username="bench-author")[0]
    reviewer = User.objects.get_or_create(username="bench-reviewer")[0]
    reviewer.user_permissions.add(*Permission.objects.filter(codename__in=["approve_post", "approve_campaign"]))
    reviewer = User.objects.get(pk=reviewer.pk)
    campaign = campaign_services.campaign_create(actor=author, name="crash", channels=["x"], strategy="s")
    campaign_services.campaign_submit(campaign=campaign, actor=author)
    campaign_services.campaign_approve(campaign=campaign, actor=reviewer)
    campaign_services.campaign_start(campaign=campaign, actor=reviewer)
    settings.PUBLISHING_MODE = "live"
    control_set(action="live", actor="bench")
    control_set(action="live", actor="bench", campaign=Campaign.objects.get(pk=campaign.pk))
    account = SocialAccount.objects.create(platform="x", handle="bench", external_id="42")

    fake = FakeX().start()
    env = {**os.environ, "X_API_BASE_URL": fake.url, "PUBLISHING_MODE": "live", "ACTION_LEASE_SECONDS": str(LEASE),
           "RECONCILE_MIN_AGE_SECONDS": "0.5", "HTTP_TIMEOUT_SECONDS": "5"}  # fmt: skip

    def dispatcher(extra: dict[str, str]) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "manage.py", "dispatch", "--once"], cwd=ROOT, env={**env, **extra},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    rng = random.Random(args.seed)
    recovery, counts = [], {p: 0 for p in POINTS}
    started = time.monotonic()
    for i in range(args.trials):
        point = rng.choice(POINTS)
        counts[point] += 1
        post = services.post_create(campaign=campaign, author=author, title=f"t{i}", body=f"trial {i} {point}",
                                    accounts=[account])  # fmt: skip
        services.post_submit(post=post, actor=author)
        services.post_approve(post=post, actor=reviewer)
        if point == "slow_call":
            fake.delay = 30
            proc = dispatcher({})
            while not fake.deliveries()[post.body] and proc.poll() is None:
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 0.2))
            proc.send_signal(signal.SIGKILL)
        else:
            proc = dispatcher({"FAILPOINTS": point} if point != "no_crash" else {})
        proc.wait(60)
        fake.delay = 0
        if point != "no_crash":
            time.sleep(LEASE + 0.1)  # the dead worker's lease
        t0 = time.monotonic()
        second = dispatcher({})
        target = PublishTarget.objects.get(post=post)
        while target.status not in ("published", "failed") and time.monotonic() - t0 < 60:
            time.sleep(0.02)
            target.refresh_from_db()
        recovery.append(time.monotonic() - t0 + (LEASE + 0.1 if point != "no_crash" else 0))
        second.wait(60)

    deliveries = fake.deliveries()
    fake.stop()
    stuck = (
        Action.objects.filter(status="in_progress").count()
        + PublishTarget.objects.exclude(status__in=["published", "failed", "needs_reconcile"]).count()
    )
    published = PublishTarget.objects.filter(status="published").count()
    lost = args.trials - sum(1 for n in deliveries.values() if n >= 1)
    print(
        f"crash_matrix: {args.trials} trials in {time.monotonic() - started:.0f} s, seed {args.seed}; points {counts}"
    )
    print(f"  deliveries per key: max {max(deliveries.values())} (must be 1), "
          f"keys delivered {len(deliveries)}/{args.trials}, lost {lost}")  # fmt: skip
    print(f"  targets published {published}/{args.trials}; stuck items {stuck} (must be 0)")
    p50, p95 = statistics.median(recovery), sorted(recovery)[int(len(recovery) * 0.95) - 1]
    print(f"  recovery time: median {p50:.2f} s, p95 {p95:.2f} s, max {max(recovery):.2f} s "
          f"vs physical limit {LEASE} s lease + process start → ratio {LEASE / p50:.2f}")  # fmt: skip
    assert max(deliveries.values()) == 1 and stuck == 0


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])
    main()

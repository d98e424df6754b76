"""A real dispatcher process against a local X, SIGKILLed at each point of a publish, then restarted.

The platform must receive each post at most once, and every target must end published (or in
needs_reconcile); nothing stays in_progress past its lease.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from campaigns.controls import control_set
from campaigns.models import Action
from publishing import services
from publishing.models import PublishTarget
from tests.factories import AccountFactory
from tests.fakes.x_api import FakeX

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 2


def child_env(fake: FakeX, **extra: str) -> dict[str, str]:
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "X_API_BASE_URL": fake.url,
        "PUBLISHING_MODE": "live",
        "ACTION_LEASE_SECONDS": str(LEASE_SECONDS),
        "RECONCILE_MIN_AGE_SECONDS": "1",
        "HTTP_TIMEOUT_SECONDS": "5",
        **extra,
    }


def dispatch(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", "dispatch", "--once"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip


@pytest.fixture
def fake_x():
    fake = FakeX().start()
    yield fake
    fake.stop()


@pytest.fixture
def live_target(settings, running_campaign, author, reviewer_user):
    settings.PUBLISHING_MODE = "live"
    control_set(action="live", actor="test")
    control_set(action="live", actor="test", campaign=running_campaign)
    post = services.post_create(campaign=running_campaign, author=author, title="crash", body="Crash-safe launch 🚀",
                                accounts=[AccountFactory(platform="x", handle="brand")])  # fmt: skip
    services.post_submit(post=post, actor=author)
    services.post_approve(post=post, actor=reviewer_user)
    return post.targets.get()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("point", ["publish.before_attempt", "publish.before_call", "slow_call", "publish.after_call"])
def test_sigkill_at_any_point_never_posts_twice(point, fake_x, live_target):
    if point == "slow_call":
        fake_x.delay = 30
        first = dispatch(child_env(fake_x))
        deadline = time.monotonic() + 30
        while not fake_x.deliveries() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake_x.deliveries(), first.communicate(timeout=5)[0] if first.poll() is not None else "no call"
        first.send_signal(signal.SIGKILL)
    else:
        first = dispatch(child_env(fake_x, FAILPOINTS=point))
    first.wait(60)
    assert first.returncode == -signal.SIGKILL, first.communicate()[0]
    fake_x.delay = 0

    time.sleep(LEASE_SECONDS + 0.5)  # the dead worker's lease runs out
    second = dispatch(child_env(fake_x))
    output, _ = second.communicate(timeout=90)
    assert second.returncode == 0, output

    assert fake_x.deliveries() == {"Crash-safe launch 🚀": 1}
    live_target.refresh_from_db()
    assert live_target.status == "published", (live_target.status, live_target.last_error, output)
    assert live_target.platform_post_id == fake_x.tweets[0]["id"]
    assert not Action.objects.filter(status="in_progress").exists()
    assert PublishTarget.objects.filter(status="publishing").count() == 0

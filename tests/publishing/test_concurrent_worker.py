"""The concurrent worker: many calls in flight, at most N per account, each target published once."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from werkzeug import Request, Response

from campaigns.controls import control_set
from campaigns.models import Action
from publishing import services
from publishing.models import PublishTarget
from publishing.worker import ConcurrentDispatcher
from tests.factories import AccountFactory

LATENCY = 0.3


class SlowMastodon:
    """Answers each status after LATENCY seconds; records the peak concurrency per account token."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = Counter()
        self.peak = Counter()
        self.total_peak = 0
        self.posted: dict[str, list[str]] = defaultdict(list)

    def __call__(self, request: Request) -> Response:
        token = request.headers["Authorization"]
        with self.lock:
            self.now[token] += 1
            self.peak[token] = max(self.peak[token], self.now[token])
            self.total_peak = max(self.total_peak, sum(self.now.values()))
            self.posted[request.headers["Idempotency-Key"]].append(request.get_json()["status"])
            number = sum(len(v) for v in self.posted.values())
        time.sleep(LATENCY)
        with self.lock:
            self.now[token] -= 1
        return Response(f'{{"id": "{number}", "url": "https://m.example/@b/{number}"}}', status=200,
                        content_type="application/json")  # fmt: skip


@pytest.fixture
def fake(settings, threaded_http):
    handler = SlowMastodon()
    settings.MASTODON_BASE_URL = threaded_http("/api/v1/statuses", handler)
    settings.HTTP_TIMEOUT_SECONDS = 5.0
    return handler


@pytest.fixture
def targets(settings, running_campaign, author, reviewer_user):
    settings.PUBLISHING_MODE = "live"
    control_set(action="live", actor="test")
    control_set(action="live", actor="test", campaign=running_campaign)
    accounts = [AccountFactory(platform="mastodon", access_token=f"token-{i}") for i in range(3)]
    made = []
    for i in range(12):
        post = services.post_create(campaign=running_campaign, author=author, title=f"p{i}", body=f"Post number {i}",
                                    accounts=[accounts[i % 3]])  # fmt: skip
        services.post_submit(post=post, actor=author)
        services.post_approve(post=post, actor=reviewer_user)
        made.append(post.targets.get())
    return made


@pytest.mark.django_db(transaction=True)
def test_calls_run_concurrently_within_the_per_account_limit_and_each_target_goes_out_once(fake, targets):
    started = time.monotonic()
    with ConcurrentDispatcher(threads=10, per_account=2, worker_id="t", batch_size=50) as dispatcher:
        report = dispatcher.drain()
    elapsed = time.monotonic() - started

    assert report.statuses == {"succeeded": 12}
    assert PublishTarget.objects.filter(status="published").count() == 12
    assert all(len(bodies) == 1 for bodies in fake.posted.values()) and len(fake.posted) == 12
    assert max(fake.peak.values()) == 2  # never more than two calls at once on one account
    assert fake.total_peak == 6  # three accounts × two
    assert elapsed < 12 * LATENCY / 2, elapsed  # sequential would take 12 × LATENCY
    assert not Action.objects.exclude(status="succeeded").exists()


def test_the_command_refuses_bad_numbers_naming_the_option(db):
    with pytest.raises(CommandError, match="--threads"):
        call_command("dispatch_concurrent", "--once", "--threads", "0")
    with pytest.raises(CommandError, match="--lanes"):
        call_command("dispatch_concurrent", "--once", "--lanes", "0")

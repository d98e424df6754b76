"""Rate budgets learned from the platforms' headers: spent → wait for the reset, 429 → wait, never a failure."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_httpserver import HTTPServer

from campaigns.dispatcher import Dispatcher
from campaigns.models import Action
from publishing import services
from publishing.accounts import publish_settle
from publishing.adapters.base import PublishRequest, RateLimit, RetryAfterError
from publishing.adapters.facebook import FacebookAdapter
from publishing.models import RateBudget
from publishing.ratebudget import budget_record, budget_wait
from tests.factories import AccountFactory


@pytest.fixture
def fake(httpserver: HTTPServer, settings) -> HTTPServer:
    settings.X_API_BASE_URL = httpserver.url_for("").rstrip("/")
    settings.HTTP_TIMEOUT_SECONDS = 2.0
    settings.RATE_BUDGET_RESERVE_FRACTION = 0.02
    return httpserver


@pytest.fixture
def account(db):
    return AccountFactory(platform="x", handle="brand", external_id="2244994945", access_token="tok")


def approved_target(campaign, author, reviewer, account, body):
    post = services.post_create(campaign=campaign, author=author, title=body, body=body, accounts=[account])
    services.post_submit(post=post, actor=author)
    services.post_approve(post=post, actor=reviewer)
    return post.targets.get()


def limits(remaining: int, reset_in: float) -> dict[str, str]:
    reset = int((timezone.now() + timedelta(seconds=reset_in)).timestamp())
    return {"x-rate-limit-limit": "100", "x-rate-limit-remaining": str(remaining), "x-rate-limit-reset": str(reset)}


def drain() -> None:
    Dispatcher(worker_id="test").drain(max_batches=5)


def test_a_spent_budget_holds_the_next_post_until_the_reset_without_calling(fake, live, author, reviewer_user, account):
    fake.expect_oneshot_request("/2/tweets", method="POST").respond_with_json(
        {"data": {"id": "1", "text": "one"}}, status=201, headers=limits(0, 600)
    )
    first = approved_target(live, author, reviewer_user, account, "one")
    drain()
    second = approved_target(live, author, reviewer_user, account, "two")
    drain()

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("published", "scheduled")
    assert len(fake.log) == 1
    held = Action.objects.get(payload__target_id=second.pk)
    assert (held.status, held.attempts) == ("retry_wait", 0)
    assert "rate budget spent" in held.last_error
    assert timedelta(seconds=590) < held.not_before - timezone.now() <= timedelta(seconds=601)
    assert RateBudget.objects.get(scope=f"account:{account.pk}").remaining == 0


def test_429_waits_until_the_reset_and_does_not_spend_an_attempt(fake, live, author, reviewer_user, account):
    fake.expect_oneshot_request("/2/tweets", method="POST").respond_with_json(
        {"title": "Too Many Requests", "type": "about:blank", "status": 429, "detail": "Too Many Requests"},
        status=429, headers=limits(0, 300),
    )  # fmt: skip
    target = approved_target(live, author, reviewer_user, account, "busy")
    drain()

    target.refresh_from_db()
    action = Action.objects.get(payload__target_id=target.pk)
    assert target.status == "scheduled"
    assert (action.status, action.attempts) == ("retry_wait", 0)
    assert timedelta(seconds=290) < action.not_before - timezone.now() <= timedelta(seconds=301)
    assert budget_wait(account) is not None


def test_a_nearly_spent_budget_stops_pre_emptively_and_an_old_one_does_not(account, settings):
    settings.RATE_BUDGET_RESERVE_FRACTION = 0.02
    later = timezone.now() + timedelta(minutes=5)
    budget_record(account, RateLimit(remaining=3, reset_at=later, limit=100))
    assert budget_wait(account) is None
    budget_record(account, RateLimit(remaining=2, reset_at=later, limit=100))
    assert budget_wait(account)[0] == pytest.approx(300, abs=2)
    budget_record(account, RateLimit(remaining=0, reset_at=timezone.now() - timedelta(seconds=1), limit=100))
    assert budget_wait(account) is None


def test_meta_usage_is_an_app_wide_budget(db):
    page_a = AccountFactory(platform="facebook", external_id="111")
    page_b = AccountFactory(platform="facebook", external_id="222")
    budget_record(page_a, RateLimit(remaining=0, reset_at=timezone.now() + timedelta(minutes=10), limit=100))
    assert "app:facebook" in budget_wait(page_b)[1]


def test_a_roomy_budget_is_not_written_on_the_hot_path(account):
    budget_record(account, RateLimit(remaining=90, reset_at=timezone.now() + timedelta(minutes=5), limit=100))
    assert not RateBudget.objects.exists()


@pytest.mark.parametrize(
    ("code", "message", "holds_the_other_page"),
    [(32, "(#32) Page request limit reached", False), (4, "(#4) Application request limit reached", True)],
)
def test_a_pages_throttle_holds_that_page_and_the_apps_holds_them_all(
    db, httpserver: HTTPServer, settings, code, message, holds_the_other_page
):
    settings.GRAPH_API_BASE_URL = httpserver.url_for("").rstrip("/")
    page_a = AccountFactory(platform="facebook", external_id="111", access_token="a")
    page_b = AccountFactory(platform="facebook", external_id="222", access_token="b")
    httpserver.expect_request(f"/{settings.GRAPH_API_VERSION}/111/feed", method="POST").respond_with_json(
        {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A1"}},
        status=400, headers={"Retry-After": "120"},
    )  # fmt: skip
    adapter = FacebookAdapter()
    request = PublishRequest(platform="facebook", text="hi", credentials=page_a.credentials(), idempotency_key="k")
    with pytest.raises(RetryAfterError) as caught:
        adapter.publish(request)
    answer = caught.value
    assert answer.throttled

    with pytest.raises(RetryAfterError):
        publish_settle(adapter, request, account=page_a, actor="test", first=answer)

    assert budget_wait(page_a)[0] == pytest.approx(120, abs=2)
    assert (budget_wait(page_b) is not None) is holds_the_other_page

"""The group publish: many targets reserved, called and recorded together, each classified as one alone."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from werkzeug import Request, Response

from campaigns.audit import audit_trail
from campaigns.models import Action, Event
from publishing import services
from publishing.calls import calls_configure
from publishing.group_publish import post_social_group
from publishing.models import PublishTarget, RateBudget
from tests.factories import AccountFactory

TIMEOUT = 0.5


class Mastodon:
    """POST /api/v1/statuses answering by the status text, with Mastodon's real shapes and headers."""

    def __init__(self, remaining: int = 250) -> None:
        self.lock = threading.Lock()
        self.texts: list[str] = []
        self.remaining = remaining

    def __call__(self, request: Request) -> Response:
        text = request.get_json()["status"]
        with self.lock:
            self.texts.append(text)
            number = len(self.texts)
        reset_at = (timezone.now() + timedelta(minutes=5)).replace(microsecond=0)
        reset = reset_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": str(self.remaining), "X-RateLimit-Reset": reset}
        if "rate" in text:
            self.reset_at = reset_at  # the reset this 429 named (another call's may fall in the next second)
            headers["X-RateLimit-Remaining"] = "0"
            return Response('{"error": "Too many requests"}', status=429, headers=headers,
                            content_type="application/json")  # fmt: skip
        if "bad" in text:
            return Response('{"error": "Validation failed: Text character limit of 500 exceeded"}', status=422,
                            headers=headers, content_type="application/json")  # fmt: skip
        if "slow" in text:
            time.sleep(TIMEOUT * 3)
        return Response(f'{{"id": "1090{number}", "url": "https://m.example/@brand/1090{number}"}}', status=200,
                        headers=headers, content_type="application/json")  # fmt: skip


@pytest.fixture
def mastodon(settings, threaded_http):
    fake = Mastodon()
    settings.MASTODON_BASE_URL = threaded_http("/api/v1/statuses", fake)
    settings.HTTP_TIMEOUT_SECONDS = TIMEOUT
    calls_configure(in_flight=10, per_account=2)
    return fake


def approved(campaign, author, reviewer, bodies: list[str], accounts=None) -> list[tuple[PublishTarget, Action]]:
    made = []
    for n, body in enumerate(bodies):
        account = accounts[n] if accounts else AccountFactory(platform="mastodon", access_token=f"token-{n}")
        post = services.post_create(campaign=campaign, author=author, title=body, body=body, accounts=[account])
        services.post_submit(post=post, actor=author)
        services.post_approve(post=post, actor=reviewer)
        target = post.targets.get()
        made.append((target, Action.objects.get(action_type="post_social", payload__target_id=target.pk)))
    return made


@pytest.mark.django_db(transaction=True)
def test_each_target_of_a_group_ends_as_it_would_alone(mastodon, live, author, reviewer_user):
    bodies = ["first post", "second post", "third post", "rate limited post", "slow post", "bad post"]
    made = approved(live, author, reviewer_user, bodies)

    outcomes = post_social_group([action for _, action in made])

    assert [o.kind for o in outcomes] == ["ok", "ok", "ok", "release", "unknown", "permanent"]
    assert sorted(mastodon.texts) == sorted(bodies)  # one call each, nothing retried blindly
    targets = [PublishTarget.objects.get(pk=t.pk) for t, _ in made]
    assert [t.status for t in targets] == ["published"] * 3 + ["scheduled", "needs_reconcile", "failed"]
    ids = {t.platform_post_id for t in targets[:3]}
    assert len(ids) == 3 and all(t.platform_url.endswith(t.platform_post_id) for t in targets[:3])
    for target, action in made[:3]:
        moves = {(a.action, a.actor_label) for a in audit_trail(target)}
        assert {("status:publishing", f"action:{action.pk}"), ("status:published", f"action:{action.pk}")} <= moves
        assert PublishTarget.objects.get(pk=target.pk).published_sha256 == target.post.approved_sha256
    events = Event.objects.filter(kind="post_published")
    assert sorted(e.data["platform_post_id"] for e in events) == sorted(ids)
    # The reset the 429 named, counted from the end of the group (the slow sibling kept it open
    # ~0.5 s after the 429): the dispatcher adds the wait to the time the group returns.
    left = (mastodon.reset_at - timezone.now()).total_seconds()
    assert outcomes[3].retry_after == pytest.approx(left, abs=0.2)
    assert RateBudget.objects.get(scope=f"account:{targets[3].account_id}").remaining == 0
    assert Action.objects.filter(action_type="reconcile_publish", payload__target_id=targets[4].pk).exists()
    assert "character limit of 500" in targets[5].last_error


@pytest.mark.django_db(transaction=True)
def test_a_group_costs_the_same_statements_whatever_its_size(mastodon, live, author, reviewer_user):
    small = approved(live, author, reviewer_user, [f"small {n}" for n in range(3)])
    large = approved(live, author, reviewer_user, [f"large {n}" for n in range(12)])

    with CaptureQueriesContext(connection) as three:
        post_social_group([a for _, a in small])
    with CaptureQueriesContext(connection) as twelve:
        post_social_group([a for _, a in large])

    assert PublishTarget.objects.filter(status="published").count() == 15
    assert len(twelve) == len(three), [q["sql"][:80] for q in twelve.captured_queries]


@pytest.mark.django_db(transaction=True)
def test_a_budget_spent_by_the_first_round_holds_the_accounts_later_targets(mastodon, live, author, reviewer_user):
    mastodon.remaining = 0  # every answer says: nothing left until the reset
    account = AccountFactory(platform="mastodon", access_token="token")
    made = approved(live, author, reviewer_user, [f"post {n}" for n in range(5)], accounts=[account] * 5)

    outcomes = post_social_group([a for _, a in made])

    assert [o.kind for o in outcomes] == ["ok", "ok", "release", "release", "release"]
    assert len(mastodon.texts) == 2  # two calls in flight per account; the rest waits for the reset
    assert all("rate budget spent" in o.message for o in outcomes[2:])
    assert PublishTarget.objects.filter(status="scheduled").count() == 3

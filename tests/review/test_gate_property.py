"""Property: whatever people do, no adapter ever receives content whose exact hash was not
approved by someone other than its author.

Hypothesis generates sequences of create / edit / submit / approve / reject / expire / schedule /
tamper / dispatch across several posts and users (authors hold the approve permission too, so
self-approval is really tried). Every adapter call is recorded at the point where the request is
built, and checked against the audit trail's approvals.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from campaigns.audit import audit_trail
from campaigns.dispatcher import Dispatcher
from campaigns.errors import TransitionError
from campaigns.hashing import content_sha256
from publishing import group_publish, services
from publishing.models import Post
from publishing.services import post_expire_approval
from tests.factories import AccountFactory, UserFactory

OPS = ["create", "edit", "submit", "approve", "reject", "expire", "reschedule", "tamper", "dispatch"]
# The moves that lead somewhere (submit, approve, dispatch) come up more often.
WEIGHTED = [*OPS, "submit", "submit", "approve", "approve", "approve", "dispatch", "dispatch"]
TEXTS = st.sampled_from(["Launch!", "Launch!!", "Big news", "Buy now", "Hello 👋"])
STEP = st.tuples(st.sampled_from(WEIGHTED), st.integers(0, 3), st.integers(0, 3), TEXTS)
# Sequences that must always be tried: an approved post tampered with, an edit after approval,
# a self-approval, and the plain happy path (which must send, or the property says nothing).
HAPPY = [("create", 0, 0, "Launch!"), ("submit", 0, 0, ""), ("approve", 0, 1, ""), ("dispatch", 0, 0, "")]
TAMPERED = [*HAPPY[:3], ("tamper", 0, 0, "Buy now"), ("dispatch", 0, 0, "")]
EDITED = [*HAPPY[:3], ("edit", 0, 0, "Buy now"), ("dispatch", 0, 0, "")]
SELF = [("create", 0, 0, "Launch!"), ("submit", 0, 0, ""), ("approve", 0, 0, ""), ("dispatch", 0, 0, "")]


class Rollback(Exception):
    pass


@pytest.fixture
def people(db):
    """Four users who may all approve (created once; each example rolls back its own rows)."""
    users = [UserFactory(username=f"u{i}") for i in range(4)]
    perms = Permission.objects.filter(codename="approve_post")
    for user in users:
        user.user_permissions.add(*perms)
    return [type(u).objects.get(pk=u.pk) for u in users]


@pytest.mark.django_db(transaction=True)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=20))
@example(steps=HAPPY)
@example(steps=TAMPERED)
@example(steps=EDITED)
@example(steps=SELF)
def test_no_adapter_receives_content_not_approved_by_someone_else(steps, running_campaign, people, monkeypatch):
    sent: list[tuple[int, str]] = []
    real = group_publish.proof_publish

    def recording(adapter, request, **kw):
        sent.append((int(kw["name"].split("-")[1]), request.text, request.media_urls, request.link_url))
        return real(adapter, request, **kw)

    monkeypatch.setattr(group_publish, "proof_publish", recording)
    try:
        with transaction.atomic():  # each example starts from the same database
            run_example(steps, running_campaign, people, sent)
            if steps == HAPPY:
                assert len(sent) == 1, "the happy path must reach the adapter"
            raise Rollback
    except Rollback:
        pass


def run_example(steps, campaign, users, sent) -> None:
    sent.clear()
    account = AccountFactory(platform="mastodon")
    posts: list[Post] = []

    for op, item, who, text in steps:
        user = users[who]
        post = Post.objects.get(pk=posts[item % len(posts)].pk) if posts else None
        try:
            with transaction.atomic():
                if op == "create" or post is None:
                    posts.append(services.post_create(campaign=campaign, author=user, title="p", body=text,
                                                      accounts=[account]))  # fmt: skip
                elif op == "edit":
                    services.post_update(post=post, actor=user, body=text)
                elif op == "submit":
                    services.post_submit(post=post, actor=user)
                elif op == "approve":
                    services.post_approve(post=post, actor=user)
                elif op == "reject":
                    services.post_reject(post=post, actor=user, reason="no")
                elif op == "expire":
                    post_expire_approval(post=post, actor=user, reason="test")
                elif op == "reschedule":
                    services.post_update(post=post, actor=user, scheduled_at=timezone.now() - timedelta(minutes=1))
                elif op == "tamper":  # an edit behind the services' back
                    Post.objects.filter(pk=post.pk).update(body=text + " (tampered)")
                elif op == "dispatch":
                    Dispatcher(worker_id="prop").drain()
        except (TransitionError, ValidationError):
            pass  # refusals are allowed; what went out is checked below
    Dispatcher(worker_id="prop").drain()

    for target_id, text, media, link in sent:
        post = Post.objects.get(targets__pk=target_id)
        sha = content_sha256({"body": text, "media_urls": list(media), "link_url": link})
        approvals = audit_trail(post).filter(action="status:approved", data__sha256=sha)
        assert approvals.exists(), f"sent {text!r} without an approval of that exact content"
        assert all(a.actor_id and a.actor_id != post.author_id for a in approvals), "self-approved content went out"

"""The wired path: draft → approval in the admin → action queue via django-q2 → PROOF artifact."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from campaigns.actions import action_enqueue
from campaigns.audit import audit_trail
from campaigns.dispatcher import Dispatcher
from campaigns.models import Action, ActionLog, AuditEntry
from campaigns.services import campaign_pause
from publishing import services
from publishing.models import Post, PublishTarget
from review.index import refresh
from review.models import ReviewItem
from tests.factories import AccountFactory, UserFactory

CHANGELIST = "admin:review_reviewitem_changelist"


@pytest.fixture
def pending_post(running_campaign, author):
    accounts = [
        AccountFactory(platform="mastodon", handle="@brand@example.social"),
        AccountFactory(platform="x", handle="@brand"),
    ]
    post = services.post_create(
        campaign=running_campaign, author=author, title="Launch", body="We launched today!", accounts=accounts
    )
    services.post_submit(post=post, actor=author)
    return post


def grant(user, *codenames: str) -> None:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


def queue_item(post) -> int:
    """The review-queue row of a post (the queue catches up with the audit trail first)."""
    refresh()
    return ReviewItem.objects.get(object_id=post.pk, kind="post").pk


def approve_in_admin(client, user, post):
    """Select the post in the queue, see the confirmation page, confirm."""
    client.force_login(user)
    item = queue_item(post)
    page = client.post(reverse(CHANGELIST), {"action": "approve", "_selected_action": [item]})
    assert page.status_code == 200 and post.title in page.content.decode()
    return client.post(reverse(CHANGELIST), {"action": "approve", "_selected_action": [item], "confirm": "yes"},
                       follow=True)  # fmt: skip


def refusals(post) -> list[str]:
    keys = [f"post_social:{t.pk}:" for t in post.targets.all()]
    return [
        log.message
        for log in ActionLog.objects.filter(action__action_type="post_social")
        if any(log.action.idempotency_key.startswith(k) for k in keys)
    ]


@pytest.mark.django_db(transaction=True)
def test_approved_post_is_published_in_proof_with_a_matching_artifact(client, q_sync, pending_post, reviewer_user):
    response = approve_in_admin(client, reviewer_user, pending_post)
    assert response.status_code == 200
    assert "1 approved." in response.content.decode()

    # Approval enqueued one action per target and woke django-q2 (sync mode ran the dispatch pass).
    targets = list(PublishTarget.objects.filter(post=pending_post).select_related("account"))
    assert [t.status for t in targets] == ["published", "published"]
    for target in targets:
        artifact = Path(target.artifact_path)
        assert artifact.exists()
        assert hashlib.sha256(artifact.read_bytes()).hexdigest() == target.artifact_sha256
        log = ActionLog.objects.get(action__payload__target_id=target.pk, status="succeeded")
        assert log.artifact_sha256 == target.artifact_sha256
        assert log.artifact_ref == target.artifact_path
        assert target.platform_post_id.startswith("proof-")
        recorded = json.loads(artifact.read_text())
        assert recorded["request"]["method"] == "POST"
        body = recorded["request"]["body"]
        assert "We launched today!" in json.dumps(body)
        assert "Bearer" not in json.dumps(recorded)  # secrets never reach an artifact
    mastodon = next(t for t in targets if t.account.platform == "mastodon")
    request = json.loads(Path(mastodon.artifact_path).read_text())["request"]
    assert request["url"].endswith("/api/v1/statuses")
    assert request["headers"]["Idempotency-Key"].startswith(f"post_social:{mastodon.pk}:")

    pending_post.refresh_from_db()
    assert pending_post.approved_by == reviewer_user
    assert pending_post.approved_sha256 == pending_post.compute_sha256()
    decision = audit_trail(pending_post).get(new="approved")
    assert decision.actor == reviewer_user
    assert decision.data["sha256"] == pending_post.approved_sha256


@pytest.mark.django_db(transaction=True)
def test_unapproved_post_publishes_nothing_and_logs_why(pending_post):
    # An agent (or a bug) enqueues a publish for a post nobody approved.
    target = pending_post.targets.first()
    action_enqueue(key=f"post_social:{target.pk}:a0", action_type="post_social", payload={"target_id": target.pk})
    Dispatcher(worker_id="t").drain()

    target.refresh_from_db()
    assert target.status == "pending"
    assert not target.platform_post_id
    action = Action.objects.get(idempotency_key=f"post_social:{target.pk}:a0")
    assert action.status == "failed"
    assert "post" in action.last_error and "pending_review, not approved" in action.last_error
    assert audit_trail(target).filter(action="gate:refused").exists()


@pytest.mark.django_db(transaction=True)
def test_post_edited_in_admin_after_approval_publishes_nothing(client, pending_post, reviewer_user, author):
    approve_in_admin(client, reviewer_user, pending_post)  # no q_sync: actions wait in the queue
    assert Action.objects.filter(action_type="post_social", status="pending").count() == 2

    # The author edits the approved text through the admin's change form.
    client.force_login(author)
    grant(author, "change_post", "view_post")
    change_url = reverse("admin:publishing_post_change", args=[pending_post.pk])
    form = {
        "campaign": pending_post.campaign_id, "title": pending_post.title, "body": "We launched today! (edited)",
        "media_urls": "[]", "link_url": "", "scheduled_at_0": "", "scheduled_at_1": "",
        "targets-TOTAL_FORMS": "0", "targets-INITIAL_FORMS": "0", "targets-MIN_NUM_FORMS": "0", "targets-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    response = client.post(change_url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    pending_post.refresh_from_db()
    assert pending_post.status == "pending_review"
    assert audit_trail(pending_post).filter(note__contains="approval voided").exists()

    Dispatcher(worker_id="t").drain()
    assert not PublishTarget.objects.filter(post=pending_post, status="published").exists()
    messages = refusals(pending_post)
    assert len(messages) == 2
    assert all("not approved" in m for m in messages)


@pytest.mark.django_db(transaction=True)
def test_content_changed_behind_the_services_back_is_refused(client, pending_post, reviewer_user):
    approve_in_admin(client, reviewer_user, pending_post)
    Post.objects.filter(pk=pending_post.pk).update(body="Something nobody approved")
    Dispatcher(worker_id="t").drain()
    assert not PublishTarget.objects.filter(post=pending_post, status="published").exists()
    assert all("differs from the approved content" in m for m in refusals(pending_post))


@pytest.mark.django_db(transaction=True)
def test_paused_campaign_publishes_nothing(client, pending_post, reviewer_user):
    approve_in_admin(client, reviewer_user, pending_post)
    campaign_pause(campaign=pending_post.campaign, actor="ops")
    Dispatcher(worker_id="t").drain()
    assert not PublishTarget.objects.filter(post=pending_post, status="published").exists()
    assert all("is paused, not running" in m for m in refusals(pending_post))


@pytest.mark.django_db
def test_reject_asks_for_a_reason_first(client, pending_post, reviewer_user):
    client.force_login(reviewer_user)
    url = reverse(CHANGELIST)
    item = queue_item(pending_post)
    page = client.post(url, {"action": "reject", "_selected_action": [item]})
    assert page.status_code == 200 and b"Reason" in page.content
    pending_post.refresh_from_db()
    assert pending_post.status == "pending_review"

    empty = client.post(url, {"action": "reject", "_selected_action": [item], "confirm": "yes", "note": " "})
    assert "Reason: required" in empty.content.decode()
    client.post(url, {"action": "reject", "_selected_action": [item], "confirm": "yes", "note": "Too vague"})
    pending_post.refresh_from_db()
    assert (pending_post.status, pending_post.rejection_reason) == ("rejected", "Too vague")
    assert audit_trail(pending_post).get(new="rejected").note == "Too vague"


@pytest.mark.django_db
def test_author_cannot_approve_own_post(client, pending_post, author):
    grant(author, "approve_post", "view_post")
    response = approve_in_admin(client, author, pending_post)
    assert "cannot approve it" in response.content.decode()
    pending_post.refresh_from_db()
    assert pending_post.status == "pending_review"


@pytest.mark.django_db
def test_user_without_permission_sees_no_approve_action(client, pending_post):
    viewer = UserFactory(username="viewer")
    grant(viewer, "view_post")
    grant(viewer, "review")
    client.force_login(viewer)
    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert b'value="approve"' not in page.content
    item = queue_item(pending_post)
    client.post(reverse(CHANGELIST), {"action": "approve", "_selected_action": [item], "confirm": "yes"})
    pending_post.refresh_from_db()
    assert pending_post.status == "pending_review"


@pytest.mark.django_db
def test_review_queue_lists_pending_posts_with_few_queries(
    client, reviewer_user, pending_post, django_assert_max_num_queries
):
    client.force_login(reviewer_user)
    # Settled queue (the audit rows are older than the index's re-read window), as in steady use.
    AuditEntry.objects.update(created_at=timezone.now() - timedelta(hours=1))
    refresh()
    with django_assert_max_num_queries(10):
        page = client.get(reverse(CHANGELIST))
    assert pending_post.title in page.content.decode()


@pytest.mark.django_db
def test_post_times_are_entered_and_shown_in_the_campaign_time_zone(client, running_campaign, author):
    import datetime as dt

    grant(author, "change_post", "view_post")
    client.force_login(author)
    post = services.post_create(campaign=running_campaign, author=author, title="tz", body="x",
                                accounts=[AccountFactory()])  # fmt: skip
    url = reverse("admin:publishing_post_change", args=[post.pk])
    form = {"campaign": running_campaign.pk, "title": "tz", "body": "x", "media_urls": "[]", "link_url": "",
            "scheduled_at_0": "2026-03-30", "scheduled_at_1": "09:00:00",
            "targets-TOTAL_FORMS": "1", "targets-INITIAL_FORMS": "1", "targets-MIN_NUM_FORMS": "0",
            "targets-MAX_NUM_FORMS": "1000", "targets-0-id": post.targets.get().pk, "targets-0-post": post.pk}  # fmt: skip
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    post.refresh_from_db()
    assert post.scheduled_at == dt.datetime(2026, 3, 30, 7, 0, tzinfo=dt.UTC)  # 09:00 CEST
    page = client.get(url).content.decode()
    assert 'value="09:00:00"' in page and "Times in Europe/Berlin" in page


@pytest.mark.django_db(transaction=True)
def test_media_changed_behind_the_services_back_is_refused(client, pending_post, reviewer_user):
    approve_in_admin(client, reviewer_user, pending_post)
    Post.objects.filter(pk=pending_post.pk).update(media_urls=["https://cdn.example/nobody-approved.png"])
    Dispatcher(worker_id="t").drain()
    assert not PublishTarget.objects.filter(post=pending_post, status="published").exists()
    messages = refusals(pending_post)
    assert len(messages) == 2
    assert all("differs from the approved content" in m for m in messages)


@pytest.mark.django_db(transaction=True)
def test_media_edited_after_approval_voids_it_and_publishes_nothing(client, pending_post, reviewer_user, author):
    approve_in_admin(client, reviewer_user, pending_post)
    before = pending_post.compute_sha256()
    pending_post.refresh_from_db()
    services.post_update(post=pending_post, actor=author, media_urls=["https://cdn.example/new.png"])
    pending_post.refresh_from_db()
    assert pending_post.content_sha256 != before  # the media is part of the reviewed content
    assert pending_post.status == "pending_review"
    Dispatcher(worker_id="t").drain()
    assert not PublishTarget.objects.filter(post=pending_post, status="published").exists()
    assert all("not approved" in m for m in refusals(pending_post))


@pytest.mark.django_db(transaction=True)
def test_approved_post_with_an_image_writes_proof_artifacts_with_the_uploads(
    client, running_campaign, author, reviewer_user, httpserver
):
    image = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    httpserver.expect_request("/launch.png").respond_with_data(image, content_type="image/png")
    url = httpserver.url_for("/launch.png")
    accounts = [AccountFactory(platform="mastodon", handle="@brand@example.social"), AccountFactory(platform="x")]
    post = services.post_create(campaign=running_campaign, author=author, title="Pic", body="Our launch",
                                accounts=accounts, media_urls=[url])  # fmt: skip
    services.post_submit(post=post, actor=author)
    assert post.approved_content()["media_urls"] == [url]

    approve_in_admin(client, reviewer_user, post)
    Dispatcher(worker_id="t").drain()

    targets = list(PublishTarget.objects.filter(post=post).select_related("account"))
    assert [t.status for t in targets] == ["published", "published"]
    for target in targets:
        recorded = json.loads(Path(target.artifact_path).read_text())
        assert recorded["media"] == [
            {"url": url, "mime_type": "image/png", "size": len(image), "sha256": hashlib.sha256(image).hexdigest()}
        ]
        [upload] = recorded["uploads"]
        assert upload["files"]  # multipart on both X and Mastodon, shown as size and hash
        ids = recorded["request"]["body"].get("media_ids") or recorded["request"]["body"]["media"]["media_ids"]
        assert len(ids) == 1

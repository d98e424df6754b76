from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from campaigns import services as campaign_services
from campaigns.audit import audit_trail
from campaigns.dispatcher import Dispatcher
from campaigns.models import AuditEntry
from campaigns.ticks import tick_enqueue
from publishing import services
from publishing.models import Post
from review.index import refresh
from review.models import ReviewItem
from review.sweep import alert_waiting, expire_approvals
from tests.factories import AccountFactory, CampaignFactory

pytestmark = pytest.mark.django_db
QUEUE = "admin:review_reviewitem_changelist"


def make_post(campaign, author, body="Hello #launch @brand https://example.com/x", platforms=("mastodon",), **kw):
    post = services.post_create(campaign=campaign, author=author, title=body[:20], body=body,
                                accounts=[AccountFactory(platform=p) for p in platforms], **kw)  # fmt: skip
    services.post_submit(post=post, actor=author)
    return post


def item_of(obj, kind="post") -> ReviewItem:
    refresh()
    return ReviewItem.objects.get(kind=kind, object_id=obj.pk)


def decide(client, items, decision, note=""):
    ids = [i.pk for i in items]
    return client.post(reverse(QUEUE), {"action": decision, "_selected_action": ids, "confirm": "yes", "note": note},
                       follow=True)  # fmt: skip


def test_queue_holds_posts_and_strategies_oldest_first(client, running_campaign, author, reviewer_user):
    draft_campaign = CampaignFactory(name="Autumn", owner=author)
    campaign_services.campaign_submit(campaign=draft_campaign, actor=author)
    with time_machine.travel(timezone.now() - timedelta(hours=3)):
        old = make_post(running_campaign, author, body="older post")
    new = make_post(running_campaign, author, body="newer post")
    client.force_login(reviewer_user)
    page = client.get(reverse(QUEUE)).content.decode()
    assert page.index("older post") < page.index("newer post")
    assert "Autumn" in page and "Campaign strategy" in page
    assert "newer post" not in client.get(reverse(QUEUE), {"kind": "strategy"}).content.decode()
    waiting = client.get(reverse(QUEUE), {"waiting": "1h"}).content.decode()
    assert "older post" in waiting and "newer post" not in waiting
    assert item_of(old).platforms == "mastodon" and item_of(new).status == "pending_review"


def test_bulk_approval_shows_what_will_be_approved_then_approves(client, running_campaign, author, reviewer_user):
    posts = [make_post(running_campaign, author, body=f"post number {i}") for i in range(3)]
    items = [item_of(p) for p in posts]
    client.force_login(reviewer_user)
    page = client.post(reverse(QUEUE), {"action": "approve", "_selected_action": [i.pk for i in items]})
    text = page.content.decode()
    assert all(f"post number {i}" in text for i in range(3)) and items[0].content_sha256[:16] in text
    assert Post.objects.filter(status="pending_review").count() == 3  # nothing decided yet
    result = decide(client, items, "approve")
    assert "3 approved." in result.content.decode()
    assert set(Post.objects.values_list("status", flat=True)) == {"scheduled"}
    for post in posts:
        entry = audit_trail(post).get(new="approved")
        assert (entry.actor, entry.data["sha256"], entry.data["content"]["body"]) == (
            reviewer_user,
            post.compute_sha256(),
            post.body,
        )
    assert ReviewItem.objects.filter(status="scheduled").count() == 3  # the queue updated at once


def test_strategy_is_approved_through_the_campaign_service(client, author, reviewer_user):
    campaign = CampaignFactory(owner=author, strategy="Be everywhere")
    campaign_services.campaign_submit(campaign=campaign, actor=author)
    client.force_login(reviewer_user)
    decide(client, [item_of(campaign, "strategy")], "approve")
    campaign.refresh_from_db()
    assert campaign.status == "approved" and campaign.strategy_approved_by == reviewer_user


def test_request_changes_sends_it_back_with_the_comment(client, running_campaign, author, reviewer_user):
    post = make_post(running_campaign, author)
    client.force_login(reviewer_user)
    assert "Comment: required" in decide(client, [item_of(post)], "request_changes").content.decode()
    decide(client, [item_of(post)], "request_changes", note="Shorter, please")
    post.refresh_from_db()
    assert post.status == "draft"
    assert audit_trail(post).get(action="status:draft").note == "Shorter, please"


def test_item_page_renders_per_platform_with_lengths_diff_and_history(client, running_campaign, author, reviewer_user):
    post = make_post(running_campaign, author, body="First text", platforms=("x", "bluesky"))
    services.post_approve(post=post, actor=reviewer_user)
    services.post_update(post=post, actor=author, body="Second text 🚀 see https://example.com @someone #tag")
    client.force_login(reviewer_user)
    page = client.get(reverse("admin:review_reviewitem_change", args=[item_of(post).pk])).content.decode()
    assert '<mark class="link">https://example.com</mark>' in page
    assert '<mark class="mention">@someone</mark>' in page and '<mark class="tag">#tag</mark>' in page
    assert "/ 280 weighted characters" in page and "/ 300 graphemes" in page
    assert 'class="diff-del">- &quot;body&quot;: &quot;First text&quot;,<' in page
    assert "approval voided" in page  # the history


def test_gate_refuses_an_expired_approval_and_the_sweep_sends_it_back(settings, running_campaign, author,
                                                                      reviewer_user):  # fmt: skip
    settings.REVIEW_APPROVAL_MAX_AGE_HOURS = 24
    later = timezone.now() + timedelta(days=3)
    with time_machine.travel(timezone.now() - timedelta(days=2), tick=False):
        post = make_post(running_campaign, author, scheduled_at=later)
        services.post_approve(post=post, actor=reviewer_user)
    with time_machine.travel(later + timedelta(minutes=1), tick=False):
        tick_enqueue(campaign=running_campaign, slot=1)
        Dispatcher(worker_id="t").drain()
        target = post.targets.get()
        assert target.status == "scheduled"
        assert "approval expired" in audit_trail(target).get(action="gate:refused").note
        assert expire_approvals() == 1
    post.refresh_from_db()
    assert post.status == "pending_review"
    item = item_of(post)
    assert ReviewItem.objects.filter(pk=item.pk).exists()


def test_pending_item_whose_time_passed_is_listed_as_expired(client, running_campaign, author, reviewer_user):
    post = make_post(running_campaign, author, scheduled_at=timezone.now() - timedelta(hours=1))
    fresh = make_post(running_campaign, author, body="fresh one", scheduled_at=timezone.now() + timedelta(days=1))
    client.force_login(reviewer_user)
    page = client.get(reverse(QUEUE), {"expired": "yes"}).content.decode()
    assert post.title in page and fresh.title not in page


def test_reviewers_are_told_about_items_that_wait(settings, running_campaign, author, reviewer_user):
    settings.REVIEW_WAIT_ALERT_HOURS = 2
    make_post(running_campaign, author, body="waited long")
    AuditEntry.objects.update(created_at=timezone.now() - timedelta(hours=5))
    refresh()
    assert alert_waiting() == 1
    (message,) = mail.outbox
    assert reviewer_user.email in message.to and "waited long" in message.body


def test_calendar_shows_targets_in_campaign_time_and_rescheduling_keeps_the_approval(client, running_campaign, author,
                                                                                    reviewer_user):  # fmt: skip
    reviewer_user.user_permissions.add(Permission.objects.get(codename="change_post"))
    berlin = running_campaign.tz
    when = dt.datetime(2030, 3, 30, 9, 0, tzinfo=berlin)
    post = make_post(running_campaign, author, body="calendar post", scheduled_at=when)
    services.post_approve(post=post, actor=reviewer_user)
    client.force_login(reviewer_user)
    page = client.get(reverse("admin:review_calendar"),
                      {"date": "2030-03-01", "campaign": running_campaign.pk}).content.decode()  # fmt: skip
    assert "09:00" in page and "calendar post" in page and "mastodon · scheduled" in page
    assert "Europe/Berlin" in page
    client.post(reverse("admin:review_calendar_reschedule", args=[post.pk]), {"when": "2030-03-31T10:30"})
    post.refresh_from_db()
    assert post.status == "scheduled"  # content unchanged: the approval stands
    assert post.scheduled_at == dt.datetime(2030, 3, 31, 10, 30, tzinfo=berlin)
    assert post.targets.get().due_at == post.scheduled_at
    bad = client.post(reverse("admin:review_calendar_reschedule", args=[post.pk]), {"when": "soon"}, follow=True)
    assert "When: give a date and time" in bad.content.decode()


def test_dashboard_on_the_admin_index(client, running_campaign, author, reviewer_user):
    make_post(running_campaign, author)
    client.force_login(reviewer_user)
    page = client.get(reverse("admin:index")).content.decode()
    assert 'id="review-dashboard"' in page and "Waiting for review" in page


def test_email_templates_are_reviewed_in_the_same_queue(client, running_campaign, author, reviewer_user):
    from outreach.sequences import template_create, template_submit

    reviewer_user.user_permissions.add(Permission.objects.get(codename="approve_template"))
    template = template_create(campaign=running_campaign, actor=author, name="Intro",
                               subject="Hello {{ first_name }}", body_text="We met at the fair.")  # fmt: skip
    template_submit(template=template, actor=author)
    client.force_login(type(reviewer_user).objects.get(pk=reviewer_user.pk))
    page = client.get(reverse(QUEUE), {"kind": "template"}).content.decode()
    assert "Intro" in page and "Email template" in page
    item = item_of(template, "template")
    detail = client.get(reverse("admin:review_reviewitem_change", args=[item.pk])).content.decode()
    assert "Hello {{ first_name }}" in detail
    decide(client, [item], "approve")
    template.refresh_from_db()
    assert template.status == "approved" and template.approved_sha256 == template.compute_sha256()


def test_posts_on_unhealthy_accounts_show_in_the_calendar_and_the_owner_is_told(client, running_campaign, author,
                                                                                reviewer_user):  # fmt: skip
    from publishing.models import SocialAccount
    from review.sweep import alert_unhealthy_accounts

    author.email = "owner@example.com"
    author.save()
    running_campaign.owner = author
    running_campaign.save()
    soon = timezone.now() + timedelta(hours=5)
    post = make_post(running_campaign, author, body="due soon", scheduled_at=soon)
    services.post_approve(post=post, actor=reviewer_user)
    SocialAccount.objects.filter(targets__post=post).update(token_status="revoked")
    client.force_login(reviewer_user)
    local = timezone.localtime(soon, running_campaign.tz)
    page = client.get(reverse("admin:review_calendar"), {"date": local.date().isoformat(), "view": "week",
                                                         "campaign": running_campaign.pk}).content.decode()  # fmt: skip
    assert "⚠ reconnect mastodon" in page
    assert alert_unhealthy_accounts() == 1
    (message,) = mail.outbox
    assert message.to == ["owner@example.com"] and "due soon" in message.body and "revoked" in message.body


def test_item_page_offers_the_decisions_to_reviewers_only(client, running_campaign, author, reviewer_user):
    post = make_post(running_campaign, author)
    item = item_of(post)
    url = reverse("admin:review_reviewitem_change", args=[item.pk])
    client.force_login(reviewer_user)
    page = client.get(url).content.decode()
    assert 'id="decide-this"' in page and post.content_sha256[:12] in page  # the history shows the hash
    confirm = client.post(reverse(QUEUE), {"action": "approve", "_selected_action": [item.pk]}).content.decode()
    assert 'id="confirm-decision"' in confirm
    viewer = type(author).objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="review"))
    client.force_login(viewer)
    assert 'id="decide-this"' not in client.get(url).content.decode()


def test_template_rules_match_posts_author_cannot_approve_and_changes_can_be_requested(client, running_campaign,
                                                                                       author, reviewer_user):  # fmt: skip
    from outreach.sequences import template_approve, template_create, template_submit

    approve_templates = Permission.objects.get(codename="approve_template")
    author.user_permissions.add(approve_templates)
    reviewer_user.user_permissions.add(approve_templates)
    template = template_create(campaign=running_campaign, actor=author, name="Follow-up", subject="Hi",
                               body_text="Checking in.")  # fmt: skip
    template_submit(template=template, actor=author)
    with pytest.raises(Exception, match="author of a template cannot approve it"):
        template_approve(template=template, actor=type(author).objects.get(pk=author.pk))
    with pytest.raises(Exception, match="permission"):
        template_approve(template=template, actor="api-token:1")  # a label is nobody with a permission
    client.force_login(type(reviewer_user).objects.get(pk=reviewer_user.pk))
    decide(client, [item_of(template, "template")], "request_changes", note="Add the event date")
    template.refresh_from_db()
    assert template.status == "draft"
    assert audit_trail(template).get(action="status:draft").note == "Add the event date"

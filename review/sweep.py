"""The review sweep (hourly action): expire stale approvals and tell reviewers about items that wait."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone

from campaigns.models import Action
from campaigns.outcomes import Outcome
from publishing.models import Post
from publishing.services import approval_expired, post_expire_approval

from .index import refresh
from .models import ReviewItem

SWEEP_PAYLOAD = {"type": "object", "properties": {"slot": {"type": "integer"}}, "additionalProperties": False}


def expire_approvals(*, now=None) -> int:
    """Approved or scheduled posts whose approval is too old, or whose time passed unpublished."""
    now = now or timezone.now()
    expired = 0
    candidates = Post.objects.filter(status__in=[Post.Status.APPROVED, Post.Status.SCHEDULED]).filter(
        Q(approved_at__isnull=False)
    )
    for post in candidates.select_related("campaign"):
        reason = approval_expired(post)
        if reason:
            post_expire_approval(post=post, actor="review:sweep", reason=reason)
            expired += 1
    return expired


def reviewers():
    """Active users who can approve something: they hear about items that wait."""
    perms = Q(user_permissions__codename__in=["approve_post", "approve_campaign", "approve_template"]) | Q(
        groups__permissions__codename__in=["approve_post", "approve_campaign", "approve_template"]
    )
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(perms | Q(is_superuser=True))
        .exclude(email="")
        .distinct()
    )


def alert_waiting(*, now=None) -> int:
    """One email to the reviewers listing what waits longer than REVIEW_WAIT_ALERT_HOURS."""
    now = now or timezone.now()
    waiting = list(
        ReviewItem.objects.filter(status="pending_review",
                                  submitted_at__lt=now - timedelta(hours=settings.REVIEW_WAIT_ALERT_HOURS))
        .select_related("campaign").order_by("submitted_at")[:50]
    )  # fmt: skip
    recipients = sorted({u.email for u in reviewers()})
    if not waiting or not recipients:
        return 0
    lines = [f"- {i.kind}: {i.title} ({i.campaign or 'no campaign'}), waiting since {i.submitted_at:%Y-%m-%d %H:%M} UTC"
             for i in waiting]  # fmt: skip
    send_mail(
        subject=f"{len(waiting)} item(s) wait for review longer than {settings.REVIEW_WAIT_ALERT_HOURS:g} h",
        message="These wait for a decision in the review queue:\n\n" + "\n".join(lines),
        from_email=None,
        recipient_list=recipients,
    )
    return len(waiting)


def review_sweep(action: Action) -> Outcome:
    expired = expire_approvals()
    refresh()
    alerted = alert_waiting()
    return Outcome.ok(f"{expired} approval(s) expired, {alerted} waiting item(s) reported",
                      result={"expired": expired, "alerted": alerted})  # fmt: skip


def review_sweep_task() -> str:
    """Scheduled hourly: one sweep action per hour (deterministic key)."""
    from campaigns.actions import action_enqueue

    slot = int(timezone.now().timestamp() // 3600)
    action, created = action_enqueue(key=f"review_sweep:{slot}", action_type="review_sweep", payload={"slot": slot})
    return f"{action.idempotency_key} {'enqueued' if created else 'already there'}"

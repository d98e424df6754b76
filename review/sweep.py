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
from publishing.models import Post, PublishTarget
from publishing.services import approval_expired, post_expire_approval

from .calendar import UNHEALTHY
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


def alert_unhealthy_accounts(*, now=None, horizon_hours: float = 48) -> int:
    """Tell each campaign owner which of their posts due soon sit on an account needing reconnection."""
    now = now or timezone.now()
    targets = (
        PublishTarget.objects.filter(status__in=["pending", "scheduled"], account__token_status__in=UNHEALTHY)
        .filter(Q(due_at__range=(now, now + timedelta(hours=horizon_hours)))
                | Q(due_at__isnull=True, post__scheduled_at__range=(now, now + timedelta(hours=horizon_hours))))
        .select_related("post__campaign__owner", "account")
    )  # fmt: skip
    by_owner: dict[str, list[str]] = {}
    for t in targets:
        owner = t.post.campaign.owner
        if owner and owner.email:
            when = t.due_at or t.post.scheduled_at
            by_owner.setdefault(owner.email, []).append(
                f"- {t.post.title} on {t.account} ({t.account.token_status}), due {when:%Y-%m-%d %H:%M} UTC"
            )
    for email, lines in by_owner.items():
        send_mail(subject=f"{len(lines)} post(s) due soon are on accounts that need reconnecting",
                  message="Reconnect these accounts in the admin (Publishing → Social accounts → Connect) "
                          "or the posts will not go out:\n\n" + "\n".join(lines),
                  from_email=None, recipient_list=[email])  # fmt: skip
    return sum(len(v) for v in by_owner.values())


def review_sweep(action: Action) -> Outcome:
    expired = expire_approvals()
    refresh()
    alerted = alert_waiting()
    unhealthy = alert_unhealthy_accounts()
    return Outcome.ok(
        f"{expired} approval(s) expired, {alerted} waiting item(s) and {unhealthy} post(s) on unhealthy accounts reported",
        result={"expired": expired, "alerted": alerted, "unhealthy": unhealthy},
    )


def review_sweep_task() -> str:
    """Scheduled hourly: one sweep action per hour (deterministic key)."""
    from campaigns.actions import action_enqueue

    slot = int(timezone.now().timestamp() // 3600)
    action, created = action_enqueue(key=f"review_sweep:{slot}", action_type="review_sweep", payload={"slot": slot})
    return f"{action.idempotency_key} {'enqueued' if created else 'already there'}"

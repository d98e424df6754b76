"""Post and target services: the only writers of Post.status and PublishTarget.status."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from campaigns.actions import action_enqueue, action_enqueue_many, action_reschedule
from campaigns.audit import audit_record, transition, transition_many
from campaigns.errors import InvalidTransition
from campaigns.events import event_record, events_record_many
from campaigns.models import Action, Campaign

from .models import Post, PublishTarget, SocialAccount

P = Post.Status
T = PublishTarget.Status
EDITABLE_FIELDS = {"title", "body", "media_urls", "link_url", "scheduled_at"}


def publish_key(target_id: int, approval_seq: int, generation: int) -> str:
    """One action per target, per approval and per re-arming (after a failure or a reconciliation)."""
    key = f"post_social:{target_id}:a{approval_seq}"
    return f"{key}:g{generation}" if generation else key


def publish_action_key(target: PublishTarget) -> str:
    return publish_key(target.pk, target.post.approval_seq, target.generation)


def reconcile_action_key(target: PublishTarget) -> str:
    return f"reconcile_publish:{target.pk}:g{target.generation}"


def _check_accounts(campaign: Campaign, accounts: Iterable[SocialAccount]) -> list[SocialAccount]:
    accounts = list(accounts)
    wrong = [a for a in accounts if a.platform not in campaign.channels]
    if wrong:
        names = ", ".join(f"{a.handle} ({a.platform})" for a in wrong)
        raise ValidationError({"accounts": f"campaign {campaign.name!r} does not use the channel of {names}"})
    inactive = [a.handle for a in accounts if not a.is_active]
    if inactive:
        raise ValidationError({"accounts": f"inactive account(s): {', '.join(inactive)}"})
    return accounts


_ALL_BUT_CONTENT = [f.name for f in Post._meta.fields if f.name not in ("body", "media_urls", "link_url")]


def post_create(
    *, campaign: Campaign, author: Any, title: str, body: str, accounts: Iterable[SocialAccount],
    media_urls: list[str] | None = None, link_url: str = "", scheduled_at: datetime | None = None,
) -> Post:  # fmt: skip
    """Create a draft post with one target per account. ValidationError names the bad field."""
    post = Post(
        campaign=campaign, author=author if getattr(author, "pk", None) else None, title=title, body=body,
        media_urls=media_urls or [], link_url=link_url, scheduled_at=scheduled_at,
    )  # fmt: skip
    post.clean_fields(exclude=_ALL_BUT_CONTENT)  # the hash below reads these: check them first
    post.content_sha256 = post.compute_sha256()
    post.full_clean()
    accounts = _check_accounts(campaign, accounts)
    with transaction.atomic():
        post.save()
        PublishTarget.objects.bulk_create(PublishTarget(post=post, account=a) for a in accounts)
        audit_record(obj=post, actor=author, action="created", new=post.status, data={"sha256": post.content_sha256})
    return post


def post_update(*, post: Post, actor: Any, **changes: Any) -> Post:
    """Edit a post. Any change of its content voids an approval: the post goes back to review."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: "not a field you can set" for name in sorted(unknown)})
    old_sha, old_when = post.content_sha256, post.scheduled_at
    for key, value in changes.items():
        setattr(post, key, value)
    post.clean_fields(exclude=_ALL_BUT_CONTENT)  # the hash below reads these: check them first
    post.content_sha256 = post.compute_sha256()
    post.full_clean()
    with transaction.atomic():
        post.save(update_fields=[*changes, "content_sha256", "updated_at"])
        audit_record(obj=post, actor=actor, action="updated", note=", ".join(sorted(changes)),
                     data={"old_sha256": old_sha, "sha256": post.content_sha256})  # fmt: skip
        if post.content_sha256 != old_sha and post.status in (P.APPROVED, P.SCHEDULED):
            _void_approval(post, actor=actor)
        elif post.status == P.SCHEDULED and post.scheduled_at != old_when:
            _reschedule(post, actor=actor)
    return post


def _void_approval(post: Post, *, actor: Any, note: str = "content edited after approval; approval voided") -> None:
    transition(post, P.PENDING_REVIEW, actor=actor, note=note)
    for target in post.targets.filter(status=T.SCHEDULED):
        transition(target, T.PENDING, actor=actor, note="post approval voided")


def _reschedule(post: Post, *, actor: Any) -> None:
    when = post.scheduled_at or timezone.now()
    targets = list(post.targets.select_related("post").filter(status=T.SCHEDULED))
    PublishTarget.objects.filter(pk__in=[t.pk for t in targets]).update(due_at=when)
    # Targets already handed to the queue: move their action too (a started one cannot move).
    for action in Action.objects.filter(idempotency_key__in=[publish_action_key(t) for t in targets]):
        if not action_reschedule(action=action, not_before=when, actor=actor):
            raise InvalidTransition(f"post {post.pk}: publishing already started; it cannot be rescheduled now")


def post_submit(*, post: Post, actor: Any) -> None:
    """Ask for review. A post needs at least one target."""
    if not post.targets.exists():
        raise InvalidTransition("accounts: choose at least one account to publish to before asking for review")
    transition(post, P.PENDING_REVIEW, actor=actor, data={"sha256": post.content_sha256})


def can_approve(actor: Any, post: Post) -> str | None:
    """None if ``actor`` may approve ``post``, else why not."""
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm("publishing.approve_post"):
        return "you do not have permission to approve posts"
    if post.author_id == actor.pk and not settings.REVIEW_ALLOW_SELF_APPROVAL:
        return "the author of a post cannot approve it; ask another reviewer"
    return None


def post_approve(*, post: Post, actor: Any) -> None:
    """Approve the post exactly as it is now (bound to its SHA-256), then schedule its targets.

    The same code as a bulk approval of one; raises InvalidTransition with the reason it refused.
    """
    refused = post_approve_many(posts=[post], actor=actor)
    if refused:
        raise InvalidTransition(refused[post.pk])
    post.refresh_from_db()


def post_request_changes(*, post: Post, actor: Any, comment: str) -> None:
    """Send the post back to its author as a draft, with the reviewer's comment."""
    if not comment or not comment.strip():
        raise InvalidTransition("comment: say what should change")
    refusal = can_approve(actor, post)
    if refusal:
        raise InvalidTransition(refusal.replace("approve", "review"))
    transition(
        post, P.DRAFT, actor=actor, note=comment, data={"decision": "changes_requested", "sha256": post.content_sha256}
    )


def post_expire_approval(*, post: Post, actor: Any, reason: str) -> None:
    """An approval too old (or overtaken by its schedule) no longer counts: back to review."""
    _void_approval(post, actor=actor, note=f"approval expired: {reason}")


def approval_expired(post: Post) -> str | None:
    """Why the post's approval no longer counts by age, or None (REVIEW_APPROVAL_MAX_AGE_HOURS, 0 = never)."""
    hours = settings.REVIEW_APPROVAL_MAX_AGE_HOURS
    if hours and post.approved_at and post.approved_at < timezone.now() - timedelta(hours=hours):
        return f"approved {post.approved_at:%Y-%m-%d %H:%M} UTC, more than {hours:g} h ago"
    return None


def post_approve_many(*, posts: list[Post], actor: Any) -> dict[int, str]:
    """Approve many posts at once, set-based: same rules as post_approve, a handful of queries in all.

    Each post is approved exactly as it is (bound to its SHA-256), then scheduled; targets due now
    get their publish actions in one INSERT. Returns {post id: why not} for the posts left alone.
    """
    refused: dict[int, str] = {}
    ok: list[Post] = []
    for post in posts:
        reason = can_approve(actor, post)
        if reason is None and post.compute_sha256() != post.content_sha256:
            reason = "stored hash does not match its content; reload and review again"
        if reason is None and post.status != P.PENDING_REVIEW:
            reason = f"it is {post.status}, not pending review"
        if reason:
            refused[post.pk] = reason
        else:
            ok.append(post)
    if not ok:
        return refused
    now = timezone.now()
    by_pk = {p.pk: p for p in ok}
    with transaction.atomic():
        approved = transition_many(
            Post, list(by_pk), P.APPROVED, old=P.PENDING_REVIEW, actor=actor,
            updates={"approved_sha256": F("content_sha256"), "approved_by": actor, "approved_at": now,
                     "approval_seq": F("approval_seq") + 1, "rejection_reason": ""},
            data={pk: {"sha256": p.content_sha256, "decision": "approved", "content": p.approved_content()}
                  for pk, p in by_pk.items()},
        )  # fmt: skip
        refused.update({pk: "changed by someone else meanwhile; reload" for pk in set(by_pk) - set(approved)})
        when = {pk: by_pk[pk].scheduled_at or now for pk in approved}
        transition_many(Post, approved, P.SCHEDULED, old=P.APPROVED, actor=actor, note="scheduled on approval")
        targets = list(
            PublishTarget.objects.filter(post_id__in=approved, status__in=[T.PENDING, T.FAILED]).values_list(
                "pk", "post_id", "status", "generation"
            )
        )
        # due_at differs per post: one UPDATE per (old status, time), usually one: "now".
        groups: dict[tuple[str, datetime], list[int]] = {}
        for pk, post_id, status, _ in targets:
            groups.setdefault((status, when[post_id]), []).append(pk)
        for (status, moment), group in groups.items():
            transition_many(PublishTarget, group, T.SCHEDULED, old=status, actor=actor, updates={"due_at": moment})
        action_enqueue_many(specs=[
            {"key": publish_key(pk, by_pk[post_id].approval_seq + 1, generation), "action_type": "post_social",
             "payload": {"target_id": pk}, "campaign_id": by_pk[post_id].campaign_id}
            for pk, post_id, _, generation in targets if when[post_id] <= now
        ])  # fmt: skip
    return refused


def post_reject(*, post: Post, actor: Any, reason: str) -> None:
    if not reason or not reason.strip():
        raise InvalidTransition("reason: a rejection needs a reason")
    refusal = can_approve(actor, post)
    if refusal:
        raise InvalidTransition(refusal.replace("approve", "reject"))
    transition(post, P.REJECTED, actor=actor, note=reason, updates={"rejection_reason": reason},
               data={"decision": "rejected", "sha256": post.content_sha256})  # fmt: skip


def post_reopen(*, post: Post, actor: Any) -> None:
    transition(post, P.DRAFT, actor=actor)


def post_schedule(*, post: Post, actor: Any) -> list[Action]:
    """Schedule an approved post: its targets become ``scheduled`` with ``due_at``.

    Due now: each target's publish action is enqueued at once. Later: the campaign's tick enqueues
    it when it falls due (publishing.producers.due_targets).
    """
    when = post.scheduled_at or timezone.now()
    with transaction.atomic():
        transition(post, P.SCHEDULED, actor=actor, note=f"publish at {when.isoformat()}")
        targets = list(post.targets.select_related("post").filter(status__in=[T.PENDING, T.FAILED]))
        for target in targets:
            transition(target, T.SCHEDULED, actor=actor, updates={"due_at": when})
        if when > timezone.now():
            return []
        return [target_enqueue(target=target)[0] for target in targets]


def target_enqueue(
    *, target: PublishTarget, parent: Action | None = None, force_proof: bool = False
) -> tuple[Action, bool]:
    """The target's publish action for its post's current approval (get-or-create on the key)."""
    return publish_enqueue(
        target_id=target.pk, approval_seq=target.post.approval_seq, generation=target.generation,
        campaign_id=target.post.campaign_id, parent=parent, force_proof=force_proof,
    )  # fmt: skip


def publish_enqueue(
    *, target_id: int, approval_seq: int, generation: int, campaign_id: int, parent: Action | None = None,
    force_proof: bool = False,
) -> tuple[Action, bool]:  # fmt: skip
    payload: dict[str, Any] = {"target_id": target_id}
    if force_proof:
        payload["force_proof"] = True
    return action_enqueue(
        key=publish_key(target_id, approval_seq, generation), action_type="post_social", payload=payload,
        campaign_id=campaign_id, parent=parent,
    )  # fmt: skip


def targets_begin(*, targets: list[PublishTarget], actors: dict[int, Any]) -> set[int]:
    """Attempt first: mark scheduled targets ``publishing`` (one UPDATE, one INSERT of audit rows), to
    be committed before any outbound call. Returns the pks that moved."""
    now = timezone.now()
    moved = set(transition_many(PublishTarget, [t.pk for t in targets], T.PUBLISHING, old=T.SCHEDULED, actor=None,
                                actors=actors, updates={"attempt_started_at": now}))  # fmt: skip
    for target in targets:
        if target.pk in moved:
            target.status, target.attempt_started_at = T.PUBLISHING, now
    return moved


def _published_event(target: PublishTarget, *, platform_post_id: str, proof: bool, at: datetime) -> dict[str, Any]:
    return {
        "kind": "post_published", "campaign": target.post.campaign_id, "channel": target.account.platform,
        "target_id": target.pk, "source": "publishing", "dedupe_key": f"post_published:{target.pk}",
        "occurred_at": at, "data": {"platform_post_id": platform_post_id, "proof": proof},
    }  # fmt: skip


def target_published(*, target: PublishTarget, actor: Any, platform_post_id: str, url: str = "",
                     sha256: str, artifact_path: str = "", artifact_sha256: str = "", proof: bool = False) -> None:  # fmt: skip
    """Record the publication and append a ``post_published`` event (once per target)."""
    now = timezone.now()
    with transaction.atomic():
        transition(
            target, T.PUBLISHED, actor=actor,
            updates={"platform_post_id": platform_post_id, "platform_url": url, "published_sha256": sha256,
                     "artifact_path": artifact_path, "artifact_sha256": artifact_sha256,
                     "published_at": now, "last_error": ""},
        )  # fmt: skip
        event_record(**_published_event(target, platform_post_id=platform_post_id, proof=proof, at=now))


@dataclass
class Published:
    """What the platform answered for one target (the arguments of ``target_published``)."""

    target: PublishTarget
    actor: Any
    platform_post_id: str
    url: str = ""
    artifact_path: str = ""
    artifact_sha256: str = ""
    proof: bool = False


def targets_published(published: list[Published]) -> set[int]:
    """``target_published`` for many ``publishing`` targets: one UPDATE, one INSERT of audit rows,
    one of events. Returns the pks recorded."""
    if not published:
        return set()
    now = timezone.now()

    with transaction.atomic():
        moved = set(transition_many(
            PublishTarget, [p.target.pk for p in published], T.PUBLISHED, old=T.PUBLISHING, actor=None,
            actors={p.target.pk: p.actor for p in published},
            updates={"published_at": now, "last_error": ""},
            per_row={p.target.pk: {"platform_post_id": p.platform_post_id, "platform_url": p.url,
                                   "published_sha256": p.target.post.approved_sha256,
                                   "artifact_path": p.artifact_path, "artifact_sha256": p.artifact_sha256}
                     for p in published},
        ))  # fmt: skip
        events_record_many([
            _published_event(p.target, platform_post_id=p.platform_post_id, proof=p.proof, at=now)
            for p in published if p.target.pk in moved
        ])  # fmt: skip
    return moved


def target_failed(*, target: PublishTarget, actor: Any, error: str) -> None:
    transition(target, T.FAILED, actor=actor, note=error, updates={"last_error": error})


def target_needs_reconcile(*, target: PublishTarget, actor: Any, error: str) -> Action:
    """The call may have reached the platform: never resend blindly; enqueue a reconciliation."""
    with transaction.atomic():
        transition(target, T.NEEDS_RECONCILE, actor=actor, note=error, updates={"last_error": error})
        action, _ = action_enqueue(
            key=reconcile_action_key(target), action_type="reconcile_publish", payload={"target_id": target.pk},
            campaign_id=target.post.campaign_id,
        )  # fmt: skip
    return action


def target_confirm_absent(*, target: PublishTarget, actor: Any, note: str) -> Action | None:
    """Reconciled as not published: arm the target again (new generation) and enqueue its publish."""
    with transaction.atomic():
        transition(target, T.SCHEDULED, actor=actor, note=note, updates={"generation": target.generation + 1})
        if target.post.approval_is_current:
            return target_enqueue(target=target)[0]
    return None


def target_rearm(*, target: PublishTarget, actor: Any) -> Action | None:
    """Retry one failed target (the others of the post keep their state)."""
    with transaction.atomic():
        transition(target, T.SCHEDULED, actor=actor, note="retried by hand",
                   updates={"generation": target.generation + 1, "due_at": timezone.now()})  # fmt: skip
        return target_enqueue(target=target)[0]


def target_retry_later(*, target: PublishTarget, actor: Any, error: str) -> None:
    """The platform refused for now before accepting anything (429/503): back to scheduled."""
    transition(target, T.SCHEDULED, actor=actor, note=error, updates={"last_error": error})

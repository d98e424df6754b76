"""Action handlers of the publishing app (registered in settings.ACTION_TYPES)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.audit import audit_record
from campaigns.controls import is_live, stop_reason
from campaigns.models import Action
from campaigns.outcomes import Outcome
from campaigns.tracking import URL_RE

from .adapters.base import AdapterError, Credentials, RetryAfterError
from .adapters.registry import get_adapter
from .group_publish import actor_of, post_social_group, sent_text
from .models import PublishTarget
from .services import target_confirm_absent, target_published

T = PublishTarget.Status

POST_SOCIAL_PAYLOAD = {
    "type": "object",
    "properties": {"target_id": {"type": "integer", "minimum": 1}, "force_proof": {"type": "boolean"}},
    "required": ["target_id"],
    "additionalProperties": False,
}


RECONCILE_PAYLOAD = POST_SOCIAL_PAYLOAD | {"properties": {"target_id": {"type": "integer", "minimum": 1}}}


def _credentials(account) -> Credentials:
    return account.credentials()


def _locked_target(target_id: int) -> PublishTarget | None:
    return (
        PublishTarget.objects.select_for_update(of=("self",))
        .select_related("post__campaign", "account")
        .filter(pk=target_id)
        .first()
    )


def post_social(action: Action) -> Outcome:
    """Publish one target: gate, attempt row (``publishing``) committed, call, record the result.

    A target found already ``publishing`` means an earlier attempt died after the call may have
    left: it is never sent again blindly, it goes to ``needs_reconcile``. The same code as a group
    publish of one (publishing.group_publish).
    """
    return post_social_group([action])[0]


def _same_text(ours: str, theirs: str) -> bool:
    # Platforms rewrite whitespace and links (t.co, HTML); compare on words with every link as one
    # token, not on bytes.
    def words(text: str) -> str:
        return " ".join(URL_RE.sub("<link>", text).split()).casefold()

    return words(ours) == words(theirs)


def reconcile_publish(action: Action) -> Outcome:
    """Decide an outcome-unknown publish from the platform's own data, never by sending blindly.

    Found among the account's recent posts → published with the platform's id. Not found, and the
    attempt is older than RECONCILE_MIN_AGE_SECONDS (platforms list new posts with a delay) →
    confirmed absent: the target is armed again and published once more. The lookup failing → the
    target waits for a human in the admin.
    """
    actor = actor_of(action)
    with transaction.atomic():
        target = _locked_target(action.payload["target_id"])
        if target is None or target.status != T.NEEDS_RECONCILE:
            return Outcome.skipped(f"target is {target.status if target else 'gone'}, nothing to reconcile")
        stop = stop_reason(target.post.campaign_id)
        if stop:
            return Outcome.release(f"not now: {stop}")
    post = target.post
    if not is_live(post.campaign):
        # PROOF never reached a platform: nothing can be out there.
        target_confirm_absent(target=target, actor=actor, note="PROOF attempt: nothing was sent")
        return Outcome.ok("PROOF: armed again")
    adapter = get_adapter(target.account.platform)
    since = (target.attempt_started_at or timezone.now()) - timedelta(minutes=5)
    try:
        recent = adapter.lookup_recent(_credentials(target.account), since, 100)
    except RetryAfterError as exc:
        return Outcome.retry(f"lookup: {exc}", after=exc.retry_after)
    except AdapterError as exc:
        return Outcome.permanent(f"lookup failed, a human must decide in the admin: {exc}")
    sent = sent_text(target, post.body)
    match = next((p for p in recent if _same_text(sent, p.text)), None)
    if match:
        target_published(
            target=target, actor=actor, platform_post_id=match.platform_post_id, url=match.url,
            sha256=post.approved_sha256, proof=False,
        )  # fmt: skip
        audit_record(
            obj=target, actor=actor, action="reconciled", note=f"found on the platform as {match.platform_post_id}"
        )
        return Outcome.ok(f"found on {target.account.platform} as {match.platform_post_id}")
    age = (timezone.now() - (target.attempt_started_at or timezone.now())).total_seconds()
    if age < settings.RECONCILE_MIN_AGE_SECONDS:
        return Outcome.retry("not listed yet; looking again", after=settings.RECONCILE_MIN_AGE_SECONDS - age)
    target_confirm_absent(target=target, actor=actor, note=f"not among the {len(recent)} recent posts: armed again")
    return Outcome.ok("confirmed absent; publish enqueued again")

"""Action handlers of the publishing app (registered in settings.ACTION_TYPES)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.audit import audit_record
from campaigns.controls import is_live, stop_reason
from campaigns.failpoints import failpoint
from campaigns.models import Action
from campaigns.outcomes import Outcome
from campaigns.tracking import URL_RE, tracked_text

from .accounts import AccountUnavailable, account_credentials, publish_as_account
from .adapters.base import (
    AdapterError,
    Credentials,
    OutcomeUnknownError,
    PermanentError,
    PublishRequest,
    RetryAfterError,
)
from .adapters.proof import proof_publish
from .adapters.registry import get_adapter
from .gate import publish_refusal
from .models import PublishTarget
from .ratebudget import budget_wait
from .services import (
    target_begin,
    target_confirm_absent,
    target_failed,
    target_needs_reconcile,
    target_published,
    target_retry_later,
)

T = PublishTarget.Status
# A revoked account waits for a human: look again this often (seconds) without spending attempts.
ACCOUNT_UNAVAILABLE_WAIT = 3600.0

POST_SOCIAL_PAYLOAD = {
    "type": "object",
    "properties": {"target_id": {"type": "integer", "minimum": 1}, "force_proof": {"type": "boolean"}},
    "required": ["target_id"],
    "additionalProperties": False,
}


RECONCILE_PAYLOAD = POST_SOCIAL_PAYLOAD | {"properties": {"target_id": {"type": "integer", "minimum": 1}}}


def _actor(action: Action) -> str:
    return f"action:{action.pk}"


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
    left: it is never sent again blindly, it goes to ``needs_reconcile``.
    """
    actor = _actor(action)
    target_id = action.payload["target_id"]
    failpoint("publish.before_attempt")
    with transaction.atomic():
        target = _locked_target(target_id)
        if target is None:
            return Outcome.permanent(f"target {target_id} does not exist")
        if target.status == T.PUBLISHED:
            return Outcome.skipped(f"target {target.pk} already published as {target.platform_post_id}")
        if target.status == T.PUBLISHING:
            error = "a previous attempt stopped after the call may have been sent"
            target_needs_reconcile(target=target, actor=actor, error=error)
            return Outcome.unknown(error)
        # Flags again, right before the outbound call (the claim checked them too).
        stop = stop_reason(target.post.campaign_id)
        if stop:
            return Outcome.release(f"not now: {stop}")
        refusal = publish_refusal(target)
        if refusal:
            audit_record(obj=target, actor=actor, action="gate:refused", note=refusal)
            return Outcome.permanent(f"refused: {refusal}")
        force_proof = bool(action.payload.get("force_proof"))
        credentials = None
        if is_live(target.post.campaign) and not force_proof:
            try:  # before the attempt row: a revoked or unrefreshable account waits, nothing is sent
                credentials = account_credentials(account=target.account, actor=actor)
            except AccountUnavailable as exc:
                return Outcome.release(str(exc), after=exc.retry_after or ACCOUNT_UNAVAILABLE_WAIT)
            spent = budget_wait(target.account)
            if spent:  # the platform's budget is (nearly) spent: wait for its reset, without an attempt
                return Outcome.release(f"rate budget spent: {spent[1]}", after=spent[0])
        target_begin(target=target, actor=actor)
    # Committed: from here on a crash leaves the target "publishing", which the next run reconciles.
    failpoint("publish.before_call")
    return _publish(target, key=action.idempotency_key, force_proof=force_proof, actor=actor,
                    credentials=credentials)  # fmt: skip


def _publish(
    target: PublishTarget, *, key: str, force_proof: bool, actor: str, credentials: Credentials | None = None
) -> Outcome:
    """The outbound call of a target already marked ``publishing``, and the recording of its result."""
    post = target.post
    request = PublishRequest(
        platform=target.account.platform,
        text=_sent_text(target, post.body),
        credentials=credentials or _credentials(target.account),
        idempotency_key=key,
        media_urls=tuple(post.media_urls),
        link_url=_sent_text(target, post.link_url),
    )
    adapter = get_adapter(request.platform)
    try:
        if is_live(post.campaign) and not force_proof:
            result = publish_as_account(adapter, request, account=target.account, actor=actor)
        else:
            result = proof_publish(
                adapter, request, artifacts_dir=Path(settings.ARTIFACTS_DIR), name=f"target-{target.pk}"
            )
    except RetryAfterError as exc:
        target_retry_later(target=target, actor=actor, error=str(exc))
        if exc.status == 429:  # a rate limit is not a failure: wait for the reset without spending an attempt
            return Outcome.release(str(exc), after=exc.retry_after)
        return Outcome.retry(str(exc), after=exc.retry_after)
    except OutcomeUnknownError as exc:
        target_needs_reconcile(target=target, actor=actor, error=str(exc))
        return Outcome.unknown(str(exc))
    except PermanentError as exc:
        target_failed(target=target, actor=actor, error=str(exc))
        return Outcome.permanent(str(exc))
    failpoint("publish.after_call")

    target_published(
        target=target, actor=actor, platform_post_id=result.platform_post_id, url=result.url,
        sha256=post.approved_sha256, artifact_path=result.artifact_path, artifact_sha256=result.artifact_sha256,
        proof=result.proof,
    )  # fmt: skip
    mode = "PROOF" if result.proof else "LIVE"
    return Outcome.ok(
        f"{mode}: published target {target.pk} on {request.platform} as {result.platform_post_id}",
        artifact_ref=result.artifact_path,
        artifact_sha256=result.artifact_sha256,
        result={"platform_post_id": result.platform_post_id, "mode": mode.lower()},
    )


def _sent_text(target: PublishTarget, text: str) -> str:
    """What goes out for ``text`` on this target: links tracked (the same text on every retry)."""
    return tracked_text(text, campaign=target.post.campaign, channel=target.account.platform, target_id=target.pk)


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
    actor = _actor(action)
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
    sent = _sent_text(target, post.body)
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

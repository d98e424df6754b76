"""Action handlers of the publishing app (registered in settings.ACTION_TYPES)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import transaction

from campaigns.audit import audit_record
from campaigns.controls import is_live, stop_reason
from campaigns.models import Action
from campaigns.outcomes import Outcome

from .adapters.base import Credentials, OutcomeUnknownError, PermanentError, PublishRequest, RetryAfterError
from .adapters.proof import proof_publish
from .adapters.registry import get_adapter
from .gate import publish_refusal
from .models import PublishTarget
from .services import target_begin, target_failed, target_needs_reconcile, target_published, target_retry_later

T = PublishTarget.Status

POST_SOCIAL_PAYLOAD = {
    "type": "object",
    "properties": {"target_id": {"type": "integer", "minimum": 1}, "force_proof": {"type": "boolean"}},
    "required": ["target_id"],
    "additionalProperties": False,
}


def _actor(action: Action) -> str:
    return f"action:{action.pk}"


def post_social(action: Action) -> Outcome:
    """Publish one target: gate, attempt row (``publishing``) committed, call, record the result.

    A target found already ``publishing`` means an earlier attempt died after the call may have
    left: it is never sent again blindly, it goes to ``needs_reconcile``.
    """
    actor = _actor(action)
    target_id = action.payload.get("target_id")
    with transaction.atomic():
        target = (
            PublishTarget.objects.select_for_update(of=("self",))
            .select_related("post__campaign", "account")
            .filter(pk=target_id)
            .first()
        )
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
        target_begin(target=target, actor=actor)
    # Committed: from here on a crash leaves the target "publishing", which the next run reconciles.

    post = target.post
    request = PublishRequest(
        platform=target.account.platform,
        text=post.body,
        credentials=Credentials(account_id=target.account.external_id, handle=target.account.handle),
        idempotency_key=action.idempotency_key,
        media_urls=tuple(post.media_urls),
        link_url=post.link_url,
    )
    adapter = get_adapter(request.platform)
    try:
        if is_live(post.campaign) and not action.payload.get("force_proof"):
            result = adapter.publish(request)
        else:
            result = proof_publish(
                adapter, request, artifacts_dir=Path(settings.ARTIFACTS_DIR), name=f"target-{target.pk}"
            )
    except RetryAfterError as exc:
        target_retry_later(target=target, actor=actor, error=str(exc))
        return Outcome.retry(str(exc), after=exc.retry_after)
    except OutcomeUnknownError as exc:
        target_needs_reconcile(target=target, actor=actor, error=str(exc))
        return Outcome.unknown(str(exc))
    except PermanentError as exc:
        target_failed(target=target, actor=actor, error=str(exc))
        return Outcome.permanent(str(exc))

    target_published(
        target=target, actor=actor, platform_post_id=result.platform_post_id, url=result.url,
        sha256=post.approved_sha256, artifact_path=result.artifact_path, artifact_sha256=result.artifact_sha256,
    )  # fmt: skip
    mode = "PROOF" if result.proof else "LIVE"
    return Outcome.ok(
        f"{mode}: published target {target.pk} on {request.platform} as {result.platform_post_id}",
        artifact_ref=result.artifact_path,
        artifact_sha256=result.artifact_sha256,
        result={"platform_post_id": result.platform_post_id, "mode": mode.lower()},
    )

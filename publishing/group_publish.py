"""Group publish: many ``post_social`` actions at once, with the single publish's guarantees.

The order stays DESIGN.md's (gate and attempt row committed before the call, the result after),
but per group instead of per target, so a post costs a share of a few statements instead of ~25:

1. One transaction: the targets locked, the control flags read once per campaign, the publish gate
   asked about each target, credentials read (refreshed when due) once per account, the rate
   budgets of all accounts in one query, and every allowed target moved to ``publishing`` in one
   UPDATE with its audit rows in one INSERT. Commit: each attempt is on record before anything leaves.
2. The calls run concurrently on the process's call pool (publishing.calls: PUBLISH_MAX_IN_FLIGHT
   in all, PUBLISH_CONCURRENCY_PER_ACCOUNT per account). Those threads only speak HTTP.
3. The answers are settled in this thread (rate budgets stored, a 401 refreshed and tried once
   more), then one transaction records the publications: one UPDATE, one INSERT of audit rows, one
   of ``post_published`` events. A 429, an unknown outcome or a refusal goes through the
   single-target services, as before.

A crash between 1 and 3 leaves targets ``publishing``: the next run of their actions sends them to
``needs_reconcile`` (never a blind resend). ``post_social`` is this with a group of one.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from campaigns.audit import audit_record
from campaigns.controls import is_live, stop_reason
from campaigns.failpoints import failpoint
from campaigns.models import Action
from campaigns.outcomes import Outcome
from campaigns.tracking import tracked_text

from .accounts import AccountUnavailable, account_credentials, call_outcome, publish_settle
from .adapters.base import (
    AdapterError,
    Credentials,
    OutcomeUnknownError,
    PermanentError,
    PublishRequest,
    PublishResult,
    RetryAfterError,
)
from .adapters.proof import proof_publish
from .adapters.registry import get_adapter
from .calls import calls_per_account, calls_run
from .gate import publish_refusal
from .models import PublishTarget
from .ratebudget import budgets_spent
from .services import (
    Published,
    target_failed,
    target_needs_reconcile,
    target_retry_later,
    targets_begin,
    targets_published,
)

T = PublishTarget.Status
logger = logging.getLogger(__name__)
# A revoked account waits for a human: look again this often (seconds) without spending attempts.
ACCOUNT_UNAVAILABLE_WAIT = 3600.0


def actor_of(action: Action) -> str:
    return f"action:{action.pk}"


def sent_text(target: PublishTarget, text: str) -> str:
    """What goes out for ``text`` on this target: links tracked (the same text on every retry)."""
    return tracked_text(text, campaign=target.post.campaign, channel=target.account.platform, target_id=target.pk)


@dataclass
class _Item:
    action: Action
    target: PublishTarget
    request: PublishRequest
    adapter: Any
    live: bool
    answer: PublishResult | Exception | None = None
    answered_at: float | None = None  # time.monotonic() when the platform's answer came


def post_social_group(actions: list[Action]) -> list[Outcome]:
    """One outcome per action, in order. Registered as the ``group_handler`` of ``post_social``."""
    outcomes: dict[int, Outcome] = {}
    resets: dict[int, float] = {}  # action → monotonic time its account's rate limit resets
    for round_ in _rounds(actions):
        failpoint("publish.before_attempt")
        with transaction.atomic():
            items = _reserve(round_, outcomes, resets)
        # Committed: from here on a crash leaves the targets "publishing", which the next run reconciles.
        failpoint("publish.before_call")
        if items:
            _call_all(items)
            failpoint("publish.after_call")
            _record(items, outcomes, resets)
    # The dispatcher counts a release's wait from now, the end of the group, which can be a second
    # after the 429 (the group's other calls): count it from the reset instead, as one alone would.
    now = time.monotonic()
    for pk, reset in resets.items():
        outcomes[pk] = replace(outcomes[pk], retry_after=max(0.0, reset - now))
    return [outcomes[a.pk] for a in actions]


def _rate_limited(action: Action, message: str, wait: float, outcomes: dict[int, Outcome], resets: dict[int, float],
                  since: float | None = None) -> None:  # fmt: skip
    """Released until the account's rate limit resets, ``wait`` seconds after ``since`` (default: now);
    the attempt does not count. The wait is recounted from the reset when the group returns."""
    outcomes[action.pk] = Outcome.release(message, after=wait)
    resets[action.pk] = (since or time.monotonic()) + wait


def _rounds(actions: list[Action]) -> list[list[Action]]:
    """Split the group so that no account has more targets in a round than it may have calls in
    flight: the next round is reserved with the rate budget the previous round's answers stored,
    so a spent budget stops the account's later posts as it would one by one."""
    if len(actions) == 1:
        return [actions]
    account_of = dict(PublishTarget.objects.filter(pk__in=[a.payload["target_id"] for a in actions])
                      .values_list("pk", "account_id"))  # fmt: skip
    seen: Counter = Counter()
    rounds: list[list[Action]] = []
    for action in actions:
        account = account_of.get(action.payload["target_id"])
        n = seen[account] // calls_per_account()
        seen[account] += 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(action)
    return rounds


def _reserve(actions: list[Action], outcomes: dict[int, Outcome], resets: dict[int, float]) -> list[_Item]:
    targets = {
        t.pk: t
        for t in PublishTarget.objects.select_for_update(of=("self",)).select_related("post__campaign", "account")
        .filter(pk__in=[a.payload["target_id"] for a in actions])
    }  # fmt: skip
    stops: dict[int, str | None] = {}
    live_by_campaign: dict[int, bool] = {}
    credentials: dict[int, Credentials | AccountUnavailable] = {}
    spent = budgets_spent(list({t.account_id: t.account for t in targets.values()}.values()))
    ready: list[tuple[Action, PublishTarget, bool, Credentials | None]] = []
    for action in actions:
        actor, target = actor_of(action), targets.get(action.payload["target_id"])
        if target is None:
            outcomes[action.pk] = Outcome.permanent(f"target {action.payload['target_id']} does not exist")
            continue
        if target.status == T.PUBLISHED:
            outcomes[action.pk] = Outcome.skipped(f"target {target.pk} already published as {target.platform_post_id}")
            continue
        if target.status == T.PUBLISHING:
            error = "a previous attempt stopped after the call may have been sent"
            target_needs_reconcile(target=target, actor=actor, error=error)
            outcomes[action.pk] = Outcome.unknown(error)
            continue
        campaign = target.post.campaign
        if campaign.pk not in stops:  # flags again, right before the outbound calls (the claim checked them too)
            stops[campaign.pk] = stop_reason(campaign.pk)
            live_by_campaign[campaign.pk] = is_live(campaign)
        if stops[campaign.pk]:
            outcomes[action.pk] = Outcome.release(f"not now: {stops[campaign.pk]}")
            continue
        refusal = publish_refusal(target)
        if refusal:
            audit_record(obj=target, actor=actor, action="gate:refused", note=refusal)
            outcomes[action.pk] = Outcome.permanent(f"refused: {refusal}")
            continue
        live = live_by_campaign[campaign.pk] and not action.payload.get("force_proof")
        creds = None
        if live:  # before the attempt row: a revoked or unrefreshable account waits, nothing is sent
            if target.account_id not in credentials:
                try:
                    credentials[target.account_id] = account_credentials(account=target.account, actor=actor)
                except AccountUnavailable as exc:
                    credentials[target.account_id] = exc
            creds = credentials[target.account_id]
            if isinstance(creds, AccountUnavailable):
                outcomes[action.pk] = Outcome.release(str(creds), after=creds.retry_after or ACCOUNT_UNAVAILABLE_WAIT)
                continue
            if target.account_id in spent:  # the budget is (nearly) spent: wait for its reset, without an attempt
                wait, which = spent[target.account_id]
                _rate_limited(action, f"rate budget spent: {which}", wait, outcomes, resets)
                continue
        ready.append((action, target, live, creds))
    moved = targets_begin(targets=[t for _, t, _, _ in ready], actors={t.pk: actor_of(a) for a, t, _, _ in ready})
    items = []
    for action, target, live, creds in ready:
        if target.pk not in moved:  # cannot happen under the row lock; never call for a target not on record
            outcomes[action.pk] = Outcome.retry(f"target {target.pk} changed while being reserved")
            continue
        post = target.post
        request = PublishRequest(
            platform=target.account.platform, text=sent_text(target, post.body),
            credentials=creds or target.account.credentials(), idempotency_key=action.idempotency_key,
            media_urls=tuple(post.media_urls), link_url=sent_text(target, post.link_url),
        )  # fmt: skip
        items.append(
            _Item(action=action, target=target, request=request, adapter=get_adapter(request.platform), live=live)
        )
    return items


def _call_all(items: list[_Item]) -> None:
    """LIVE calls concurrently on the call pool; PROOF writes its artifact here (no network)."""
    live = [i for i in items if i.live]
    futures = calls_run([(i.target.account_id, _call(i.adapter, i.request)) for i in live])
    for item, future in zip(live, futures, strict=True):
        if future.exception() is not None:
            item.answer = future.exception()
        else:
            item.answer, item.answered_at = future.result()
    for item in items:
        if not item.live:
            try:
                item.answer = proof_publish(item.adapter, item.request, artifacts_dir=Path(settings.ARTIFACTS_DIR),
                                            name=f"target-{item.target.pk}")  # fmt: skip
            except Exception as exc:  # recorded per target below, as the LIVE answers are
                item.answer = exc


def _call(adapter: Any, request: PublishRequest):
    return lambda: (call_outcome(adapter.publish, request), time.monotonic())


def _record(items: list[_Item], outcomes: dict[int, Outcome], resets: dict[int, float]) -> None:
    published: list[tuple[_Item, PublishResult]] = []
    for item in items:
        actor = actor_of(item.action)
        answer = item.answer
        try:
            if isinstance(answer, Exception) and not (item.live and isinstance(answer, AdapterError)):
                raise answer  # PROOF's errors, and anything unclassified, are classified below
            result = answer if not item.live else publish_settle(
                item.adapter, item.request, account=item.target.account, actor=actor,
                first=answer,
            )  # fmt: skip
        except RetryAfterError as exc:
            target_retry_later(target=item.target, actor=actor, error=str(exc))
            # A rate limit is not a failure: wait for the reset without spending an attempt.
            if exc.throttled:  # the platform's wait runs from its answer, not from now
                _rate_limited(item.action, str(exc), exc.retry_after, outcomes, resets, since=item.answered_at)
            else:
                outcomes[item.action.pk] = Outcome.retry(str(exc), after=exc.retry_after)
        except PermanentError as exc:
            target_failed(target=item.target, actor=actor, error=str(exc))
            outcomes[item.action.pk] = Outcome.permanent(str(exc))
        except Exception as exc:  # outcome unknown, or a bug after the request may have left
            if not isinstance(exc, OutcomeUnknownError):
                logger.exception("publish of target %s raised", item.target.pk)
            error = str(exc) if isinstance(exc, OutcomeUnknownError) else f"{type(exc).__name__}: {exc}"
            target_needs_reconcile(target=item.target, actor=actor, error=error)
            outcomes[item.action.pk] = Outcome.unknown(error)
        else:
            published.append((item, result))
    moved = targets_published([
        Published(target=i.target, actor=actor_of(i.action), platform_post_id=r.platform_post_id, url=r.url,
                  artifact_path=r.artifact_path, artifact_sha256=r.artifact_sha256, proof=r.proof)
        for i, r in published
    ])  # fmt: skip
    for item, result in published:
        if item.target.pk not in moved:  # cannot happen: only this action's run moves a publishing target
            outcomes[item.action.pk] = Outcome.unknown(f"target {item.target.pk} left publishing meanwhile")
            continue
        mode = "PROOF" if result.proof else "LIVE"
        outcomes[item.action.pk] = Outcome.ok(
            f"{mode}: published target {item.target.pk} on {item.request.platform} as {result.platform_post_id}",
            artifact_ref=result.artifact_path, artifact_sha256=result.artifact_sha256,
            result={"platform_post_id": result.platform_post_id, "mode": mode.lower()},
        )  # fmt: skip

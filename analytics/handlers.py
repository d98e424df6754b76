"""Action handlers of analytics (registered in settings.ACTION_TYPES)."""

from __future__ import annotations

import smtplib
from collections.abc import Iterable
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from campaigns.controls import is_live
from campaigns.models import Action, Campaign
from campaigns.outcomes import Outcome
from publishing.adapters.base import AdapterError, AuthError, Credentials, PermanentError, RetryAfterError
from publishing.adapters.registry import get_adapter
from publishing.models import PublishTarget, SocialAccount

from .attribution import attribution_compute_all
from .collection import snapshots_store
from .feedback import rules_evaluate
from .models import WeeklySummary
from .rollups import rollup_incremental, rollup_range, unsupported_reason
from .summary import summary_text

FETCH_METRICS_PAYLOAD = {
    "type": "object",
    "properties": {
        "account_id": {"type": "integer", "minimum": 1},
        "target_ids": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1, "maxItems": 100},
    },
    "required": ["account_id", "target_ids"],
    "additionalProperties": False,
}


def _credentials(account: SocialAccount) -> Credentials:
    if hasattr(account, "credentials"):
        return account.credentials()
    return Credentials(account_id=account.external_id, handle=account.handle)


def fetch_metrics(action: Action) -> Outcome:
    """Read the platform's counters for some published targets of one account; store today's snapshots.

    Only LIVE campaigns are read (PROOF never calls a platform). Safe to run again: a snapshot is an
    upsert of the day's row.
    """
    account = SocialAccount.objects.filter(pk=action.payload["account_id"]).first()
    if account is None:
        return Outcome.permanent(f"account {action.payload['account_id']} does not exist")
    targets = [
        t
        for t in PublishTarget.objects.filter(
            pk__in=action.payload["target_ids"], account=account, status=PublishTarget.Status.PUBLISHED
        )
        .exclude(platform_post_id="")
        .select_related("post__campaign")
        .order_by("pk")
        if is_live(t.post.campaign)
    ]
    if not targets:
        return Outcome.skipped("no published LIVE target to read (PROOF posts have no platform counters)")
    adapter = get_adapter(account.platform)
    fetch = getattr(adapter, "fetch_metrics", None)
    if fetch is None:
        return Outcome.skipped(f"the {account.platform} adapter does not offer fetch_metrics yet")
    by_post_id = {t.platform_post_id: t.pk for t in targets}
    try:
        answer = fetch(_credentials(account), list(by_post_id))
    except RetryAfterError as exc:
        return Outcome.retry(f"{account.platform} rate limit: {exc}", after=exc.retry_after)
    except AuthError as exc:
        return Outcome.permanent(f"{account.platform} refused the credentials: {exc}")
    except PermanentError as exc:
        return Outcome.permanent(f"{account.platform}: {exc}")
    except AdapterError as exc:
        return Outcome.retry(f"{account.platform}: {exc}")  # reads are safe to repeat
    readings = {by_post_id[pid]: metrics for pid, metrics in answer.items() if pid in by_post_id}
    stored = snapshots_store(readings=readings, fetched_at=timezone.now())
    missing = len(by_post_id) - stored
    return Outcome.ok(
        f"{stored} snapshot(s) stored" + (f", {missing} post(s) not in the answer" if missing else ""),
        result={"stored": stored, "missing": missing},
    )


ROLLUP_PAYLOAD = {
    "type": "object",
    "properties": {
        "start": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        "end": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
    },
    "dependentRequired": {"start": ["end"], "end": ["start"]},
    "additionalProperties": False,
}


def day_ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Contiguous runs of days: [1, 2, 3, 7] → [(1, 3), (7, 7)]."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1][1] + timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def rollup_metrics(action: Action) -> Outcome:
    """Roll up the days that changed (or ``start`` … ``end``), recompute attribution for those days,
    then evaluate the feedback rules."""
    if reason := unsupported_reason():
        return Outcome.skipped(reason)
    if "start" in action.payload:
        try:
            start, end = date.fromisoformat(action.payload["start"]), date.fromisoformat(action.payload["end"])
        except ValueError as exc:
            return Outcome.permanent(f"payload.start/end: {exc}")
        result = rollup_range(start=start, end=end)
    else:
        result = rollup_incremental()
    lookback, half_life = settings.ATTRIBUTION_LOOKBACK_DAYS, settings.ATTRIBUTION_HALF_LIFE_DAYS
    for first, last in day_ranges(result.changed_days):
        attribution_compute_all(start=first, end=last, lookback_days=lookback, half_life_days=half_life)
    fired = rules_evaluate(actor=f"action:{action.pk}")
    return Outcome.ok(
        f"{result.written} row(s) written, {result.removed} removed over {result.days} day(s); {len(fired)} rule(s) fired",
        result={"written": result.written, "removed": result.removed, "days": result.days, "rules_fired": fired},
    )


WEEKLY_SUMMARY_PAYLOAD = {
    "type": "object",
    "properties": {
        "campaign_id": {"type": "integer", "minimum": 1},
        "week": {"type": "string", "pattern": r"^\d{4}-W\d{2}$"},
    },
    "required": ["campaign_id", "week"],
    "additionalProperties": False,
}


def weekly_summary(action: Action) -> Outcome:
    """Email the campaign's week to its owner. The attempt row is written before the send: a run
    that finds it ``sending`` does not send again (the mail may have left)."""
    campaign = Campaign.objects.select_related("owner").filter(pk=action.payload["campaign_id"]).first()
    if campaign is None:
        return Outcome.permanent(f"campaign {action.payload['campaign_id']} does not exist")
    week = action.payload["week"]
    try:
        body = summary_text(campaign, week=week)
    except ValueError as exc:
        return Outcome.permanent(str(exc))
    email = campaign.owner.email if campaign.owner is not None else ""
    if not email:
        return Outcome.skipped(f"campaign {campaign.pk} has no owner with an email address")
    row, created = WeeklySummary.objects.get_or_create(
        campaign=campaign, week=week, defaults={"recipient": email, "body": body}
    )
    if not created:
        return Outcome.skipped(f"summary {week} already {row.status} to {row.recipient}")
    try:
        send_mail(f"[{campaign.name}] weekly summary {week}", body, settings.DEFAULT_FROM_EMAIL, [email])
    except (smtplib.SMTPException, ConnectionError) as exc:
        # Refused before the message was accepted: nothing left, so the next attempt may send.
        WeeklySummary.objects.filter(pk=row.pk).delete()
        return Outcome.retry(f"mail server refused the summary: {exc}")
    WeeklySummary.objects.filter(pk=row.pk).update(status=WeeklySummary.Status.SENT, sent_at=timezone.now())
    return Outcome.ok(f"summary {week} sent to {email}")

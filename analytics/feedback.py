"""Feedback rules: after each rollup, compare each campaign's recent numbers to its rules and act.

Acting goes through the campaign services (``campaign_pause`` / ``campaign_complete``: compare-and-set
and an audit row on the campaign). A rule fires once (``fired_at`` is set with a conditional UPDATE,
so two evaluators never both act) and re-arms when its condition is false again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from campaigns import services as campaign_services
from campaigns.audit import audit_record
from campaigns.errors import TransitionError
from campaigns.models import Campaign

from . import selectors
from .models import Alert, FeedbackRule

K = FeedbackRule.Kind
ACTIVE = (Campaign.Status.RUNNING, Campaign.Status.PAUSED)


@dataclass(frozen=True)
class Verdict:
    holds: bool
    value: float | None
    detail: str


def rule_check(rule: FeedbackRule, *, today: Any) -> Verdict:
    """Whether the rule's condition holds now, the measured value, and a sentence saying why."""
    campaign = rule.campaign
    if rule.kind == K.TARGET_CLIENTS_REACHED:
        target = int(rule.threshold) if rule.threshold is not None else campaign.target_clients
        reached = selectors.qualified_leads_count(campaign_id=campaign.pk)
        if not target:
            return Verdict(False, reached, "no target set")
        return Verdict(reached >= target, reached, f"{reached} of {target} target clients reached")
    start = today - timedelta(days=rule.window_days - 1)
    totals = selectors.window_totals(campaign_id=campaign.pk, start=start, end=today)
    sends = totals["sends"]
    part = {K.BOUNCE_RATE_ABOVE: "bounces", K.COMPLAINT_RATE_ABOVE: "complaints", K.REPLY_RATE_BELOW: "replies"}[
        rule.kind
    ]
    if sends < rule.min_sends or not sends:
        return Verdict(False, None, f"{sends} sends in {rule.window_days} days, fewer than {rule.min_sends}")
    value = totals[part] / sends
    threshold = float(rule.threshold)
    holds = value < threshold if rule.kind == K.REPLY_RATE_BELOW else value > threshold
    word = "below" if rule.kind == K.REPLY_RATE_BELOW else "above"
    return Verdict(
        holds,
        value,
        f"{part} {totals[part]} of {sends} sends = {value:.1%} ({'' if holds else 'not '}{word} {threshold:.1%})",
    )


def _alert(rule: FeedbackRule, message: str) -> Alert:
    owner = rule.campaign.owner
    email = owner.email if owner is not None and owner.email else ""
    alert = Alert.objects.create(campaign=rule.campaign, rule=rule, message=message, emailed_to=email)
    if email:
        # After commit: a rolled-back firing sends nothing.
        transaction.on_commit(
            lambda: send_mail(
                f"[{rule.campaign.name}] {rule.get_kind_display()}",
                message,
                settings.DEFAULT_FROM_EMAIL,
                [email],
                fail_silently=True,
            )
        )
    return alert


def rule_fire(rule: FeedbackRule, verdict: Verdict, *, actor: str, now: datetime) -> str | None:
    """Act once for a rule whose condition holds. Returns what was done, or None if another run did it."""
    with transaction.atomic():
        if not FeedbackRule.objects.filter(pk=rule.pk, fired_at__isnull=True).update(fired_at=now):
            return None
        campaign = Campaign.objects.get(pk=rule.campaign_id)
        rule.campaign = campaign
        note = f"feedback rule {rule.pk}: {verdict.detail}"
        done = "alerted"
        try:
            if rule.action == FeedbackRule.Act.PAUSE and campaign.status == Campaign.Status.RUNNING:
                campaign_services.campaign_pause(campaign=campaign, actor=actor, note=note)
                done = "paused and alerted"
            elif rule.action == FeedbackRule.Act.COMPLETE and campaign.status in ACTIVE:
                campaign_services.campaign_complete(campaign=campaign, actor=actor, note=note)
                done = "completed and alerted"
        except TransitionError as exc:
            done = f"alerted (could not {rule.action}: {exc})"
        _alert(rule, f"{rule.campaign.name}: {rule.get_kind_display().lower()} — {verdict.detail}. Action: {done}.")
        audit_record(obj=rule, actor=actor, action=f"feedback:{rule.action}", note=f"{verdict.detail}; {done}",
                     data={"value": verdict.value})  # fmt: skip
    return done


def rules_evaluate(*, actor: str = "system:feedback", campaign_ids: list[int] | None = None) -> list[str]:
    """Evaluate every enabled rule of active campaigns; returns one line per rule that fired."""
    now = timezone.now()
    today = now.date()
    rules = FeedbackRule.objects.filter(enabled=True, campaign__status__in=ACTIVE).select_related("campaign__owner")
    if campaign_ids is not None:
        rules = rules.filter(campaign_id__in=campaign_ids)
    fired = []
    for rule in rules.order_by("pk"):
        verdict = rule_check(rule, today=today)
        FeedbackRule.objects.filter(pk=rule.pk).update(last_value=verdict.value, last_evaluated_at=now)
        if verdict.holds and rule.fired_at is None:
            done = rule_fire(rule, verdict, actor=actor, now=now)
            if done:
                fired.append(f"rule {rule.pk} ({rule.kind}) on campaign {rule.campaign_id}: {done}")
        elif not verdict.holds and rule.fired_at is not None:
            FeedbackRule.objects.filter(pk=rule.pk).update(fired_at=None)  # re-arm
    return fired

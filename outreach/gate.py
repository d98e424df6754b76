"""The contact gate: the one function every send path asks "may this lead be contacted now?".

It returns a Decision: allowed (with the mailbox to send from), or the reason it said no and
whether the "no" is for now (window closed, cap reached, cooldown: try again at ``retry_at``) or for
good (suppressed, unapproved content, lead status). Caps are counted from SendAttempt rows, the
same rows the send path writes, and ``attempt_reserve`` runs the gate and writes the attempt in one
transaction holding the campaign's mailbox locks, so two workers cannot both take the last slot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Max, Q

from campaigns.controls import stop_reason
from campaigns.models import Campaign, ChannelConfig
from campaigns.services import strategy_sha256

from .models import Enrollment, Lead, Mailbox, SendAttempt, SequenceStep, Template, lead_tz
from .sequences import window_reopens_at
from .services import suppression_reasons

COUNTED = SendAttempt.COUNTED


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    retry_at: datetime | None = None  # set when the refusal is temporary
    mailbox: Mailbox | None = None

    @classmethod
    def no(cls, reason: str, retry_at: datetime | None = None) -> Decision:
        return cls(False, reason, retry_at)


@dataclass
class GateFacts:
    """What the gate reads from the database, loaded once for a group of one campaign's leads.

    The group send (outreach.group_send) loads these under the campaign lock, asks ``contact_gate``
    about each lead with them, and calls ``reserved`` for each slot it takes, so the tenth lead of a
    group sees the caps the first nine used — the same answers as nine separate reservations,
    without nine rounds of queries. A single send loads them for its one lead.
    """

    stop: str | None
    strategy_ok: bool
    config: ChannelConfig | None  # None when loaded without caps
    day: int  # the campaign's counted attempts on this channel today (campaign time zone) …
    hour: int  # … and in the last hour
    suppressed: dict[int, str | None] = field(default_factory=dict)  # lead pk → reason
    touches: dict[int, tuple[int, datetime | None]] = field(default_factory=dict)  # lead pk → (count, last)
    mailboxes: list[Mailbox] = field(default_factory=list)  # annotated with day/hour like _mailboxes()

    @classmethod
    def load(cls, *, campaign: Campaign, channel: str, leads: list[Lead], now: datetime,
             caps: bool = True) -> GateFacts:  # fmt: skip
        """The facts for ``leads``; with ``caps=False`` (a manual task) no counts or mailboxes."""
        counts = _campaign_counts(campaign=campaign, channel=channel, now=now) if caps else {"day": 0, "hour": 0}
        touches = {
            row["lead_id"]: (row["touches"], row["last"])
            for row in SendAttempt.objects.filter(lead_id__in=[lead.pk for lead in leads], channel=channel,
                                                  status__in=COUNTED)
            .values("lead_id").annotate(touches=Count("id"), last=Max("created_at"))
        } if caps else {}  # fmt: skip
        return cls(
            stop=stop_reason(campaign.pk),
            strategy_ok=_strategy_ok(campaign),
            config=_channel_limits(campaign, channel) if caps else None,
            day=counts["day"],
            hour=counts["hour"],
            suppressed=suppression_reasons(leads),
            touches=touches,
            mailboxes=_mailboxes(campaign=campaign, now=now) if caps and channel == "email" else [],
        )

    def reserved(self, *, lead: Lead, mailbox: Mailbox | None, now: datetime) -> None:
        """One more counted attempt: what the gate's queries would see after its INSERT."""
        self.day += 1
        self.hour += 1
        count, _ = self.touches.get(lead.pk, (0, None))
        self.touches[lead.pk] = (count + 1, now)
        if mailbox is not None:
            mailbox.day += 1
            mailbox.hour += 1
            self.mailboxes.sort(key=lambda m: (m.day, m.pk))


def _strategy_ok(campaign: Campaign) -> bool:
    return bool(campaign.strategy_approved_sha256) and campaign.strategy_approved_sha256 == strategy_sha256(campaign)


def _channel_limits(campaign: Campaign, channel: str) -> ChannelConfig:
    config = ChannelConfig.objects.filter(campaign=campaign, channel=channel).first()
    if config is None:
        # No explicit config: the model's defaults, with the campaign's own daily email cap.
        config = ChannelConfig(campaign=campaign, channel=channel, daily_cap=campaign.max_emails_per_day,
                               hourly_cap=max(1, min(campaign.max_emails_per_day, 10)), warmup_start=0)  # fmt: skip
    return config


def _day_start(now: datetime, campaign: Campaign) -> datetime:
    local = now.astimezone(campaign.tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _campaign_counts(*, campaign: Campaign, channel: str, now: datetime) -> dict[str, int]:
    return SendAttempt.objects.filter(
        campaign=campaign, channel=channel, status__in=COUNTED, created_at__gte=_day_start(now, campaign)
    ).aggregate(day=Count("id"), hour=Count("id", filter=Q(created_at__gte=now - timedelta(hours=1))))


def _caps_refusal(*, campaign: Campaign, channel: str, lead: Lead, now: datetime, facts: GateFacts) -> Decision | None:
    config = facts.config
    tomorrow = _day_start(now, campaign) + timedelta(days=1)
    counts = {"day": facts.day, "hour": facts.hour}
    daily = config.daily_cap
    if config.warmup_start and campaign.start_date:
        ramp_days = max(0, (now.astimezone(campaign.tz).date() - campaign.start_date).days)
        daily = min(daily, config.warmup_start + config.warmup_step * ramp_days)
    if counts["day"] >= daily:
        return Decision.no(f"campaign daily {channel} cap reached ({counts['day']}/{daily})", tomorrow)
    if counts["hour"] >= config.hourly_cap:
        return Decision.no(f"campaign hourly {channel} cap reached ({counts['hour']}/{config.hourly_cap})",
                           now + timedelta(minutes=10))  # fmt: skip
    touches, last = facts.touches.get(lead.pk, (0, None))
    if touches >= config.per_lead_limit:
        return Decision.no(f"lead reached the most touches on {channel} ({touches}/{config.per_lead_limit})")
    if last and now - last < timedelta(hours=config.cooldown_hours):
        return Decision.no(f"lead cooldown: last {channel} touch at {last:%Y-%m-%d %H:%M} UTC",
                           last + timedelta(hours=config.cooldown_hours))  # fmt: skip
    return None


def _mailboxes(*, campaign: Campaign, now: datetime) -> list[Mailbox]:
    day_start = _day_start(now, campaign)
    return list(
        Mailbox.objects.filter(campaign=campaign, active=True)
        .annotate(
            day=Count("attempts", filter=Q(attempts__status__in=COUNTED, attempts__created_at__gte=day_start)),
            hour=Count("attempts", filter=Q(attempts__status__in=COUNTED,
                                            attempts__created_at__gte=now - timedelta(hours=1))),
        )
        .order_by("day", "pk")
    )  # fmt: skip


def _pick_mailbox(*, campaign: Campaign, now: datetime, facts: GateFacts) -> Decision:
    """The active mailbox with room under its daily (warm-up) and hourly caps, least used today first."""
    mailboxes = facts.mailboxes
    if not mailboxes:
        return Decision.no(f"campaign {campaign.name!r} has no active sending mailbox")
    today = now.astimezone(campaign.tz).date()
    for mailbox in mailboxes:
        if mailbox.day < mailbox.cap_on(today) and mailbox.hour < mailbox.hourly_cap:
            return Decision(True, mailbox=mailbox)
    return Decision.no("every sending mailbox is at its cap (daily with warm-up, or hourly)",
                       now + timedelta(minutes=15))  # fmt: skip


def contact_gate(
    *,
    lead: Lead,
    campaign: Campaign,
    channel: str,
    now: datetime,
    template: Template | None = None,
    enrollment: Enrollment | None = None,
    step: SequenceStep | None = None,
    check_caps: bool = True,
    facts: GateFacts | None = None,
) -> Decision:
    """May ``lead`` be contacted on ``channel`` now? Checks, in order: campaign running, not paused or
    killed, strategy approved, content approved for its exact hash, lead status, consent, suppressions
    (email, domain, identity), sequence timeout and due step, send window in the lead's time zone,
    caps (campaign/channel, mailbox, per lead: touches and cooldown). Read-only. It reads what it
    needs from ``facts``: loaded here for this one lead, or once by the group send for many."""
    if campaign.status != Campaign.Status.RUNNING:
        return Decision.no(f"campaign {campaign.name!r} is {campaign.status}, not running")
    if facts is None:
        facts = GateFacts.load(campaign=campaign, channel=channel, leads=[lead], now=now, caps=check_caps)
    stop = facts.stop
    if stop:
        return Decision.no(f"not now: {stop}", now + timedelta(minutes=5))
    if not facts.strategy_ok:
        return Decision.no(f"campaign {campaign.name!r}: strategy is not approved in its current form")
    if template is not None and not template.approval_is_current:
        current = template.compute_sha256()
        return Decision.no(f"template {template.name!r} is {template.status}; content {current[:12]} is not the "
                           f"approved content {template.approved_sha256[:12] or '(none)'}")  # fmt: skip
    if lead.erased_at:
        return Decision.no("lead was erased (GDPR)")
    if lead.status not in Lead.CONTACTABLE:
        return Decision.no(f"lead is {lead.status}")
    if lead.consent_status in Lead.NO_CONTACT_CONSENT:
        return Decision.no(f"consent is {lead.consent_status}")
    if channel == "email" and not lead.email:
        return Decision.no("lead has no email address")
    suppressed = facts.suppressed.get(lead.pk)
    if suppressed:
        return Decision.no(suppressed)
    sequence = None
    if enrollment is not None:
        sequence = step.sequence if step is not None else enrollment.sequence
        if enrollment.status != Enrollment.Status.ACTIVE:
            return Decision.no(f"enrollment is {enrollment.status}")
        if now - enrollment.created_at > timedelta(days=sequence.timeout_days):
            return Decision.no(f"sequence timed out ({sequence.timeout_days} days after enrollment)")
        if step is not None and step.position != enrollment.next_position:
            return Decision.no(f"step {step.position} is not the lead's next step ({enrollment.next_position})")
        if enrollment.next_due_at and enrollment.next_due_at > now:
            return Decision.no("step is not due yet", enrollment.next_due_at)
        reopens = window_reopens_at(now=now, lead=lead, campaign=campaign, sequence=sequence)
        if reopens:
            tzname = lead_tz(lead, campaign).key
            return Decision.no(f"send window closed in {tzname}; opens {reopens:%Y-%m-%d %H:%M} UTC", reopens)
    if not check_caps:
        return Decision(True)
    capped = _caps_refusal(campaign=campaign, channel=channel, lead=lead, now=now, facts=facts)
    if capped:
        return capped
    if channel == "email":
        return _pick_mailbox(campaign=campaign, now=now, facts=facts)
    return Decision(True)


def attempt_reserve(
    *, key: str, lead: Lead, campaign: Campaign, channel: str, now: datetime, step: SequenceStep | None = None,
    template: Template | None = None, enrollment: Enrollment | None = None, **attempt_fields,
) -> tuple[Decision, SendAttempt | None]:  # fmt: skip
    """Gate and attempt row in one transaction: lock the campaign's mailboxes (serialising cap
    reservations per campaign), run the gate, and if it allows, write the ``sending`` attempt that
    takes the slot. The caller commits before calling the provider."""
    with transaction.atomic():
        # Lock order: campaign row, then nothing else; every reservation of the campaign queues here.
        Campaign.objects.select_for_update().filter(pk=campaign.pk).values_list("pk").first()
        decision = contact_gate(lead=lead, campaign=campaign, channel=channel, now=now, template=template,
                                enrollment=enrollment, step=step)  # fmt: skip
        if not decision.allowed:
            return decision, None
        attempt = SendAttempt.objects.create(
            idempotency_key=key, campaign=campaign, lead=lead, step=step, mailbox=decision.mailbox, channel=channel,
            to_email=lead.email, created_at=now, **attempt_fields,
        )  # fmt: skip
    return decision, attempt

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .channels import Channel


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not an IANA time zone name (e.g. Europe/Berlin)") from None


def validate_channels(value: object) -> None:
    if not isinstance(value, list):
        raise ValidationError("must be a list of channel names")
    unknown = [c for c in value if c not in Channel.values]
    if unknown:
        raise ValidationError(f"unknown channel(s) {', '.join(map(str, unknown))}; known: {', '.join(Channel.values)}")
    if len(set(value)) != len(value):
        raise ValidationError("a channel is listed twice")


def validate_kpi_targets(value: object) -> None:
    if not isinstance(value, dict):
        raise ValidationError("must be an object of KPI name to target number")
    for key, target in value.items():
        if not isinstance(target, (int, float)) or isinstance(target, bool) or target < 0:
            raise ValidationError(f"target for {key!r} must be a number ≥ 0")


class Mode(models.TextChoices):
    PROOF = "proof", "PROOF (write artifacts, call nothing)"
    LIVE = "live", "LIVE"


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        PENDING_REVIEW = "pending_review"
        APPROVED = "approved"
        REJECTED = "rejected"
        RUNNING = "running"
        PAUSED = "paused"
        COMPLETED = "completed"
        KILLED = "killed"

    S = Status
    TERMINAL = {S.COMPLETED, S.KILLED}
    TRANSITIONS: dict[str, set[str]] = {
        S.DRAFT: {S.PENDING_REVIEW, S.KILLED},
        S.PENDING_REVIEW: {S.APPROVED, S.REJECTED, S.DRAFT, S.KILLED},
        S.REJECTED: {S.DRAFT, S.KILLED},
        # Editing the strategy of an approved campaign voids the approval.
        S.APPROVED: {S.RUNNING, S.PENDING_REVIEW, S.KILLED},
        S.RUNNING: {S.PAUSED, S.COMPLETED, S.KILLED},
        S.PAUSED: {S.RUNNING, S.COMPLETED, S.KILLED},
        S.COMPLETED: set(),
        S.KILLED: set(),
    }

    class Objective(models.TextChoices):
        AWARENESS = "awareness"
        ENGAGEMENT = "engagement"
        TRAFFIC = "traffic"
        LEADS = "leads"
        SALES = "sales"

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    target_niche = models.CharField(max_length=200, blank=True)
    service_key = models.CharField(max_length=100, blank=True)
    target_clients = models.PositiveIntegerField(default=0)
    target_mrr = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    channels = models.JSONField(default=list, blank=True, validators=[validate_channels])
    max_emails_per_day = models.PositiveIntegerField(default=50)
    max_outreach_per_day = models.PositiveIntegerField(default=100)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.PROOF)
    strategy = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_campaigns"
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    objective = models.CharField(max_length=20, choices=Objective.choices, default=Objective.LEADS)
    kpi_targets = models.JSONField(default=dict, blank=True, validators=[validate_kpi_targets])
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    strategy_approved_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    strategy_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    strategy_approved_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("approve_campaign", "Can approve or reject campaign strategies")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "must be on or after start_date"})

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class ChannelConfig(models.Model):
    """Per-channel limits of one campaign. Caps are counted from the attempt rows sends write."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="channel_configs")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    daily_cap = models.PositiveIntegerField(default=50)
    hourly_cap = models.PositiveIntegerField(default=10)
    per_lead_limit = models.PositiveIntegerField(default=3, help_text="Most touches per lead on this channel.")
    cooldown_hours = models.PositiveIntegerField(default=48, help_text="Least time between two touches of a lead.")
    warmup_start = models.PositiveIntegerField(default=10, help_text="Day-one cap while warming up; 0 = no ramp.")
    warmup_step = models.PositiveIntegerField(default=5, help_text="Added to the cap each day until daily_cap.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "channel"], name="channelconfig_unique_channel")]

    def __str__(self) -> str:
        return f"{self.campaign} / {self.channel}"

    def clean(self) -> None:
        if self.hourly_cap > self.daily_cap:
            raise ValidationError({"hourly_cap": "cannot exceed daily_cap"})


class AuditEntry(models.Model):
    """Append-only: who changed what, when, from what to what, and why. Used by every app."""

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.CharField(max_length=64)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=150, help_text="User name, API token or system job.")
    action = models.CharField(max_length=50)
    old = models.CharField(max_length=50, blank=True)
    new = models.CharField(max_length=50, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id", "created_at"], name="audit_object_time")]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.actor_label}: {self.action} {self.old}→{self.new}"


class Action(models.Model):
    """One unit of work. The only way work is executed; the dispatcher owns ``status``."""

    class Status(models.TextChoices):
        PENDING = "pending"
        IN_PROGRESS = "in_progress"
        SUCCEEDED = "succeeded"
        RETRY_WAIT = "retry_wait"
        FAILED = "failed"
        DEAD_LETTER = "dead_letter"
        CANCELLED = "cancelled"

    S = Status
    CLAIMABLE = (S.PENDING, S.RETRY_WAIT)
    TERMINAL = (S.SUCCEEDED, S.FAILED, S.DEAD_LETTER, S.CANCELLED)
    TRANSITIONS: dict[str, set[str]] = {
        S.PENDING: {S.IN_PROGRESS, S.CANCELLED},
        S.RETRY_WAIT: {S.IN_PROGRESS, S.CANCELLED},
        # in_progress → in_progress: a lock that expired is reclaimed by another worker.
        S.IN_PROGRESS: {S.IN_PROGRESS, S.SUCCEEDED, S.RETRY_WAIT, S.FAILED, S.DEAD_LETTER, S.CANCELLED},
        S.DEAD_LETTER: {S.PENDING},
        S.FAILED: {S.PENDING},
        S.SUCCEEDED: set(),
        S.CANCELLED: set(),
    }

    idempotency_key = models.CharField(max_length=255, unique=True)
    action_type = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    priority = models.SmallIntegerField(default=100, help_text="Lower runs first.")
    not_before = models.DateTimeField(default=timezone.now)
    # Its place in line: when it was first due. A retry or a release moves not_before, not this, so
    # an action that waited out a rate limit goes before work that fell due while it waited.
    due_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=5)
    last_error = models.TextField(blank=True)
    # No separate FK index on campaign: action_campaign_status starts with campaign_id.
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions", db_index=False
    )
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    locked_by = models.CharField(max_length=100, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    fencing_token = models.BigIntegerField(
        default=0, help_text="Raised on every claim; a stale worker's write is refused."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["priority", "not_before", "id"]
        indexes = [
            # The claim query reads only this partial index.
            models.Index(
                fields=["priority", "due_at", "id"],
                name="action_claimable_due",
                condition=Q(status__in=["pending", "retry_wait"]),
            ),
            models.Index(fields=["locked_until"], name="action_lease", condition=Q(status="in_progress")),
            models.Index(fields=["campaign", "status"], name="action_campaign_status"),
            models.Index(fields=["status", "action_type"], name="action_status_type"),
        ]

    def __str__(self) -> str:
        return self.idempotency_key


class ActionLog(models.Model):
    """Append-only execution log: one row per attempt and per human decision on an action."""

    class Level(models.TextChoices):
        INFO = "info"
        WARNING = "warning"
        ERROR = "error"

    # No separate FK index: actionlog_action_time starts with action_id and serves the same lookups.
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="logs", db_index=False)
    attempt = models.PositiveIntegerField(default=0)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    status = models.CharField(max_length=20, blank=True, help_text="The action's status after this entry.")
    message = models.TextField(blank=True)
    artifact_ref = models.CharField(max_length=500, blank=True)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["action", "created_at"], name="actionlog_action_time")]

    def __str__(self) -> str:
        return f"{self.action_id}#{self.attempt} {self.level}: {self.message[:60]}"


class ControlFlag(models.Model):
    """Operator switches: global (``scope="global"``) or per campaign. No row means the defaults:
    not paused, not killed, PROOF. The campaign's own LIVE switch is ``Campaign.mode``."""

    scope = models.CharField(max_length=40, unique=True, help_text='"global" or "campaign:<id>"')
    campaign = models.OneToOneField(Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="flags")
    paused = models.BooleanField(default=False, help_text="Nothing is claimed.")
    killed = models.BooleanField(default=False, help_text="Stop claiming; dispatchers started from the shell exit.")
    live = models.BooleanField(default=False, help_text="Global only: LIVE also needs the campaign's mode = live.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        on = [name for name in ("paused", "killed", "live") if getattr(self, name)]
        return f"{self.scope}: {', '.join(on) or 'normal'}"


class Lease(models.Model):
    """A singleton job's lease. ``token`` only grows: every write of the holder is checked against it."""

    name = models.CharField(max_length=100, unique=True)
    holder = models.CharField(max_length=200, blank=True)
    token = models.BigIntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True)
    acquired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'} (token {self.token})"


class Heartbeat(models.Model):
    """Last sign of life of a worker kind (e.g. the dispatcher); /health/ reads it."""

    name = models.CharField(max_length=100, unique=True)
    worker = models.CharField(max_length=200)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name}: {self.worker} at {self.beat_at:%Y-%m-%d %H:%M:%S}"


class TickLedger(models.Model):
    """A row per tick that did work or failed; idle ticks write nothing."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="ticks")
    slot = models.BigIntegerField(help_text="Seconds since the epoch ÷ tick interval.")
    action = models.ForeignKey(Action, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ok = models.BooleanField(default=True)
    enqueued = models.PositiveIntegerField(default=0)
    detail = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["campaign", "slot"], name="tick_unique_slot")]

    def __str__(self) -> str:
        return f"tick {self.campaign_id}:{self.slot} ({'ok' if self.ok else 'failed'}, {self.enqueued} enqueued)"


class Event(models.Model):
    """Append-only touch/event log fed by every layer (sends, ESP events, clicks, captures, replies,
    conversions). Lives in the base app so lower apps can write it; analytics reads it.

    Other apps' rows are referenced by id (no FK): lower apps cannot point at higher ones, and an
    event must outlive the row it describes.
    """

    occurred_at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(
        max_length=40,
        help_text="e.g. post_published, email_sent, email_opened, click, lead_captured, reply, conversion",
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    channel = models.CharField(max_length=20, blank=True)
    lead_id = models.BigIntegerField(null=True, blank=True)
    target_id = models.BigIntegerField(null=True, blank=True, help_text="publishing.PublishTarget id")
    source = models.CharField(max_length=100, blank=True, help_text='Where it came from, e.g. "anymail:sendgrid".')
    # Unique through EventDedupe, not here: a partitioned table (PostgreSQL, by month of occurred_at)
    # can only enforce uniqueness of keys that include the partition key.
    dedupe_key = models.CharField(  # noqa: DJ001 - NULL: no key; "" would be one key shared by all
        max_length=255, null=True, blank=True, help_text="A replay is stored once."
    )
    value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["campaign", "occurred_at"], name="event_campaign_time"),
            models.Index(fields=["kind", "occurred_at"], name="event_kind_time"),
            models.Index(fields=["lead_id", "occurred_at"], name="event_lead_time", condition=Q(lead_id__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.occurred_at:%Y-%m-%d %H:%M}"


class EventDedupe(models.Model):
    """The one global uniqueness of the event log: a dedupe key names at most one event.

    campaigns/events.py writes it with the event, in one transaction; a replay collides here.
    """

    dedupe_key = models.CharField(max_length=255, primary_key=True)
    event_id = models.BigIntegerField()
    occurred_at = models.DateTimeField(help_text="The event's partition key, so finding it prunes partitions.")

    def __str__(self) -> str:
        return self.dedupe_key


# The HTTP API's tokens, idempotency records, throttle windows and outgoing webhooks (campaigns/models_api.py).
from .models_api import (  # noqa: E402, F401
    ApiToken,
    IdempotencyRecord,
    ThrottleWindow,
    WebhookAttempt,
    WebhookCursor,
    WebhookDelivery,
    WebhookSubscription,
)

"""Models of the HTTP API's plumbing: tokens, idempotency records, throttle windows, outgoing webhooks.

They live in the base app (no new top-level apps, DESIGN.md) and are imported by campaigns/models.py.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the secret is shown once, when it is created.

    Scopes: ``read`` (GET only), ``agent`` (read + drafting, queue, pause/kill; never approve, publish
    unapproved content, resume, unkill or LIVE), ``reviewer`` (read + approve/reject and the human-only
    switches, acting as ``user``, whose permissions still apply).
    """

    class Scope(models.TextChoices):
        READ = "read"
        AGENT = "agent"
        REVIEWER = "reviewer"

    name = models.CharField(max_length=100, help_text="Who uses it, e.g. 'autonomy layer (prod)'.")
    prefix = models.CharField(max_length=16, unique=True, editable=False, help_text="Public part, for lookup.")
    key_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list, help_text="Any of: read, agent, reviewer.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="Required for reviewer tokens: approvals are made as this person, with their permissions.",
    )
    rate_per_minute = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: API_THROTTLE_RATE.")
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def label(self) -> str:
        return f"api-token:{self.pk}"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class IdempotencyRecord(models.Model):
    """The first response to (owner, key), replayed to a retry with the same request fingerprint."""

    owner = models.CharField(max_length=64, help_text='"token:<id>" or "user:<id>".')
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    in_flight = models.BooleanField(default=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    locked_until = models.DateTimeField(help_text="An in-flight record older than this was abandoned by a crash.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key")]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"


class ThrottleWindow(models.Model):
    """Requests of one token in one fixed minute window (one upsert per request, shared by all processes)."""

    scope = models.CharField(max_length=64)
    window = models.BigIntegerField(help_text="Seconds since the epoch ÷ 60.")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "window"], name="throttle_scope_window")]

    def __str__(self) -> str:
        return f"{self.scope}@{self.window}: {self.count}"


class WebhookSubscription(models.Model):
    """Where state transitions are POSTed, signed in the Standard Webhooks format with ``secret``."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100, editable=False, help_text="whsec_<base64>; shown once.")
    event_types = models.JSONField(
        default=list,
        blank=True,
        help_text='Patterns such as "campaign.*" or "publishtarget.status.published"; empty = all.',
    )
    token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks", help_text="The client."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One event for one subscription; delivered by the ``deliver_webhook:<id>`` action."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    source = models.CharField(max_length=40, help_text='"audit:<id>" or "actionlog:<id>".')
    message_id = models.CharField(max_length=64, unique=True, help_text="webhook-id; the same on every retry.")
    event_type = models.CharField(max_length=100)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "source"], name="webhook_delivery_once"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription} ({self.status})"


class WebhookAttempt(models.Model):
    """Append-only: one row per HTTP attempt of a delivery."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_rows")
    attempt = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"attempt {self.attempt}: {self.status_code or self.error[:40]}"


class WebhookCursor(models.Model):
    """How far the webhook scan has read the audit trail and the action log."""

    name = models.CharField(max_length=40, unique=True)
    scanned_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} until {self.scanned_until}"

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from campaigns.channels import SOCIAL_CHANNELS, Channel
from campaigns.hashing import content_sha256

from .adapters.base import Credentials
from .crypto import EncryptedTextField
from .validators import validate_json_object, validate_media_urls, validate_schedule_time

PLATFORM_CHOICES = [(c.value, c.label) for c in Channel if c.value in SOCIAL_CHANNELS]


class SocialAccount(models.Model):
    """One identity on one platform, with its OAuth tokens encrypted at rest (publishing/crypto.py).

    ``token_status`` is written only by publishing.accounts (compare-and-set + audit row).
    Expiry and scopes are not secrets and stay in clear, so the refresher can query them.
    """

    class TokenStatus(models.TextChoices):
        HEALTHY = "healthy"
        EXPIRING = "expiring"  # a refresh is due or under way
        REFRESHED = "refreshed"  # healthy again after a refresh
        REFRESH_FAILED = "refresh_failed"  # transient: retried; the old refresh token is kept
        REVOKED = "revoked"  # needs a human to reconnect

    TS = TokenStatus
    TRANSITIONS: dict[str, set[str]] = {
        TS.HEALTHY: {TS.EXPIRING, TS.REVOKED},
        TS.EXPIRING: {TS.REFRESHED, TS.REFRESH_FAILED, TS.REVOKED, TS.HEALTHY},
        TS.REFRESHED: {TS.EXPIRING, TS.REVOKED},
        TS.REFRESH_FAILED: {TS.EXPIRING, TS.REVOKED, TS.HEALTHY},
        TS.REVOKED: {TS.HEALTHY},  # reconnected through the connect flow
    }

    platform = models.CharField(max_length=20, choices=PLATFORM_CHOICES)
    handle = models.CharField(max_length=200)
    external_id = models.CharField(max_length=200, help_text="The platform's id: user id, URN, page id or DID.")
    display_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Secrets: never in the admin, the API, logs or artifacts.
    access_token = EncryptedTextField(blank=True, editable=False)
    refresh_token = EncryptedTextField(blank=True, editable=False)
    token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    scopes = models.JSONField(default=list, blank=True, editable=False)
    token_status = models.CharField(
        max_length=20, choices=TokenStatus.choices, default=TokenStatus.HEALTHY, editable=False, db_index=True
    )
    token_refreshed_at = models.DateTimeField(null=True, blank=True, editable=False)
    token_error = models.TextField(blank=True, editable=False)
    extra = models.JSONField(
        default=dict,
        blank=True,
        help_text="Non-secret platform data the adapter needs (e.g. instance_url).",
        validators=[validate_json_object],
    )

    class Meta:
        ordering = ["platform", "handle"]
        constraints = [models.UniqueConstraint(fields=["platform", "external_id"], name="account_unique_external_id")]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} {self.handle}"

    def credentials(self) -> Credentials:
        """What the adapter needs to act as this account, tokens decrypted (keep it out of logs)."""
        return Credentials(
            account_id=self.external_id,
            access_token=self.access_token,
            refresh_token=self.refresh_token,
            handle=self.handle,
            extra={str(k): str(v) for k, v in (self.extra or {}).items()},
            expires_at=self.token_expires_at,
            scopes=tuple(self.scopes or ()),
        )


class MastodonApp(models.Model):
    """Our OAuth app on one Mastodon instance (POST /api/v1/apps), registered once and reused."""

    instance_url = models.URLField(unique=True)
    client_id = models.CharField(max_length=200)
    client_secret = EncryptedTextField(blank=True, editable=False)
    redirect_uri = models.URLField(max_length=500)
    scopes = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.instance_url


class Post(models.Model):
    """Content for one or more accounts. Its status is the review lifecycle; each target carries its publication."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        PENDING_REVIEW = "pending_review"
        APPROVED = "approved"
        REJECTED = "rejected"
        SCHEDULED = "scheduled"

    S = Status
    TRANSITIONS: dict[str, set[str]] = {
        S.DRAFT: {S.PENDING_REVIEW},
        # pending_review → draft: the reviewer asked for changes.
        S.PENDING_REVIEW: {S.APPROVED, S.REJECTED, S.DRAFT},
        S.REJECTED: {S.DRAFT},
        # approved/scheduled → pending_review: an edit voids the approval, or the approval expired.
        S.APPROVED: {S.SCHEDULED, S.PENDING_REVIEW},
        S.SCHEDULED: {S.PENDING_REVIEW},
    }

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200, help_text="Internal label; never published.")
    body = models.TextField()
    media_urls = models.JSONField(default=list, blank=True, validators=[validate_media_urls])
    link_url = models.URLField(blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True, help_text="Empty: as soon as approved.",
                                        validators=[validate_schedule_time])  # fmt: skip
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    content_sha256 = models.CharField(max_length=64, editable=False)
    approved_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    approved_at = models.DateTimeField(null=True, blank=True, editable=False)
    approval_seq = models.PositiveIntegerField(default=0, editable=False, help_text="Raised by every approval.")
    rejection_reason = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("approve_post", "Can approve or reject posts")]

    def __str__(self) -> str:
        return self.title

    def approved_content(self) -> dict:
        """Exactly what goes out (text, media, link): what an approval is bound to."""
        return {"body": self.body, "media_urls": list(self.media_urls), "link_url": self.link_url}

    def compute_sha256(self) -> str:
        return content_sha256(self.approved_content())

    @property
    def approval_is_current(self) -> bool:
        return (
            self.status in (self.S.APPROVED, self.S.SCHEDULED)
            and bool(self.approved_sha256)
            and self.approved_sha256 == self.compute_sha256()
        )


class PublishTarget(models.Model):
    """One account of one post: published, failed or retried on its own."""

    class Status(models.TextChoices):
        PENDING = "pending"  # waiting for approval / scheduling
        SCHEDULED = "scheduled"
        PUBLISHING = "publishing"  # attempt started: the call may be in flight
        PUBLISHED = "published"
        FAILED = "failed"
        NEEDS_RECONCILE = "needs_reconcile"
        CANCELLED = "cancelled"

    S = Status
    TRANSITIONS: dict[str, set[str]] = {
        S.PENDING: {S.SCHEDULED, S.CANCELLED},
        S.SCHEDULED: {S.PUBLISHING, S.PENDING, S.CANCELLED},
        # publishing → scheduled only when the platform said "later" (retry-after) before accepting anything.
        S.PUBLISHING: {S.PUBLISHED, S.FAILED, S.NEEDS_RECONCILE, S.SCHEDULED},
        S.NEEDS_RECONCILE: {S.PUBLISHED, S.SCHEDULED, S.FAILED},
        S.FAILED: {S.SCHEDULED, S.PENDING, S.CANCELLED},
        S.PUBLISHED: set(),
        S.CANCELLED: set(),
    }

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="targets")
    account = models.ForeignKey(SocialAccount, on_delete=models.PROTECT, related_name="targets")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField(null=True, blank=True, help_text="When it should go out (UTC); set when scheduled.")
    platform_post_id = models.CharField(max_length=200, blank=True)
    platform_url = models.URLField(blank=True)
    published_sha256 = models.CharField(max_length=64, blank=True, help_text="Content hash that went out.")
    artifact_path = models.CharField(max_length=500, blank=True)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempt_started_at = models.DateTimeField(null=True, blank=True, help_text="Start of the last publish attempt.")
    generation = models.PositiveIntegerField(
        default=0, help_text="Raised each time the target is armed again after a failure or a reconciliation."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["post", "id"]
        constraints = [models.UniqueConstraint(fields=["post", "account"], name="target_unique_account")]
        indexes = [
            models.Index(fields=["status"], name="target_open", condition=~Q(status__in=["published", "cancelled"])),
            # The tick's due selection reads only this partial index.
            models.Index(fields=["due_at"], name="target_due", condition=Q(status="scheduled")),
        ]

    def __str__(self) -> str:
        return f"{self.post} → {self.account}"

    @property
    def platform(self) -> str:
        return self.account.platform


class RateBudget(models.Model):
    """What a platform last said about a budget: ``account:<pk>`` or ``app:<platform>`` (publishing/ratebudget.py).

    Written from every answer's rate-limit headers (last writer wins: the freshest answer is the
    best estimate); read before every LIVE call so a spent budget waits instead of failing.
    """

    scope = models.CharField(max_length=100, unique=True)
    limit = models.IntegerField(null=True, blank=True)
    remaining = models.IntegerField(null=True, blank=True)
    reset_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.scope}: {self.remaining}/{self.limit} until {self.reset_at}"

"""Outreach: leads, consent, suppressions, sending mailboxes, sequences, templates, attempts, ESP events.

Statuses move only through outreach.services (campaigns.audit.transition); the admin shows them read-only.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from email.headerregistry import Address

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from campaigns.hashing import content_sha256
from campaigns.models import validate_timezone
from publishing.crypto import EncryptedTextField

from .identity import lead_identity_sha256

# {{ name }} or {{ name|fallback text }}
PLACEHOLDER = re.compile(r"{{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:\|([^}]*))?}}")
TEMPLATE_VARIABLES = {
    "name": "the lead's full name",
    "first_name": "first word of the name",
    "last_name": "rest of the name",
    "company": "company",
    "role": "role",
    "email": "email address",
    "campaign": "campaign name",
    "sender_name": "the sending mailbox's display name",
    "unsubscribe_url": "the lead's one-click unsubscribe page",
}


def validate_send_days(value: object) -> None:
    if not isinstance(value, list) or not value or any(d not in range(7) for d in value):
        raise ValidationError("a non-empty list of weekdays, 0 = Monday … 6 = Sunday")


class Lead(models.Model):
    """A person we may contact. One identity hash per person (see identity.py)."""

    class Status(models.TextChoices):
        NEW = "new"
        CONTACTED = "contacted"
        REPLIED = "replied"
        QUALIFIED = "qualified"
        LOST = "lost"
        UNSUBSCRIBED = "unsubscribed"
        BOUNCED = "bounced"
        SUPPRESSED = "suppressed"

    class Consent(models.TextChoices):
        UNKNOWN = "unknown", "Unknown (legitimate interest)"
        PENDING = "pending", "Pending double opt-in"
        GRANTED = "granted"
        WITHDRAWN = "withdrawn"
        DNC = "dnc", "Do not contact"

    S = Status
    CONTACT_TERMINAL = {S.UNSUBSCRIBED, S.BOUNCED, S.SUPPRESSED}
    CONTACTABLE = {S.NEW, S.CONTACTED}
    TRANSITIONS: dict[str, set[str]] = {
        S.NEW: {S.CONTACTED, S.REPLIED, S.LOST, *CONTACT_TERMINAL},
        S.CONTACTED: {S.REPLIED, S.LOST, *CONTACT_TERMINAL},
        S.REPLIED: {S.QUALIFIED, S.LOST, *CONTACT_TERMINAL},
        S.QUALIFIED: {S.LOST, *CONTACT_TERMINAL},
        S.LOST: {*CONTACT_TERMINAL},
        # A GDPR erase ends any contact state in "suppressed".
        S.UNSUBSCRIBED: {S.SUPPRESSED},
        S.BOUNCED: {S.SUPPRESSED},
        S.SUPPRESSED: set(),
    }
    NO_CONTACT_CONSENT = {Consent.PENDING, Consent.WITHDRAWN, Consent.DNC}

    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    name = models.CharField(max_length=200, blank=True)
    company = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True, help_text="Stored lower-case (normalised); match it with =, not iexact.")
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +493012345678")
    linkedin_url = models.URLField(blank=True)
    timezone = models.CharField(max_length=64, blank=True, validators=[validate_timezone],
                                help_text="IANA name; empty = the campaign's time zone.")  # fmt: skip
    source_channel = models.CharField(max_length=40, blank=True, help_text="capture, csv, api, manual, …")
    source_ref = models.CharField(max_length=255, blank=True, help_text="Form, file or list it came from.")
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    utm_term = models.CharField(max_length=200, blank=True)
    utm_content = models.CharField(max_length=200, blank=True)
    referrer = models.CharField(max_length=1000, blank=True)
    consent_status = models.CharField(max_length=10, choices=Consent.choices, default=Consent.UNKNOWN)
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_source = models.CharField(max_length=255, blank=True)
    consent_text = models.TextField(blank=True, help_text="The exact text the person agreed to.")
    tags = models.JSONField(default=list, blank=True)
    enrichment = models.JSONField(default=dict, blank=True)
    score = models.IntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    identity_sha256 = models.CharField(max_length=64, editable=False)
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        # Few indexes on purpose: bulk imports pay for each one. A UniqueConstraint (unlike unique=True)
        # adds no varchar_pattern_ops twin; status is too coarse to be worth an index.
        constraints = [models.UniqueConstraint(fields=["identity_sha256"], name="lead_unique_identity")]
        indexes = [models.Index(fields=["email"], name="lead_email")]

    def __str__(self) -> str:
        return self.name or self.email or f"lead {self.pk}"

    def compute_identity(self) -> str:
        return lead_identity_sha256(email=self.email, phone=self.phone, linkedin_url=self.linkedin_url)

    def clean(self) -> None:
        if not isinstance(self.tags, list) or not all(isinstance(t, str) for t in self.tags):
            raise ValidationError({"tags": "must be a list of strings"})
        if not isinstance(self.enrichment, dict):
            raise ValidationError({"enrichment": "must be a JSON object"})

    @property
    def first_name(self) -> str:
        return self.name.split(" ", 1)[0] if self.name else ""

    @property
    def last_name(self) -> str:
        return self.name.split(" ", 1)[1] if " " in self.name else ""


class Suppression(models.Model):
    """Who must never be contacted again, on any campaign and channel. Checked by every gate call."""

    class Kind(models.TextChoices):
        EMAIL = "email"
        DOMAIN = "domain"
        IDENTITY = "identity", "Identity hash"

    class Reason(models.TextChoices):
        UNSUBSCRIBE = "unsubscribe"
        COMPLAINT = "complaint"
        HARD_BOUNCE = "hard_bounce"
        DNC_IMPORT = "dnc_import", "DNC list import"
        MANUAL = "manual"
        GDPR_ERASE = "gdpr_erase"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.CharField(max_length=320, help_text="Lower-case email, domain, or SHA-256 identity hash.")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    source = models.CharField(max_length=255, blank=True)
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Where it came from; a suppression applies to every campaign.",
    )  # fmt: skip
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="suppression_unique_value")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value} ({self.reason})"


class Mailbox(models.Model):
    """A sending identity of one campaign with its own caps and warm-up ramp; sends rotate over them."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="mailboxes")
    from_email = models.EmailField()
    from_name = models.CharField(max_length=200, blank=True)
    reply_to = models.EmailField(blank=True)
    daily_cap = models.PositiveIntegerField(default=40)
    hourly_cap = models.PositiveIntegerField(default=10)
    warmup_start = models.PositiveIntegerField(default=5, help_text="Cap on the first day; 0 = no ramp.")
    warmup_step = models.PositiveIntegerField(default=5, help_text="Added each day until daily_cap.")
    warmup_started_on = models.DateField(default=timezone.localdate)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "mailboxes"
        constraints = [models.UniqueConstraint(fields=["campaign", "from_email"], name="mailbox_unique_address")]

    def __str__(self) -> str:
        return self.from_header()

    def from_header(self) -> str:
        """The From address, the name quoted where it needs it: "Acme, Inc." unquoted would read as two addresses."""
        if not self.from_name:
            return self.from_email
        username, _, domain = self.from_email.rpartition("@")  # parts, not addr_spec: that one is parsed strictly
        # Whitespace collapsed: a line break in a header value would be refused (or worse, injected).
        return str(Address(display_name=" ".join(self.from_name.split()), username=username, domain=domain))

    def clean(self) -> None:
        if self.hourly_cap > self.daily_cap:
            raise ValidationError({"hourly_cap": "cannot exceed daily_cap"})

    def cap_on(self, day) -> int:
        """Today's daily cap with the warm-up ramp applied."""
        if not self.warmup_start:
            return self.daily_cap
        days = max(0, (day - self.warmup_started_on).days)
        return min(self.daily_cap, self.warmup_start + self.warmup_step * days)


class Template(models.Model):
    """An email (or manual task) text with ``{{ variables }}``. Approval is bound to its SHA-256."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        PENDING_REVIEW = "pending_review"
        APPROVED = "approved"
        REJECTED = "rejected"

    S = Status
    TRANSITIONS: dict[str, set[str]] = {
        S.DRAFT: {S.PENDING_REVIEW},
        S.PENDING_REVIEW: {S.APPROVED, S.REJECTED, S.DRAFT},  # → draft: the reviewer asked for changes
        S.REJECTED: {S.DRAFT},
        S.APPROVED: {S.PENDING_REVIEW},  # an edit voids the approval
    }

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="outreach_templates")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    content_sha256 = models.CharField(max_length=64, editable=False)
    approved_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    approved_at = models.DateTimeField(null=True, blank=True, editable=False)
    rejection_reason = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [("approve_template", "Can approve or reject outreach templates")]
        constraints = [models.UniqueConstraint(fields=["campaign", "name"], name="template_unique_name")]

    def __str__(self) -> str:
        return self.name

    def compute_sha256(self) -> str:
        return content_sha256({"subject": self.subject, "text": self.body_text, "html": self.body_html})

    def clean(self) -> None:
        errors = {}
        for field in ("subject", "body_text", "body_html"):
            unknown = sorted({m.group(1) for m in PLACEHOLDER.finditer(getattr(self, field))} - set(TEMPLATE_VARIABLES))
            if unknown:
                errors[field] = (
                    f"unknown placeholder(s) {', '.join('{{ ' + u + ' }}' for u in unknown)}; "
                    f"known: {', '.join(sorted(TEMPLATE_VARIABLES))}"
                )
            if "{{" in getattr(self, field) and getattr(self, field).count("{{") != len(
                PLACEHOLDER.findall(getattr(self, field))
            ):
                errors.setdefault(field, "a '{{' is not closed as {{ name }} or {{ name|fallback }}")
        if errors:
            raise ValidationError(errors)

    @property
    def approval_is_current(self) -> bool:
        return (
            self.status == self.S.APPROVED
            and bool(self.approved_sha256)
            and self.approved_sha256 == self.compute_sha256()
        )


class Sequence(models.Model):
    """Ordered steps sent to enrolled leads, inside a weekly send window in the lead's time zone."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="sequences")
    name = models.CharField(max_length=200)
    send_days = models.JSONField(default=list, validators=[validate_send_days],
                                 help_text="Weekdays, 0 = Monday; e.g. [0, 1, 2, 3, 4].")  # fmt: skip
    window_start = models.TimeField(default=datetime.time(9, 0))
    window_end = models.TimeField(default=datetime.time(17, 0))
    timeout_days = models.PositiveIntegerField(default=60, help_text="Stop an enrollment this long after it began.")
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "name"], name="sequence_unique_name")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.send_days:
            self.send_days = [0, 1, 2, 3, 4]
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.window_start and self.window_end and self.window_end <= self.window_start:
            raise ValidationError({"window_end": "must be after window_start (same day)"})


class SequenceStep(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email"
        MANUAL = "manual", "Manual task (e.g. LinkedIn message)"

    class Condition(models.TextChoices):
        ALWAYS = "always"
        NO_REPLY = "no_reply", "No reply yet"
        OPENED = "opened", "Previous email opened"
        CLICKED = "clicked", "Previous email clicked"

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    wait_hours = models.PositiveIntegerField(default=0, help_text="After the previous step (or enrollment).")
    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="steps")
    condition = models.CharField(max_length=10, choices=Condition.choices, default=Condition.NO_REPLY)

    class Meta:
        ordering = ["sequence", "position"]
        constraints = [models.UniqueConstraint(fields=["sequence", "position"], name="step_unique_position")]

    def __str__(self) -> str:
        return f"{self.sequence} #{self.position}"


class Enrollment(models.Model):
    """A lead in a sequence. ``next_due_at`` (UTC) is the due time of step ``next_position``."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        COMPLETED = "completed"
        STOPPED = "stopped"

    S = Status
    TRANSITIONS: dict[str, set[str]] = {S.ACTIVE: {S.COMPLETED, S.STOPPED}, S.COMPLETED: set(), S.STOPPED: set()}

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="enrollments")
    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="enrollments")
    # Denormalised from sequence.campaign: the producer's due query reads one partial index.
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+", db_index=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    next_position = models.PositiveIntegerField(default=1)
    next_due_at = models.DateTimeField(null=True, blank=True)
    last_touch_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lead", "sequence"], name="enrollment_unique_lead")]
        indexes = [
            models.Index(fields=["campaign", "next_due_at", "id"], name="enrollment_due", condition=Q(status="active")),
        ]

    def __str__(self) -> str:
        return f"{self.lead} in {self.sequence} (step {self.next_position})"


class SendAttempt(models.Model):
    """One outbound touch. Written BEFORE the call, in the transaction that reserved the cap slot;
    caps are counted from these rows. The result is written after the call."""

    class Status(models.TextChoices):
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        NEEDS_RECONCILE = "needs_reconcile"

    S = Status
    COUNTED = (S.SENDING, S.SENT, S.NEEDS_RECONCILE)
    TRANSITIONS: dict[str, set[str]] = {
        S.SENDING: {S.SENT, S.FAILED, S.NEEDS_RECONCILE},
        S.NEEDS_RECONCILE: {S.SENT, S.FAILED},
        S.SENT: set(),
        S.FAILED: set(),
    }

    idempotency_key = models.CharField(max_length=255, unique=True, help_text="<action key>:<attempt number>")
    action_key = models.CharField(
        max_length=255, blank=True, default="", db_index=True, help_text="The send action's key."
    )
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+", db_index=False)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="attempts", db_index=False)
    step = models.ForeignKey(SequenceStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="attempts",
                                db_index=False)  # fmt: skip
    channel = models.CharField(max_length=20, default="email")
    to_email = models.EmailField(blank=True)
    subject = models.CharField(max_length=300, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    message_id = models.CharField(max_length=255, blank=True, db_index=True, help_text="Our Message-ID, no <>.")
    esp_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SENDING)
    error = models.TextField(blank=True)
    error_class = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["mailbox", "created_at"], name="attempt_mailbox_time"),
            models.Index(fields=["campaign", "channel", "created_at"], name="attempt_campaign_time"),
            models.Index(fields=["lead", "channel", "created_at"], name="attempt_lead_time"),
            models.Index(fields=["to_email", "created_at"], name="attempt_to_email"),
        ]

    def __str__(self) -> str:
        return f"{self.idempotency_key} ({self.status})"


class OutreachTask(models.Model):
    """A manual step (a channel without an API, e.g. a LinkedIn message) for a person to do."""

    class Status(models.TextChoices):
        OPEN = "open"
        DONE = "done"
        SKIPPED = "skipped"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="tasks")
    step = models.ForeignKey(SequenceStep, on_delete=models.CASCADE, related_name="tasks")
    text = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lead", "step"], name="task_unique_step")]

    def __str__(self) -> str:
        return f"task for {self.lead} ({self.status})"


class CaptureForm(models.Model):
    """Public capture endpoint settings of one campaign (``/capture/<campaign-slug>/``)."""

    campaign = models.OneToOneField("campaigns.Campaign", on_delete=models.CASCADE, related_name="capture_form")
    enabled = models.BooleanField(default=True)
    title = models.CharField(max_length=200, default="Stay in touch")
    consent_text = models.TextField(
        default="I agree to receive emails about this offer and can unsubscribe at any time."
    )
    double_opt_in = models.BooleanField(default=False)
    rate_limit_per_hour = models.PositiveIntegerField(default=20, help_text="Submissions per IP address.")
    sequence = models.ForeignKey(Sequence, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 help_text="Enroll confirmed leads here.")  # fmt: skip

    def __str__(self) -> str:
        return f"capture form of {self.campaign}"


class EspEvent(models.Model):
    """An ESP webhook event, stored raw before anything else; (esp, event_id) makes a replay a no-op."""

    class Kind(models.TextChoices):
        TRACKING = "tracking"
        INBOUND = "inbound"

    esp = models.CharField(max_length=40)
    event_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    event_type = models.CharField(max_length=40)
    message_id = models.CharField(max_length=255, blank=True)
    recipient = models.CharField(max_length=320, blank=True)
    payload = models.JSONField(default=dict, help_text="What anymail normalised plus the raw ESP event.")
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["esp", "event_id"], name="espevent_unique_id")]

    def __str__(self) -> str:
        return f"{self.esp}:{self.event_type}:{self.event_id}"


class Reply(models.Model):
    class Label(models.TextChoices):
        POSITIVE = "positive"
        NEUTRAL = "neutral"
        NEGATIVE = "negative"
        OUT_OF_OFFICE = "out_of_office"
        AUTO_REPLY = "auto_reply"
        BOUNCE = "bounce"
        UNSUBSCRIBE = "unsubscribe"

    event = models.OneToOneField(EspEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="reply")
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    attempt = models.ForeignKey(SendAttempt, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    matched_by = models.CharField(max_length=20, blank=True, help_text="message_id, address or empty")
    from_email = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    text = models.TextField(blank=True)
    label = models.CharField(max_length=20, choices=Label.choices)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "replies"

    def __str__(self) -> str:
        return f"{self.label} reply from {self.from_email}"


def lead_tz(lead: Lead, campaign) -> zoneinfo.ZoneInfo:
    """The lead's time zone, else the campaign's."""
    return zoneinfo.ZoneInfo(lead.timezone or campaign.timezone or "UTC")


class ImapInbox(models.Model):
    """A mailbox whose replies we read over IMAP: the alternative to an ESP's inbound webhook.

    The cursor (uidvalidity, last_uid) is written only by outreach.imap_poll, which moves it with a
    compare-and-set in the same transaction that stores the messages it covers.
    """

    class Security(models.TextChoices):
        SSL = "ssl", "IMAPS (TLS from the first byte, port 993)"
        STARTTLS = "starttls", "STARTTLS (upgrade on port 143)"
        PLAIN = "plain", "None (loopback or a trusted network only)"

    name = models.CharField(max_length=100, unique=True)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=993, validators=[MinValueValidator(1), MaxValueValidator(65535)])
    security = models.CharField(max_length=10, choices=Security.choices, default=Security.SSL)
    username = models.CharField(max_length=320)
    password = EncryptedTextField(blank=True, editable=False)
    folder = models.CharField(max_length=200, default="INBOX")
    enabled = models.BooleanField(default=True)
    uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False,
                                         help_text="The folder's UIDVALIDITY when the cursor was last moved.")  # fmt: skip
    last_uid = models.BigIntegerField(default=0, editable=False, help_text="Highest UID already stored.")
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=500, blank=True, editable=False)
    messages_stored = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "IMAP inbox"
        verbose_name_plural = "IMAP inboxes"

    def __str__(self) -> str:
        return f"{self.name} ({self.username}@{self.host})"

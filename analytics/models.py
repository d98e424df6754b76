"""Analytics tables: tracked links, metric snapshots, daily rollups, attribution, spend, rules.

The event log itself (``campaigns.Event``) lives in the base app so every layer can append to it;
these tables are derived from it (rollups, attribution) or feed it (links, conversions).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from campaigns.channels import Channel


class TrackedLink(models.Model):
    """A short code that redirects to one stored destination (UTM already merged in).

    One row per (campaign, channel, target or email step, destination): the same link in the same
    place is rewritten to the same code. The lead is never stored here; emails carry it in a signed
    ``t`` token per recipient, so one row serves every recipient of a step.
    """

    code = models.CharField(max_length=32, unique=True)
    destination = models.URLField(max_length=2000, help_text="Where /c/<code> redirects; never taken from the request.")
    destination_sha256 = models.CharField(max_length=64, editable=False)
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=20)
    target = models.ForeignKey(
        "publishing.PublishTarget", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    post = models.ForeignKey("publishing.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    email_step = models.CharField(max_length=100, blank=True, help_text="Sequence step for email links.")
    utm = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "channel", "target", "post", "email_step", "destination_sha256"],
                name="trackedlink_unique_place",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"/c/{self.code} → {self.destination}"


class MetricSnapshot(models.Model):
    """What a platform said about one published target on one day (UTC).

    Platforms give running totals, so the day's row holds the latest reading of that day: hourly
    fetches in the first 48 hours overwrite it, daily fetches up to day 30 write one row a day.
    """

    target = models.ForeignKey("publishing.PublishTarget", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    impressions = models.BigIntegerField(default=0)
    likes = models.BigIntegerField(default=0)
    replies = models.BigIntegerField(default=0)
    reposts = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True, help_text="Everything the platform returned.")
    fetched_at = models.DateTimeField()
    fetch_count = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["target", "day"], name="snapshot_unique_day")]
        indexes = [models.Index(fields=["day"], name="snapshot_day")]

    def __str__(self) -> str:
        return f"target {self.target_id} on {self.day}"


class DailyMetric(models.Model):
    """One day of one campaign on one channel, rolled up from the event log (analytics/rollups.py).

    ``channel = "all"`` is the campaign's total (the old ``campaign_metrics``); other rows are the old
    ``channel_metrics``. Lead counts are distinct leads, so the total is not the sum of its channels.
    Written only by the rollup's SQL; never edit by hand (a re-run would undo it).
    """

    ALL = "all"

    day = models.DateField()
    # No database FK: a derived row, rebuilt at will; the per-row RI check cost more than the rollup.
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    channel = models.CharField(max_length=20)
    leads_targeted = models.IntegerField(default=0, help_text="Distinct leads with any touch that day.")
    leads_contacted = models.IntegerField(default=0, help_text="Distinct leads sent something.")
    leads_responded = models.IntegerField(default=0, help_text="Distinct leads who replied.")
    leads_qualified = models.IntegerField(default=0, help_text="Distinct leads qualified or converted.")
    leads_captured = models.IntegerField(default=0)
    posts_published = models.IntegerField(default=0)
    sends = models.IntegerField(default=0)
    delivered = models.IntegerField(default=0)
    opens = models.IntegerField(default=0)
    clicks = models.IntegerField(default=0, help_text="People only: preview bots and prefetchers are left out.")
    replies = models.IntegerField(default=0)
    bounces = models.IntegerField(default=0)
    complaints = models.IntegerField(default=0)
    unsubscribes = models.IntegerField(default=0)
    conversions = models.IntegerField(default=0)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    spend = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "campaign dashboard"
        verbose_name_plural = "campaign dashboard"
        # Also the index of (campaign, day range) reads.
        constraints = [models.UniqueConstraint(fields=["campaign", "day", "channel"], name="dailymetric_unique")]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.channel} on {self.day}"

    @staticmethod
    def ratio(part: float, whole: float) -> float | None:
        return round(part / whole, 4) if whole else None

    @property
    def open_rate(self) -> float | None:
        return self.ratio(self.opens, self.sends)

    @property
    def click_rate(self) -> float | None:
        return self.ratio(self.clicks, self.sends)

    @property
    def reply_rate(self) -> float | None:
        return self.ratio(self.replies, self.sends)

    @property
    def bounce_rate(self) -> float | None:
        return self.ratio(self.bounces, self.sends)

    @property
    def roi(self) -> float | None:
        return self.ratio(float(self.revenue - self.spend), float(self.spend))


class SpendEntry(models.Model):
    """Money spent on a campaign's channel on a day (ads, tools, freelancers), entered in the admin."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    day = models.DateField()
    amount = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "spend entries"
        indexes = [models.Index(fields=["campaign", "day"], name="spend_campaign_day")]

    def __str__(self) -> str:
        return f"{self.amount} on {self.campaign_id}/{self.channel} {self.day}"


class RollupState(models.Model):
    """How far the incremental rollup has read the event log, and days it must redo (spend edits)."""

    name = models.CharField(max_length=40, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at event {self.last_event_id}"


class DirtyDay(models.Model):
    """A (campaign, day) whose rollup must be redone although no event arrived (spend changed)."""

    campaign_id = models.BigIntegerField()
    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign_id", "day"], name="dirtyday_unique")]

    def __str__(self) -> str:
        return f"{self.campaign_id} on {self.day}"


class AttributionModel(models.TextChoices):
    FIRST_TOUCH = "first_touch", "First touch"
    LAST_TOUCH = "last_touch", "Last touch"
    LINEAR = "linear", "Linear"
    TIME_DECAY = "time_decay", "Time decay"
    POSITION_BASED = "position_based", "Position-based (40/20/40)"


class Conversion(models.Model):
    """A lead qualified or won, with its value. Recording one appends a ``conversion`` event, which
    is what rollups (revenue) and attribution read."""

    class Kind(models.TextChoices):
        QUALIFIED = "qualified"
        WON = "won"

    lead = models.ForeignKey("outreach.Lead", on_delete=models.PROTECT, related_name="+")
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.WON)
    value = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])
    occurred_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    event_id = models.BigIntegerField(null=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value} (lead {self.lead_id})"


class AttributionCredit(models.Model):
    """Credit for conversions of one day, given by one model to one campaign/channel/post target.

    ``credit`` is a share of conversions (sums to the day's conversions per model), ``revenue`` the
    same share of their value. Written only by analytics/attribution.py.
    """

    model = models.CharField(max_length=20, choices=AttributionModel.choices)
    day = models.DateField(help_text="Day of the conversion (UTC).")
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    channel = models.CharField(max_length=20)
    target_id = models.BigIntegerField(null=True, blank=True, help_text="publishing.PublishTarget id of the touch.")
    credit = models.FloatField()
    revenue = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model", "day", "campaign", "channel", "target_id"],
                name="attribution_unique",
                nulls_distinct=False,
            )
        ]
        # The unique index (model, day, …) serves the reads too: one index less to maintain per write.

    def __str__(self) -> str:
        return f"{self.model} {self.day} {self.campaign_id}/{self.channel}: {self.credit:.3f}"


class FeedbackRule(models.Model):
    """A per-campaign rule evaluated after each rollup (analytics/feedback.py).

    A rule fires once when its condition becomes true and re-arms when it is false again. Pausing
    and completing go through the campaign services (audit row on the campaign); every firing also
    writes an ``Alert`` and an audit row on the rule.
    """

    class Kind(models.TextChoices):
        BOUNCE_RATE_ABOVE = "bounce_rate_above", "Bounce rate above threshold"
        COMPLAINT_RATE_ABOVE = "complaint_rate_above", "Complaint rate above threshold"
        REPLY_RATE_BELOW = "reply_rate_below", "Reply rate below threshold"
        TARGET_CLIENTS_REACHED = "target_clients_reached", "Target clients reached"

    class Act(models.TextChoices):
        ALERT = "alert", "Alert the owner"
        PAUSE = "pause", "Pause the campaign and alert"
        COMPLETE = "complete", "Complete the campaign and alert"

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    threshold = models.DecimalField(
        max_digits=8, decimal_places=4, null=True, blank=True,
        help_text="A rate between 0 and 1 (0.05 = 5 %); for target clients, a number of clients "
        "(empty = the campaign's target_clients).",
    )  # fmt: skip
    min_sends = models.PositiveIntegerField(default=50, help_text="Rates are judged only after this many sends.")
    window_days = models.PositiveIntegerField(default=7, help_text="Rates over the last N days of rollups.")
    action = models.CharField(max_length=10, choices=Act.choices)
    enabled = models.BooleanField(default=True)
    fired_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_value = models.FloatField(null=True, blank=True, editable=False)
    last_evaluated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "kind"], name="feedbackrule_unique_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.get_action_display()} ({self.campaign_id})"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        rate = self.kind != self.Kind.TARGET_CLIENTS_REACHED
        if rate and (self.threshold is None or not 0 <= self.threshold <= 1):
            raise ValidationError({"threshold": "a rate rule needs a threshold between 0 and 1"})
        if not rate and self.threshold is not None and self.threshold < 1:
            raise ValidationError({"threshold": "a number of clients ≥ 1, or empty for the campaign's target"})


class Alert(models.Model):
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(FeedbackRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    message = models.TextField()
    emailed_to = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.message[:80]


class WeeklySummary(models.Model):
    """The attempt row of one weekly summary email: written before the send, so a crash never sends twice."""

    class Status(models.TextChoices):
        SENDING = "sending"
        SENT = "sent"

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    week = models.CharField(max_length=10, help_text="ISO week, e.g. 2026-W48")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENDING)
    recipient = models.EmailField()
    body = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "weekly summaries"
        constraints = [models.UniqueConstraint(fields=["campaign", "week"], name="weeklysummary_unique_week")]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.week}: {self.status}"

"""Analytics tables: tracked links, metric snapshots, daily rollups, attribution, spend, rules.

The event log itself (``campaigns.Event``) lives in the base app so every layer can append to it;
these tables are derived from it (rollups, attribution) or feed it (links, conversions).
"""

from __future__ import annotations

from django.db import models


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

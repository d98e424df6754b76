from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models


class ReviewItem(models.Model):
    """One row per reviewable artifact (post, campaign strategy, email template, …): the queue's index.

    Nothing imports review, so the owning apps cannot write here: the index is rebuilt from their
    durable status-change rows (the audit trail) by review.index, and the owning object stays the
    source of truth — decisions call the owning app's services.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.BigIntegerField()
    kind = models.CharField(max_length=30)
    title = models.CharField(max_length=300)
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    platforms = models.CharField(max_length=200, blank=True, help_text="Comma list of the platforms it goes to.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=20)
    submitted_at = models.DateTimeField(null=True, blank=True, help_text="When it last asked for review.")
    scheduled_at = models.DateTimeField(null=True, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    expired_reason = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["submitted_at", "id"]
        constraints = [models.UniqueConstraint(fields=["content_type", "object_id"], name="reviewitem_unique_object")]
        indexes = [
            models.Index(fields=["status", "submitted_at", "id"], name="reviewitem_queue"),
            models.Index(fields=["kind", "status"], name="reviewitem_kind"),
            models.Index(fields=["campaign", "status"], name="reviewitem_campaign"),
        ]
        permissions = [("review", "Can use the review queue")]
        verbose_name = "item to review"
        verbose_name_plural = "items to review"

    def __str__(self) -> str:
        return f"{self.kind}: {self.title}"


class ReviewCursor(models.Model):
    """How far review.index has read the audit trail."""

    name = models.CharField(max_length=50, unique=True)
    last_audit_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_audit_id}"

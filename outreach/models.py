from __future__ import annotations

from django.db import models

from .identity import lead_identity_sha256


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

    S = Status
    CONTACT_TERMINAL = {S.UNSUBSCRIBED, S.BOUNCED, S.SUPPRESSED}
    TRANSITIONS: dict[str, set[str]] = {
        S.NEW: {S.CONTACTED, S.LOST, *CONTACT_TERMINAL},
        S.CONTACTED: {S.REPLIED, S.LOST, *CONTACT_TERMINAL},
        S.REPLIED: {S.QUALIFIED, S.LOST, *CONTACT_TERMINAL},
        S.QUALIFIED: {S.LOST, *CONTACT_TERMINAL},
        S.LOST: {*CONTACT_TERMINAL},
        S.UNSUBSCRIBED: set(),
        S.BOUNCED: set(),
        S.SUPPRESSED: set(),
    }

    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    name = models.CharField(max_length=200, blank=True)
    company = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    linkedin_url = models.URLField(blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW, db_index=True)
    identity_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name or self.email or f"lead {self.pk}"

    def compute_identity(self) -> str:
        return lead_identity_sha256(email=self.email, linkedin_url=self.linkedin_url)

"""The channels a campaign can use. Social channels each have a publishing adapter."""

from django.db import models


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    X = "x", "X"
    LINKEDIN = "linkedin", "LinkedIn"
    INSTAGRAM = "instagram", "Instagram"
    FACEBOOK = "facebook", "Facebook Page"
    BLUESKY = "bluesky", "Bluesky"
    MASTODON = "mastodon", "Mastodon"


SOCIAL_CHANNELS = tuple(c.value for c in Channel if c != Channel.EMAIL)

"""Whether a campaign may act for real. LIVE needs both the global and the campaign's own switch."""

from __future__ import annotations

from django.conf import settings

from .models import Campaign, Mode


def is_live(campaign: Campaign) -> bool:
    return settings.PUBLISHING_MODE == Mode.LIVE and campaign.mode == Mode.LIVE

"""Which adapter class serves which platform. Kept as data so a test can see them all."""

from __future__ import annotations

from django.utils.module_loading import import_string

from .base import Adapter

ADAPTER_CLASSES: dict[str, str] = {
    "x": "publishing.adapters.x.XAdapter",
    "linkedin": "publishing.adapters.linkedin.LinkedInAdapter",
    "instagram": "publishing.adapters.instagram.InstagramAdapter",
    "facebook": "publishing.adapters.facebook.FacebookAdapter",
    "bluesky": "publishing.adapters.bluesky.BlueskyAdapter",
    "mastodon": "publishing.adapters.mastodon.MastodonAdapter",
}


def get_adapter(platform: str) -> Adapter:
    try:
        dotted = ADAPTER_CLASSES[platform]
    except KeyError:
        raise ValueError(f"platform: no adapter for {platform!r}") from None
    return import_string(dotted)()

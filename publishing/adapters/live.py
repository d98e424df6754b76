"""Common base of the platform adapters."""

from __future__ import annotations

from .base import HttpRequest, PermanentError, PublishRequest, PublishResult


class LiveAdapter:
    platform = ""

    def build_publish_request(self, request: PublishRequest) -> HttpRequest:
        raise NotImplementedError

    def publish(self, request: PublishRequest) -> PublishResult:
        # LIVE calls arrive with the publishing-adapters work; until then LIVE refuses
        # loudly instead of pretending, and PROOF (proof.py) is the only way out.
        raise PermanentError(f"{self.platform}: live publishing is not available in this version; use PROOF mode")

"""A fake platform adapter offering fetch_metrics, registered for one test at a time."""

from __future__ import annotations

from typing import Any

from publishing.adapters.base import Credentials, RetryAfterError


class FakeMetricsAdapter:
    platform = "mastodon"
    calls: list[tuple[Credentials, list[str]]] = []
    answer: dict[str, dict[str, Any]] = {}
    error: Exception | None = None

    def fetch_metrics(self, credentials: Credentials, platform_post_ids: list[str]) -> dict[str, dict[str, Any]]:
        type(self).calls.append((credentials, list(platform_post_ids)))
        if type(self).error is not None:
            raise type(self).error
        return {pid: m for pid, m in type(self).answer.items() if pid in platform_post_ids}


def rate_limited(after: float) -> RetryAfterError:
    return RetryAfterError("429 Too Many Requests", retry_after=after, status=429)

"""Refresh every account whose token expires within TOKEN_REFRESH_AHEAD_SECONDS (publishing.accounts)."""

from django.core.management.base import BaseCommand

from publishing.accounts import accounts_refresh_due


class Command(BaseCommand):
    help = "Refresh access tokens ahead of expiry; revoked accounts are left for a human to reconnect."

    def handle(self, *args, **options) -> None:
        counts = accounts_refresh_due()
        self.stdout.write(", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing due")

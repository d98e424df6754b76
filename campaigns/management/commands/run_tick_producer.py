import time

from django.conf import settings
from django.core.management.base import BaseCommand

from campaigns.cli import check_range
from campaigns.dispatcher import default_worker_id
from campaigns.leases import LeaseLost, lease_acquire, lease_renew
from campaigns.ticks import LEASE_NAME, produce_ticks


class Command(BaseCommand):
    help = "Run the tick producer as a standalone singleton: take the lease, enqueue each slot's ticks, renew."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval-seconds", type=int, default=None, help="Slot length (TICK_INTERVAL_SECONDS).")
        parser.add_argument("--lease-seconds", type=float, default=None, help="Lease TTL (TICK_LEASE_SECONDS).")
        parser.add_argument("--holder", default="", help="Name in the lease (default host:pid).")
        parser.add_argument("--max-seconds", type=float, default=None, help="Stop after this long (tests, cron).")

    def handle(self, *args, interval_seconds, lease_seconds, holder, max_seconds, **options) -> None:
        # "is None", not "or": an explicit 0 is refused, not swapped for the default.
        interval = settings.TICK_INTERVAL_SECONDS if interval_seconds is None else interval_seconds
        ttl = settings.TICK_LEASE_SECONDS if lease_seconds is None else lease_seconds
        check_range("--interval-seconds", interval, 1, 86_400)
        check_range("--lease-seconds", ttl, 0.1, 86_400)
        check_range("--max-seconds", max_seconds, 0.001, 10**9)
        holder = holder or f"producer:{default_worker_id()}"
        deadline = time.monotonic() + max_seconds if max_seconds else None
        handle = None
        while deadline is None or time.monotonic() < deadline:
            if handle is None:
                handle = lease_acquire(name=LEASE_NAME, holder=holder, ttl_seconds=ttl)
                if handle:
                    self.stdout.write(f"{holder}: leader with token {handle.token}", ending="\n")
            if handle is not None:
                try:
                    # Write first, then renew: a holder resumed after a stop must be refused by the fence itself.
                    count = produce_ticks(handle=handle, interval_seconds=interval)
                    lease_renew(handle)
                    self.stdout.write(f"{holder}: slot done, {count} tick(s), token {handle.token}")
                except LeaseLost as exc:
                    self.stdout.write(f"{holder}: lease lost: {exc}")
                    handle = None
            self.stdout.flush()
            time.sleep(interval)

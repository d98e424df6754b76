"""The dispatcher with outbound calls on threads (publishing.worker): for workers that mostly wait on the network."""

from django.core.management.base import BaseCommand

from campaigns.cli import check_range
from campaigns.dispatcher import run_loop
from publishing.worker import ConcurrentDispatcher


class Command(BaseCommand):
    help = "Run the dispatcher with N outbound calls in flight (and a per-account limit): once or in a loop."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="Drain what is due now, then exit.")
        parser.add_argument("--threads", type=int, default=20, help="Calls in flight in total.")
        parser.add_argument("--per-account", type=int, default=None, help="Default: PUBLISH_CONCURRENCY_PER_ACCOUNT.")
        parser.add_argument("--batch-size", type=int, default=None, help="Default: 2 × threads.")
        parser.add_argument("--lanes", type=int, default=4, help="Overlapping claim/run/record loops (default 4).")
        parser.add_argument("--sleep", type=float, default=2.0, help="Seconds between polls when looping.")
        parser.add_argument("--worker-id", default="")

    def handle(self, *args, once, threads, per_account, batch_size, lanes, sleep, worker_id, **options) -> None:
        # Threads are real OS threads: thousands fail to start long before they would help.
        check_range("--threads", threads, 1, 1_000)
        check_range("--per-account", per_account, 1, 1_000)
        check_range("--batch-size", batch_size, 1, 100_000)
        check_range("--lanes", lanes, 1, 64)
        check_range("--sleep", sleep, 0.001, 86_400)
        with ConcurrentDispatcher(threads=threads, per_account=per_account, worker_id=worker_id, lanes=lanes,
                                  batch_size=batch_size or 2 * threads) as dispatcher:  # fmt: skip
            run_loop(dispatcher, once=once, sleep=sleep, write=self.stdout.write)

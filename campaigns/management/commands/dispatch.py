from django.core.management.base import BaseCommand

from campaigns.cli import check_range
from campaigns.dispatcher import Dispatcher, run_loop


class Command(BaseCommand):
    help = "Run the action dispatcher from the shell: one pass (--once) or a polling loop."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="Drain what is due now, then exit.")
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--sleep", type=float, default=2.0, help="Seconds between polls when looping.")
        parser.add_argument("--worker-id", default="")

    def handle(self, *args, once: bool, batch_size: int | None, sleep: float, worker_id: str, **options) -> None:
        check_range("--batch-size", batch_size, 1, 100_000)
        check_range("--sleep", sleep, 0.001, 86_400)
        run_loop(
            Dispatcher(worker_id=worker_id, batch_size=batch_size), once=once, sleep=sleep, write=self.stdout.write
        )

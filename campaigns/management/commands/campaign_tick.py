import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from campaigns.cli import check_range
from campaigns.controls import is_live
from campaigns.dispatcher import Dispatcher
from campaigns.models import Campaign
from campaigns.ticks import slot_of, tick_enqueue


class Command(BaseCommand):
    help = "Run K ticks of one campaign from the shell: each enqueues the slot's tick, then drains the queue."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--campaign-id", type=int, required=True)
        parser.add_argument("--interval-seconds", type=int, default=30)
        parser.add_argument("--ticks", type=int, default=1)
        parser.add_argument("--batch-size", type=int, default=25)
        parser.add_argument("--mode", choices=["proof", "live"], default=None,
                            help="proof forces PROOF for this run; live requires every LIVE flag already on.")  # fmt: skip

    def handle(self, *args, campaign_id: int, interval_seconds: int, ticks: int, batch_size: int, mode: str | None,
               **options) -> None:  # fmt: skip
        # Bounded above too: a huge interval made time.sleep raise OverflowError after the first tick.
        check_range("--interval-seconds", interval_seconds, 1, 86_400)
        check_range("--ticks", ticks, 1, 1_000_000)
        check_range("--batch-size", batch_size, 1, 100_000)
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None:
            raise CommandError(f"--campaign-id: no campaign with id {campaign_id}")
        if campaign.status != Campaign.Status.RUNNING:
            raise CommandError(f"--campaign-id: campaign {campaign_id} is {campaign.status}, not running")
        if mode == "live" and not is_live(campaign):
            raise CommandError(
                "--mode live: LIVE needs PUBLISHING_MODE=live, the global live flag and the campaign's mode"
            )
        dispatcher = Dispatcher(batch_size=batch_size)
        for n in range(ticks):
            slot = slot_of(timezone.now(), interval_seconds)
            action = tick_enqueue(campaign=campaign, slot=slot, force_proof=mode == "proof")
            report = dispatcher.drain()
            action.refresh_from_db()
            self.stdout.write(f"tick {n + 1}/{ticks} slot {slot}: {action.status}; {report}")
            if report.killed:
                raise SystemExit(3)
            if n + 1 < ticks:
                time.sleep(interval_seconds)

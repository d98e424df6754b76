"""Roll up the event log for a range of days (e.g. after an import or a change of definitions)."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.rollups import backfill, unsupported_reason
from campaigns.cli import check_range


def _date(option: str, value: str) -> date:
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None
    if parsed.year > 9998:  # the rollup reads up to the day after --to, which must exist
        raise CommandError(f"{option}: {value!r} is after 9998-12-31")
    return parsed


class Command(BaseCommand):
    help = "Recompute daily metrics for every campaign from --from to --to (inclusive), idempotently."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument("--chunk-days", type=int, default=7, help="days per statement (default 7)")

    def handle(self, *args, start: str, end: str, chunk_days: int, **options) -> None:
        first, last = _date("--from", start), _date("--to", end)
        if last < first:
            raise CommandError("--to: must be on or after --from")
        check_range("--chunk-days", chunk_days, 1, 3660)
        if reason := unsupported_reason():
            raise CommandError(reason)
        written = backfill(start=first, end=last, chunk_days=chunk_days, progress=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(f"done: {written} row(s) written for {first} … {last}"))

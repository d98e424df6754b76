from datetime import date

from django.core.management.base import BaseCommand, CommandError

from campaigns.cli import check_range
from campaigns.event_partitions import (
    NotPartitioned,
    event_partitions,
    event_partitions_detach,
    event_partitions_ensure,
)


def _month(value: str) -> date:
    try:
        year, month = value.split("-")
        parsed = date(int(year), int(month), 1)
    except ValueError:
        raise CommandError(f"not a month (YYYY-MM): {value!r}") from None
    if not 1970 <= parsed.year <= 9998:  # partition names hold four digits, and the month after must exist
        raise CommandError(f"{value!r}: the year must be between 1970 and 9998")
    return parsed


class Command(BaseCommand):
    help = (
        "The event log's monthly partitions (PostgreSQL): list them (default), --create months, "
        "--detach-older-than N months (detached tables are kept for a dump, never dropped here)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--create",
            action="store_true",
            help="create missing months (default: this one to +EVENT_PARTITIONS_AHEAD_MONTHS)",
        )
        parser.add_argument("--from", dest="start", metavar="YYYY-MM", help="with --create: first month")
        parser.add_argument("--through", metavar="YYYY-MM", help="with --create: last month")
        parser.add_argument("--detach-older-than", type=int, metavar="MONTHS", dest="detach")

    def handle(self, *args, create: bool, start: str | None, through: str | None, detach: int | None,
               **options) -> None:  # fmt: skip
        if (start or through) and not create:
            raise CommandError("--from/--through: only with --create")
        check_range("--detach-older-than", detach, 1, 12 * 100)
        try:
            if create:
                made = event_partitions_ensure(start=_month(start) if start else None,
                                               through=_month(through) if through else None)  # fmt: skip
                self.stdout.write(f"created {len(made)}: {', '.join(made) or '(all existed)'}")
            if detach is not None:
                gone = event_partitions_detach(older_than_months=detach)
                self.stdout.write(f"detached {len(gone)}: {', '.join(gone) or '(none that old)'}")
                if gone:
                    self.stdout.write("dump them (pg_dump -t <name>), then DROP TABLE them")
            for partition in event_partitions():
                self.stdout.write(f"{partition.label:<8} {partition.name:<32} ~{partition.rows_estimate} rows")
        except NotPartitioned as exc:
            raise CommandError(str(exc)) from None

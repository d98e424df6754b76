"""manage.py import_leads FILE --campaign N [--map column=field ...] [--report invalid.csv]"""

from __future__ import annotations

import csv
import os
import sys
import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from campaigns.adminkit import error_text
from campaigns.models import Campaign
from outreach.importing import check_encoding, leads_import


class Command(BaseCommand):
    help = ("Import leads from a CSV file (header on the first line), streaming. Re-importing the same file "
            "changes nothing. Prints created/updated/duplicate/invalid counts and each invalid line with its reason.")  # fmt: skip

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="CSV file, UTF-8, comma-separated, header on line 1")
        parser.add_argument("--campaign", type=int, required=True, help="campaign id the leads belong to")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="map a CSV column to a lead field (repeatable); default: columns named like fields",
        )
        parser.add_argument("--report", help="write the invalid lines (line, reason) to this CSV file")
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file: str, campaign: int, map: list[str], report: str | None, batch_size: int,
               no_progress: bool, **options) -> None:  # fmt: skip
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"file: {file} does not exist or is not a file")
        if report and not os.access(Path(report).resolve().parent, os.W_OK):  # known before, not after the import
            raise CommandError(f"--report: cannot write into {Path(report).resolve().parent}")
        target = Campaign.objects.filter(pk=campaign).first()
        if target is None:
            raise CommandError(f"--campaign: no campaign with id {campaign}")
        mapping = {}
        for item in map:
            column, sep, field = item.partition("=")
            if not sep or not column.strip() or not field.strip():
                raise CommandError(f"--map: {item!r} is not COLUMN=FIELD")
            mapping[column.strip()] = field.strip()
        size = path.stat().st_size or 1
        with path.open("rb") as binary:
            try:
                check_encoding(binary)
            except ValidationError as exc:
                raise CommandError(error_text(exc)) from None
        started = time.monotonic()
        err = self.stderr
        with path.open("r", encoding="utf-8-sig", newline="") as stream:
            tty = not no_progress

            def progress(rows: int) -> None:
                if not tty:
                    return
                done = stream.buffer.tell() / size if hasattr(stream, "buffer") else 0
                bar = "#" * int(done * 30)
                if rows < 0:  # the COPY path: bytes sent so far, rows counted at the end
                    err.write(f"\r[{bar:<30}] {done:4.0%} copying", ending="")
                else:
                    rate = rows / max(time.monotonic() - started, 1e-6)
                    err.write(f"\r[{bar:<30}] {done:4.0%} {rows:,} rows {rate:,.0f}/s", ending="")
                err.flush()

            try:
                result = leads_import(stream=stream, campaign=target, actor=f"import_leads:{os.getenv('USER', '')}",
                                      mapping=mapping or None, source_ref=f"csv:{path.name}", batch_size=batch_size,
                                      progress=progress)  # fmt: skip
            except ValidationError as exc:
                raise CommandError(error_text(exc)) from None
        if tty:
            err.write("")
        self.stdout.write(result.summary() + f" in {time.monotonic() - started:.1f} s")
        for line, reason in result.invalid[:50]:
            self.stdout.write(f"  line {line}: {reason}")
        if len(result.invalid) > 50:
            self.stdout.write(f"  … {len(result.invalid) - 50} more" + ("" if report else " (use --report FILE)"))
        if report:
            with open(report, "w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(["line", "reason"])
                writer.writerows(result.invalid)
            self.stdout.write(f"invalid lines written to {report}")
        sys.stdout.flush()

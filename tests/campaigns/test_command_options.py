"""Out-of-range numbers given to the commands are a CommandError naming the option, before any work.

Found by fuzzing: each of these was an OverflowError, a database error (LIMIT beyond bigint), a
thread that could not start, or (an explicit 0) a silent swap for the default and a loop that
ignored --max-seconds.
"""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["dispatch", "--once", "--batch-size", "99999999999999999999"], "--batch-size"),
        (["dispatch_concurrent", "--once", "--batch-size", "99999999999999999999"], "--batch-size"),
        (["dispatch_concurrent", "--once", "--threads", "100000"], "--threads"),
        (["dispatch_concurrent", "--once", "--sleep", "nan"], "--sleep"),
        (["run_tick_producer", "--lease-seconds", "nan", "--max-seconds", "1"], "--lease-seconds"),
        (["run_tick_producer", "--lease-seconds", "1e300", "--max-seconds", "1"], "--lease-seconds"),
        (["run_tick_producer", "--interval-seconds", "99999999999", "--max-seconds", "1"], "--interval-seconds"),
        (["run_tick_producer", "--interval-seconds", "0", "--max-seconds", "1"], "--interval-seconds"),
        (["run_tick_producer", "--lease-seconds", "0", "--max-seconds", "1"], "--lease-seconds"),
        (["backfill_metrics", "--from", "2026-01-01", "--to", "2026-01-02", "--chunk-days", "99999999999"],
         "--chunk-days"),
        (["backfill_metrics", "--from", "9999-12-30", "--to", "9999-12-31"], "--from"),
        (["event_partitions", "--detach-older-than", "999999"], "--detach-older-than"),
        (["campaign_tick", "--campaign-id", "1", "--ticks", "2", "--interval-seconds", "99999999999"],
         "--interval-seconds"),
    ],
)  # fmt: skip
def test_an_out_of_range_option_is_refused_naming_it(args, option):
    with pytest.raises(CommandError, match=option):
        call_command(*args)


@pytest.mark.parametrize("month", ["9999-12", "0001-01"])
def test_event_partitions_refuses_a_month_outside_the_names_it_can_give(month):
    with pytest.raises(CommandError, match="year must be between"):
        call_command("event_partitions", "--create", "--from", month, "--through", month)


def test_poll_imap_reads_a_superscript_as_a_name_not_an_id():
    with pytest.raises(CommandError, match="--inbox: no IMAP inbox '²'"):
        call_command("poll_imap", "--inbox", "²")

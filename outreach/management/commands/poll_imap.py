"""manage.py poll_imap [--inbox ID_OR_NAME]: read replies from IMAP inboxes now (the schedule does it every few minutes)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from campaigns.inputs import is_id
from outreach.imap_poll import ImapPollError, inbox_poll
from outreach.models import ImapInbox


class Command(BaseCommand):
    help = "Poll IMAP inboxes for replies now: all enabled ones, or one named by --inbox (id or name)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--inbox", help="id or name of one inbox (polled even when disabled)")

    def handle(self, *args, inbox: str | None, **options) -> None:
        if inbox:
            lookup = {"pk": int(inbox)} if is_id(inbox) else {"name": inbox}
            inboxes = list(ImapInbox.objects.filter(**lookup))
            if not inboxes:
                names = ", ".join(ImapInbox.objects.values_list("name", flat=True)) or "none set up"
                raise CommandError(f"--inbox: no IMAP inbox {inbox!r} (inboxes: {names})")
        else:
            inboxes = list(ImapInbox.objects.filter(enabled=True))
            if not inboxes:
                self.stdout.write("no enabled IMAP inbox: add one in the admin (Outreach › IMAP inboxes)")
                return
        failed = []
        for box in inboxes:
            try:
                self.stdout.write(str(inbox_poll(inbox=box, actor="command:poll_imap")))
            except ImapPollError as exc:
                self.stderr.write(f"{box.name}: {exc}")
                failed.append(box.name)
        if failed:
            raise CommandError(f"{len(failed)} inbox(es) failed: {', '.join(failed)}")

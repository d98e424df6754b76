"""IMAP polling against a real Dovecot on loopback: replies stored once, matched, acted on."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from campaigns.dispatcher import Dispatcher
from campaigns.models import Action, AuditEntry, Event
from outreach import imap_poll
from outreach.imap_poll import ImapPollError, imap_polls_enqueue, inbox_poll
from outreach.models import Enrollment, EspEvent, ImapInbox, Lead, Reply
from outreach.replies import reply_text_strip

from .dovecot import PASSWORD, USER, dovecot_start

pytestmark = pytest.mark.django_db
FOOTER = "You get this because you signed up. Unsubscribe: https://brand.example/u/abc"


@pytest.fixture(scope="session")
def dovecot():
    try:
        server = dovecot_start()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture
def folder(dovecot):
    """A fresh folder per test, so tests share one server and nothing else."""
    name = f"T{uuid.uuid4().hex[:10]}"
    dovecot.create(name)
    return name


@pytest.fixture
def inbox(dovecot, folder):
    return ImapInbox.objects.create(name="sales", host="127.0.0.1", port=dovecot.port, security="plain",
                                    username=USER, password=PASSWORD, folder=folder)  # fmt: skip


def _reply(*, text: str, token: str, in_reply_to: str = "<abc.123@brand.example>", subject: str = "Re: Hi Ada",
           sender: str = "Ada <ADA@example.com>", html: str | None = None) -> bytes:  # fmt: skip
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "sales@brand.example", subject
    msg["Message-ID"] = f"<reply-{token}@example.com>"
    msg["Date"] = "Mon, 30 Nov 2026 10:00:00 +0000"
    if in_reply_to:
        msg["In-Reply-To"] = msg["References"] = in_reply_to
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def _quoting_footer(new: str) -> str:
    return f"{new}\n\nOn Mon, 30 Nov 2026 at 09:00, Sam <sales@brand.example> wrote:\n> Hello Ada\n> {FOOTER}\n"


def test_reply_is_stored_matched_by_message_id_and_stops_the_sequence(dovecot, folder, inbox, sent):
    dovecot.append(folder, _reply(text=_quoting_footer("Sounds good, let's talk next week."), token="1"))

    result = inbox_poll(inbox=inbox, actor="t")

    assert (result.seen, result.stored, result.last_uid, result.rescanned) == (1, 1, 1, True)
    event = EspEvent.objects.get()
    assert (event.esp, event.event_id, event.kind) == ("imap", "<reply-1@example.com>", "inbound")
    assert "Unsubscribe" not in event.payload["text"]  # the quoted footer is cut off
    Dispatcher(worker_id="t").drain()
    reply = Reply.objects.get()
    assert (reply.label, reply.matched_by, reply.lead_id, reply.attempt_id) == (
        "positive", "message_id", sent["lead"].pk, sent["attempt"].pk)  # fmt: skip
    assert Lead.objects.get(pk=sent["lead"].pk).status == "replied"
    assert Enrollment.objects.get().status == "stopped"
    assert Event.objects.get(kind="reply").source == "imap"
    inbox.refresh_from_db()
    assert (inbox.last_uid, inbox.messages_stored, inbox.last_error) == (1, 1, "")
    assert inbox.uidvalidity and inbox.last_polled_at


def test_polling_again_stores_nothing_twice_and_then_only_the_new_message(dovecot, folder, inbox, sent):
    dovecot.append(folder, _reply(text="Who is this?", token="2", in_reply_to=""))
    assert inbox_poll(inbox=inbox, actor="t").stored == 1
    again = inbox_poll(inbox=inbox, actor="t")
    assert (again.seen, again.stored) == (0, 0)  # "UID 2:*" still answers UID 1: it is filtered out
    dovecot.append(folder, _reply(text="Any news?", token="3", in_reply_to=""))
    third = inbox_poll(inbox=inbox, actor="t")
    assert (third.seen, third.stored, third.last_uid, third.rescanned) == (1, 1, 2, False)
    assert EspEvent.objects.count() == 2
    assert Action.objects.filter(action_type="process_esp_event").count() == 2
    Dispatcher(worker_id="t").drain()
    assert set(Reply.objects.values_list("matched_by", flat=True)) == {"address"}


def test_a_new_uidvalidity_rescans_and_the_message_id_keeps_replies_single(dovecot, folder, inbox, sent):
    dovecot.append(folder, _reply(text="First", token="4"))
    inbox_poll(inbox=inbox, actor="t")
    before = ImapInbox.objects.get(pk=inbox.pk).uidvalidity
    dovecot.delete(folder)  # the folder is rebuilt: every UID is new, the messages are not
    dovecot.create(folder)
    dovecot.append(folder, _reply(text="First", token="4"))
    dovecot.append(folder, _reply(text="Second", token="5"))

    result = inbox_poll(inbox=inbox, actor="t")

    assert (result.seen, result.stored, result.rescanned) == (2, 1, True)
    assert ImapInbox.objects.get(pk=inbox.pk).uidvalidity != before
    assert EspEvent.objects.count() == 2
    assert AuditEntry.objects.filter(action="imap:uidvalidity", object_id=str(inbox.pk)).count() == 1


def test_a_crash_mid_poll_keeps_the_committed_batches_and_the_next_poll_finishes(
    dovecot, folder, inbox, sent, settings, monkeypatch
):
    settings.IMAP_FETCH_BATCH = 2
    for n in range(5):
        dovecot.append(folder, _reply(text=f"Note {n}", token=f"c{n}", in_reply_to=""))
    real_store, calls = imap_poll._store, []

    def store_then_crash(raw):
        calls.append(raw)
        if len(calls) == 4:  # inside the second batch
            raise ConnectionResetError("connection reset by peer")
        return real_store(raw)

    monkeypatch.setattr(imap_poll, "_store", store_then_crash)
    with pytest.raises(ImapPollError) as excinfo:
        inbox_poll(inbox=inbox, actor="t")
    assert excinfo.value.transient
    inbox.refresh_from_db()
    assert (inbox.last_uid, EspEvent.objects.count()) == (2, 2)  # batch 1 committed, batch 2 rolled back
    assert "ConnectionResetError" in inbox.last_error

    monkeypatch.setattr(imap_poll, "_store", real_store)
    result = inbox_poll(inbox=inbox, actor="t")
    assert (result.seen, result.stored, result.last_uid) == (3, 3, 5)
    assert EspEvent.objects.count() == 5


def test_a_poller_that_lost_the_race_rolls_its_batch_back(dovecot, folder, inbox, sent):
    dovecot.append(folder, _reply(text="Hello", token="r1", in_reply_to=""))
    stale = ImapInbox.objects.get(pk=inbox.pk)
    inbox_poll(inbox=inbox, actor="t")  # the other poller
    dovecot.append(folder, _reply(text="Hello again", token="r2", in_reply_to=""))
    with pytest.raises(ImapPollError, match="another poll moved the cursor"):
        inbox_poll(inbox=stale, actor="t")
    assert EspEvent.objects.count() == 1


def test_a_bounce_report_is_matched_to_the_bounced_email(dovecot, folder, inbox, sent):
    report = EmailMessage()
    report["From"] = "MAILER-DAEMON@mx.example.com"
    report["To"] = "sales@brand.example"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Message-ID"] = "<dsn-1@mx.example.com>"
    report.set_content("This is the mail system. The mailbox does not exist.")
    original = EmailMessage()
    original["Message-ID"] = "<abc.123@brand.example>"
    original["To"] = "someone-else@example.com"
    original.set_content("Hello")
    report.add_attachment(original)  # a message/rfc822 part, as in a DSN
    report.replace_header("Content-Type", report["Content-Type"].replace("multipart/mixed", "multipart/report"))
    dovecot.append(folder, report.as_bytes())

    inbox_poll(inbox=inbox, actor="t")
    Dispatcher(worker_id="t").drain()

    reply = Reply.objects.get()
    assert (reply.label, reply.matched_by, reply.lead_id) == ("bounce", "message_id", sent["lead"].pk)
    assert Lead.objects.get(pk=sent["lead"].pk).status == "bounced"


def test_an_html_only_reply_is_read_as_text(dovecot, folder, inbox, sent):
    msg = EmailMessage()
    msg["From"], msg["Subject"], msg["Message-ID"] = "ada@example.com", "Re: Hi", "<html-1@example.com>"
    msg["In-Reply-To"] = "<abc.123@brand.example>"
    msg.set_content("<p>Yes, <b>send me pricing</b>.</p>", subtype="html")
    dovecot.append(folder, msg.as_bytes())
    inbox_poll(inbox=inbox, actor="t")
    assert EspEvent.objects.get().payload["text"] == "Yes, send me pricing."
    Dispatcher(worker_id="t").drain()
    assert Reply.objects.get().label == "positive"


def test_a_wrong_password_is_a_permanent_error_and_stores_nothing(dovecot, folder, inbox):
    inbox.password = "wrong"
    inbox.save()
    with pytest.raises(ImapPollError, match=f"login as {USER} refused") as excinfo:
        inbox_poll(inbox=inbox, actor="t")
    assert not excinfo.value.transient
    inbox.refresh_from_db()
    assert inbox.last_error.startswith("login as") and inbox.uidvalidity is None
    assert not EspEvent.objects.exists()


def test_a_missing_folder_names_the_folder(dovecot, inbox):
    inbox.folder = "Nope"
    with pytest.raises(ImapPollError, match="folder 'Nope' cannot be opened"):
        inbox_poll(inbox=inbox, actor="t")


def test_the_poll_action_retries_when_the_server_is_down_and_gives_up_on_a_bad_login(dovecot, inbox, settings):
    from outreach.handlers import poll_imap

    settings.IMAP_TIMEOUT_SECONDS = 2
    down = ImapInbox.objects.create(name="down", host="127.0.0.1", port=1, security="plain", username="x",
                                    password="y")  # fmt: skip
    assert poll_imap(Action(payload={"inbox_id": down.pk})).kind == "retry"
    ImapInbox.objects.filter(pk=inbox.pk).update(enabled=False)
    assert poll_imap(Action(payload={"inbox_id": inbox.pk})).kind == "skipped"
    ImapInbox.objects.filter(pk=inbox.pk).update(enabled=True)
    inbox.password = "wrong"
    inbox.save()
    assert poll_imap(Action(payload={"inbox_id": inbox.pk})).kind == "permanent"
    assert ImapInbox.objects.get(pk=down.pk).last_error.startswith("cannot connect to 127.0.0.1:1")


def test_the_schedule_enqueues_one_poll_per_inbox_and_slot(inbox):
    ImapInbox.objects.create(name="off", host="h", username="u", password="p", enabled=False)
    assert imap_polls_enqueue() == 1
    assert imap_polls_enqueue() == 1
    (action,) = Action.objects.filter(action_type="poll_imap")
    assert action.idempotency_key.startswith(f"poll_imap:{inbox.pk}:")
    assert action.payload == {"inbox_id": inbox.pk}


def test_the_command_polls_one_inbox_and_names_an_unknown_one(dovecot, folder, inbox, sent):
    dovecot.append(folder, _reply(text="Hi", token="cmd"))
    out = StringIO()
    call_command("poll_imap", "--inbox", "sales", stdout=out)
    assert "sales: 1 fetched, 1 new" in out.getvalue()
    with pytest.raises(CommandError, match="--inbox: no IMAP inbox 'nope' \\(inboxes: sales\\)"):
        call_command("poll_imap", "--inbox", "nope")
    inbox.password = "wrong"
    inbox.save()
    with pytest.raises(CommandError, match="1 inbox\\(es\\) failed: sales"):
        call_command("poll_imap", stdout=StringIO(), stderr=StringIO())


def test_the_password_is_stored_encrypted_and_rotates_with_the_other_secrets(settings, inbox):
    with connection.cursor() as cur:
        cur.execute("SELECT password FROM outreach_imapinbox WHERE id = %s", [inbox.pk])
        (before,) = cur.fetchone()
    assert PASSWORD not in before
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]
    call_command("rotate_field_keys", stdout=StringIO())
    with connection.cursor() as cur:
        cur.execute("SELECT password FROM outreach_imapinbox WHERE id = %s", [inbox.pk])
        (after,) = cur.fetchone()
    assert Fernet(new_key).decrypt(after.encode()).decode() == PASSWORD


def test_admin_keeps_the_password_write_only_and_polls_on_demand(admin_client, dovecot, folder, sent):
    response = admin_client.post("/admin/outreach/imapinbox/add/", {
        "name": "support", "host": "127.0.0.1", "port": dovecot.port, "security": "plain", "username": USER,
        "new_password": "", "folder": folder, "enabled": "on"})  # fmt: skip
    assert response.status_code == 200 and "a password is required for a new inbox" in response.content.decode()
    assert not ImapInbox.objects.exists()
    admin_client.post("/admin/outreach/imapinbox/add/", {
        "name": "support", "host": "127.0.0.1", "port": dovecot.port, "security": "plain", "username": USER,
        "new_password": PASSWORD, "folder": folder, "enabled": "on"})  # fmt: skip
    box = ImapInbox.objects.get()
    assert box.password == PASSWORD
    page = admin_client.get(f"/admin/outreach/imapinbox/{box.pk}/change/").content.decode()
    assert PASSWORD not in page
    dovecot.append(folder, _reply(text="Yes please", token="adm"))
    response = admin_client.post("/admin/outreach/imapinbox/", {"action": "poll_now", "_selected_action": [box.pk]},
                                 follow=True)  # fmt: skip
    assert "Support: 1 fetched, 1 new" in response.content.decode()  # the admin capitalises messages
    # Editing without a password keeps it; moving to another folder resets the cursor.
    admin_client.post(f"/admin/outreach/imapinbox/{box.pk}/change/", {
        "name": "support", "host": "127.0.0.1", "port": dovecot.port, "security": "plain", "username": USER,
        "new_password": "", "folder": "INBOX", "enabled": "on"})  # fmt: skip
    box.refresh_from_db()
    assert (box.password, box.folder, box.last_uid, box.uidvalidity) == (PASSWORD, "INBOX", 0, None)
    box.port = 1
    box.save()
    response = admin_client.post("/admin/outreach/imapinbox/", {"action": "poll_now", "_selected_action": [box.pk]},
                                 follow=True)  # fmt: skip
    assert response.status_code == 200 and "cannot connect to 127.0.0.1:1" in response.content.decode()


@pytest.mark.parametrize(("text", "expected"), [
    (_quoting_footer("Yes, let's talk."), "Yes, let's talk."),
    ("Sure\nOn Mon, 30 Nov 2026 at 09:00, Sam Longname <sales@brand.example>\nwrote:\n> hi", "Sure"),
    (f"ok\n\n-----Original Message-----\nFrom: Sam\n{FOOTER}", "ok"),
    (f"ok\n\nFrom: Sam <sales@brand.example>\nSent: Monday\nTo: Ada\n\n{FOOTER}", "ok"),
    ("Please remove me.\n> quoted line", "Please remove me."),
    ("> only a quote", "> only a quote"),
    ("On second thought, no thanks.", "On second thought, no thanks."),
])  # fmt: skip
def test_quoted_text_is_cut_from_replies(text, expected):
    assert reply_text_strip(text) == expected

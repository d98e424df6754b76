"""django-post-office sending the bench messages (child of bench/email_dispatch.py, its own settings module).

Usage: DJANGO_SETTINGS_MODULE=postoffice_settings python bench/_postoffice_run.py <n> <batch> <processes> <threads>
Prints JSON {"queue_s": t, "send_s": t, "sent": n, "failed": n}.
"""

from __future__ import annotations

import json
import sys
import time

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import OperationalError, connection, connections  # noqa: E402
from email_messages import build_messages  # noqa: E402
from post_office import mail  # noqa: E402
from post_office.models import Email  # noqa: E402


def main() -> None:
    n, batch, processes, threads = (int(a) for a in sys.argv[1:5])
    settings.POST_OFFICE = {**settings.POST_OFFICE, "BATCH_SIZE": batch, "THREADS_PER_PROCESS": threads}
    with connection.cursor() as cur:
        cur.execute("TRUNCATE post_office_log, post_office_email RESTART IDENTITY CASCADE")
    kwargs = [
        {"sender": m.from_email, "recipients": [m.to], "subject": m.subject, "message": m.text,
         "html_message": m.html, "headers": {**m.headers, "Message-ID": f"<{m.message_id}>"}}
        for m in build_messages(n)
    ]  # fmt: skip
    started = time.perf_counter()
    for i in range(0, n, 1000):
        mail.send_many(kwargs[i : i + 1000])
    queued = time.perf_counter()
    while Email.objects.filter(status__in=[2]).exists():  # 2 = queued
        try:
            mail.send_queued(processes=processes, log_level=0)
        except OperationalError:
            pass  # forked workers closed the connection they inherited: reconnect and go on
        connections.close_all()
    done = time.perf_counter()
    sent = Email.objects.filter(status=0).count()
    failed = Email.objects.filter(status=1).count()
    print(json.dumps({"queue_s": queued - started, "send_s": done - queued, "sent": sent, "failed": failed}))


if __name__ == "__main__":
    main()

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from outreach.gate import attempt_reserve
from outreach.models import Mailbox, SendAttempt
from outreach.services import lead_upsert


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_the_last_slot_get_one_attempt(outreach_setup):
    """Caps are counted and reserved in one transaction under the campaign lock: no over-send."""
    campaign = outreach_setup["campaign"]
    Mailbox.objects.filter(pk=outreach_setup["mailbox"].pk).update(daily_cap=3, hourly_cap=3)
    leads = [lead_upsert(actor="t", email=f"p{i}@example.com", name="P", company="C")[0] for i in range(8)]
    start = threading.Barrier(len(leads))
    results: list[bool] = []

    def worker(lead):
        try:
            start.wait()
            _, attempt = attempt_reserve(key=f"race:{lead.pk}", action_key=f"race:{lead.pk}", lead=lead,
                                                campaign=campaign, channel="email", now=timezone.now())  # fmt: skip
            results.append(attempt is not None)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(lead,)) for lead in leads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False] * 5 + [True] * 3
    assert SendAttempt.objects.filter(campaign=campaign).count() == 3

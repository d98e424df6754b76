"""Campaign ticks: each slot, one ``campaign_tick:<campaign>:<slot>`` action per running campaign.

A tick sends nothing itself: it asks the producers in ``settings.TICK_PRODUCERS`` for due work
and they enqueue child actions with deterministic keys, so running the same slot twice adds
nothing. The producer of ticks is a singleton holding a fenced lease.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from .actions import action_enqueue
from .controls import stop_reason
from .leases import LeaseHandle, fenced, lease_renew
from .models import Action, Campaign, ControlFlag, TickLedger
from .outcomes import Outcome

logger = logging.getLogger(__name__)
LEASE_NAME = "tick-producer"

TICK_PAYLOAD = {
    "type": "object",
    "properties": {
        "campaign_id": {"type": "integer", "minimum": 1},
        "slot": {"type": "integer", "minimum": 0},
        "force_proof": {"type": "boolean"},
        "lease_token": {"type": "integer"},
    },
    "required": ["campaign_id", "slot"],
    "additionalProperties": False,
}


def slot_of(when: datetime, interval_seconds: int) -> int:
    return int(when.timestamp()) // interval_seconds


def tick_key(campaign_id: int, slot: int) -> str:
    return f"campaign_tick:{campaign_id}:{slot}"


def tick_enqueue(*, campaign: Campaign, slot: int, force_proof: bool = False, lease_token: int | None = None) -> Action:
    payload = {"campaign_id": campaign.pk, "slot": slot}
    if force_proof:
        payload["force_proof"] = True
    if lease_token is not None:
        payload["lease_token"] = lease_token
    action, _ = action_enqueue(key=tick_key(campaign.pk, slot), action_type="campaign_tick", payload=payload,
                               campaign=campaign)  # fmt: skip
    return action


def runnable_campaigns():
    stopped = ControlFlag.objects.filter(campaign__isnull=False).filter(paused=True) | ControlFlag.objects.filter(
        campaign__isnull=False, killed=True
    )
    return Campaign.objects.filter(status=Campaign.Status.RUNNING).exclude(pk__in=stopped.values("campaign_id"))


def produce_ticks(*, handle: LeaseHandle, now: datetime | None = None, interval_seconds: int | None = None) -> int:
    """Enqueue this slot's tick for every running campaign; each write is fenced by the lease.

    Renews the lease while it works, not only between slots. Raises LeaseLost when fenced out.
    """
    interval = interval_seconds or settings.TICK_INTERVAL_SECONDS
    slot = slot_of(now or timezone.now(), interval)
    if stop_reason():
        return 0
    renewed_at = time.monotonic()
    count = 0
    for campaign in runnable_campaigns().order_by("pk"):
        if time.monotonic() - renewed_at > handle.ttl.total_seconds() / 3:
            lease_renew(handle)
            renewed_at = time.monotonic()
        with fenced(handle):
            tick_enqueue(campaign=campaign, slot=slot, lease_token=handle.token)
        count += 1
    return count


def campaign_tick(action: Action) -> Outcome:
    """Run the registered producers for one campaign and slot; ledger row only if work was done or it failed."""
    campaign_id, slot = action.payload["campaign_id"], action.payload["slot"]
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return Outcome.permanent(f"campaign {campaign_id} does not exist")
    if campaign.status != Campaign.Status.RUNNING:
        return Outcome.skipped(f"campaign is {campaign.status}")
    stop = stop_reason(campaign.pk)
    if stop:
        return Outcome.release(f"not now: {stop}")
    now = timezone.now()
    detail: dict[str, int] = {}
    try:
        for dotted in settings.TICK_PRODUCERS:
            detail[dotted] = import_string(dotted)(
                campaign=campaign, now=now, parent=action, force_proof=bool(action.payload.get("force_proof"))
            )
    except Exception as exc:
        TickLedger.objects.update_or_create(
            campaign=campaign, slot=slot,
            defaults={"action_id": action.pk, "ok": False, "enqueued": sum(detail.values()), "detail": detail,
                      "error": f"{type(exc).__name__}: {exc}"},
        )  # fmt: skip
        raise
    enqueued = sum(detail.values())
    if enqueued:
        TickLedger.objects.update_or_create(
            campaign=campaign, slot=slot,
            defaults={"action_id": action.pk, "ok": True, "enqueued": enqueued, "detail": detail, "error": ""},
        )  # fmt: skip
    return Outcome.ok(f"{enqueued} enqueued", result=detail)

"""Control flags: pause, kill and LIVE, globally and per campaign. Changes are audited service calls.

LIVE needs three yeses: the deployment (``PUBLISHING_MODE=live``), the global flag and the
campaign's own mode. A fresh database has no flag rows, which reads as: not paused, not killed, PROOF.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from .audit import audit_record
from .errors import InvalidTransition
from .models import Campaign, ControlFlag, Mode

GLOBAL = "global"
ACTIONS = ("pause", "resume", "kill", "unkill", "proof", "live")


@dataclass(frozen=True)
class Flags:
    paused: bool = False
    killed: bool = False
    live: bool = False


def _scope(campaign: Campaign | None) -> str:
    return GLOBAL if campaign is None else f"campaign:{campaign.pk}"


def flags_get(campaign: Campaign | None = None) -> Flags:
    row = ControlFlag.objects.filter(scope=_scope(campaign)).values("paused", "killed", "live").first()
    return Flags(**row) if row else Flags()


def stop_reason(campaign_id: int | None = None) -> str | None:
    """Why nothing may run now (global, or for this campaign), else None. One query."""
    scopes = [GLOBAL] + ([f"campaign:{campaign_id}"] if campaign_id else [])
    for scope, paused, killed in ControlFlag.objects.filter(scope__in=scopes).values_list("scope", "paused", "killed"):
        if killed:
            return f"{scope} kill switch is on"
        if paused:
            return f"{scope} is paused"
    return None


def is_live(campaign: Campaign) -> bool:
    return settings.PUBLISHING_MODE == Mode.LIVE and flags_get().live and campaign.mode == Mode.LIVE


def control_set(*, action: str, actor: Any, campaign: Campaign | None = None, note: str = "") -> Flags:
    """Flip one switch (pause|resume|kill|unkill|proof|live) and write an audit row.

    Per campaign, proof/live set ``Campaign.mode``; the other switches live in ControlFlag rows.
    Going LIVE globally is refused while the deployment says ``PUBLISHING_MODE=proof``.
    """
    if action not in ACTIONS:
        raise InvalidTransition(f"action: {action!r} is not one of {', '.join(ACTIONS)}")
    if action == "live" and settings.PUBLISHING_MODE != Mode.LIVE:
        raise InvalidTransition("PUBLISHING_MODE=proof in this deployment: LIVE cannot be switched on here")
    with transaction.atomic():
        if campaign is not None and action in ("proof", "live"):
            old = campaign.mode
            Campaign.objects.filter(pk=campaign.pk).update(mode=action)
            campaign.mode = action
            audit_record(obj=campaign, actor=actor, action=f"control:{action}", old=old, new=action, note=note)
            return flags_get(campaign)
        flag, _ = ControlFlag.objects.select_for_update().get_or_create(
            scope=_scope(campaign), defaults={"campaign": campaign}
        )
        field, value = {
            "pause": ("paused", True), "resume": ("paused", False), "kill": ("killed", True),
            "unkill": ("killed", False), "proof": ("live", False), "live": ("live", True),
        }[action]  # fmt: skip
        old = getattr(flag, field)
        setattr(flag, field, value)
        flag.save(update_fields=[field, "updated_at"])
        audit_record(obj=flag, actor=actor, action=f"control:{action}", old=str(old).lower(), new=str(value).lower(),
                     note=note)  # fmt: skip
    return Flags(paused=flag.paused, killed=flag.killed, live=flag.live)

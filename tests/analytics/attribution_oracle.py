"""A small pure-Python attribution: what the SQL must give, written the obvious way."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, timedelta

from analytics.attribution import TOUCH_KINDS


def oracle(events, *, model: str, start: date, end: date, lookback_days: int, half_life_days: float) -> dict:
    """``events``: dicts with id, kind, campaign_id, channel, lead_id, target_id, occurred_at, value."""
    by_lead = defaultdict(list)
    for e in events:
        if e["kind"] in TOUCH_KINDS and e["lead_id"] is not None and e["campaign_id"] is not None:
            by_lead[e["lead_id"]].append(e)
    out: dict = defaultdict(lambda: [0.0, 0.0])
    lookback = timedelta(days=lookback_days)
    for c in events:
        if c["kind"] != "conversion" or c["lead_id"] is None:
            continue
        day = c["occurred_at"].astimezone(UTC).date()
        if not start <= day <= end:
            continue
        at = c["occurred_at"]
        touches = sorted(
            (t for t in by_lead[c["lead_id"]] if at - lookback < t["occurred_at"] <= at),
            key=lambda t: (t["occurred_at"], t["id"]),
        )
        n = len(touches)
        if not n:
            continue
        if model == "first_touch":
            weights = [1.0] + [0.0] * (n - 1)
        elif model == "last_touch":
            weights = [0.0] * (n - 1) + [1.0]
        elif model == "linear":
            weights = [1.0 / n] * n
        elif model == "time_decay":
            raw = [0.5 ** ((at - t["occurred_at"]).total_seconds() / (half_life_days * 86400.0)) for t in touches]
            weights = [w / sum(raw) for w in raw]
        elif model == "position_based":
            if n == 1:
                weights = [1.0]
            elif n == 2:
                weights = [0.5, 0.5]
            else:
                weights = [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]
        else:
            raise ValueError(model)
        value = float(c["value"] or 0)
        for t, w in zip(touches, weights, strict=True):
            if w == 0.0 and model in ("first_touch", "last_touch"):
                continue
            key = (day, t["campaign_id"], t["channel"], t["target_id"])
            out[key][0] += w
            out[key][1] += w * value
    return {k: (round(v[0], 6), round(v[1], 6)) for k, v in out.items()}

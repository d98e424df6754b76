"""/health/: is the database up, is the dispatcher alive, is work piling up, what do the flags say."""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Min
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from .controls import flags_get
from .models import Action, Heartbeat


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """200 when healthy; 503 when the database is down, or work is due and the dispatcher's
    heartbeat is older than HEALTH_HEARTBEAT_MAX_AGE_SECONDS (a stuck queue must not look healthy)."""
    now = timezone.now()
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        beat = Heartbeat.objects.filter(name="dispatcher").first()
        oldest_due = Action.objects.filter(status__in=Action.CLAIMABLE, not_before__lte=now).aggregate(
            m=Min("not_before")
        )["m"]
        flags = flags_get()
    except DatabaseError as exc:
        return JsonResponse({"status": "down", "database": f"error: {type(exc).__name__}"}, status=503)
    beat_age = (now - beat.beat_at).total_seconds() if beat else None
    due_age = (now - oldest_due).total_seconds() if oldest_due else 0.0
    stale = beat_age is None or beat_age > settings.HEALTH_HEARTBEAT_MAX_AGE_SECONDS
    stuck = oldest_due is not None and stale and not flags.paused and not flags.killed
    body = {
        "status": "stuck" if stuck else "ok",
        "database": "ok",
        "dispatcher": {"last_heartbeat": beat.beat_at.isoformat() if beat else None,
                       "age_seconds": None if beat_age is None else round(beat_age, 1),
                       "worker": beat.worker if beat else None},
        "oldest_due_action_age_seconds": round(due_age, 1),
        "flags": {"paused": flags.paused, "killed": flags.killed, "live": flags.live,
                  "publishing_mode": settings.PUBLISHING_MODE},
    }  # fmt: skip
    return JsonResponse(body, status=503 if stuck else 200)

"""Public views of analytics: the tracked-link redirect."""

from __future__ import annotations

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.views.decorators.http import require_http_methods

from campaigns.events import event_record
from campaigns.jsonsafe import storable

from .links import bot_reason, lead_from_token
from .models import TrackedLink

CLICK = "click"
CLICK_BOT = "click_bot"


@require_http_methods(["GET", "HEAD"])
def click(request: HttpRequest, code: str) -> HttpResponse:
    """Record the click and redirect to the stored destination only (the request cannot choose it)."""
    if "\x00" in code:  # no code has one, and PostgreSQL text cannot compare with it
        raise Http404("unknown link")
    link = TrackedLink.objects.filter(code=code).only("id", "destination", "campaign_id", "channel", "target_id",
                                                      "post_id", "email_step", "utm").first()  # fmt: skip
    if link is None:
        raise Http404("unknown link")
    lead_id = None
    token = request.GET.get("t")
    if token:
        try:
            lead_id = lead_from_token(token)
        except signing.BadSignature:
            return HttpResponseBadRequest("t: invalid lead token", content_type="text/plain")
    bot = bot_reason(request)
    # The header is the client's: whatever jsonb cannot hold (NUL) is replaced, the click still counts.
    data = {"code": code, **link.utm, "user_agent": storable(request.META.get("HTTP_USER_AGENT", "")[:500])}
    if link.post_id:
        data["post_id"] = link.post_id
    if link.email_step:
        data["email_step"] = link.email_step
    if bot:
        data["bot"] = bot
    event_record(
        kind=CLICK_BOT if bot else CLICK,
        campaign=link.campaign_id,
        channel=link.channel,
        lead_id=lead_id,
        target_id=link.target_id,
        source="tracked_link",
        data=data,
    )
    response = HttpResponseRedirect(link.destination)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response

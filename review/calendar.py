"""The content calendar: posts by day (month or week) in the campaign's time zone, each target
with its status. Rescheduling an approved post keeps its approval only while the content is
unchanged — post_update decides that, not the calendar."""

from __future__ import annotations

import calendar as pycalendar
import zoneinfo
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from campaigns.adminkit import error_text
from campaigns.errors import TransitionError
from campaigns.inputs import is_id
from campaigns.models import Campaign
from publishing.models import PLATFORM_CHOICES, Post
from publishing.services import post_update

STATUS_COLOURS = {
    "pending": "#9e9e9e", "scheduled": "#1e88e5", "publishing": "#fb8c00", "published": "#43a047",
    "failed": "#e53935", "needs_reconcile": "#8e24aa", "cancelled": "#616161",
}  # fmt: skip
# Accounts whose posts will not go out until someone reconnects them (or a refresh succeeds).
UNHEALTHY = ("revoked", "refresh_failed")
POST_COLOURS = {"draft": "#bdbdbd", "pending_review": "#fdd835", "rejected": "#e53935"}


def _anchor(request: HttpRequest) -> date:
    try:
        anchor = date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        return timezone.localdate()
    # A month or week either side must exist (prev/next links, the grid): outside that, today.
    return anchor if 2 <= anchor.year <= 9998 else timezone.localdate()


def context(request: HttpRequest) -> dict:
    view = "week" if request.GET.get("view") == "week" else "month"
    anchor = _anchor(request)
    raw = request.GET.get("campaign", "")
    campaign = Campaign.objects.filter(pk=int(raw)).first() if is_id(raw) else None
    platform = request.GET.get("platform", "")
    if platform not in dict(PLATFORM_CHOICES):
        platform = ""  # an unknown platform (or a NUL, which PostgreSQL cannot compare) filters nothing
    tz = campaign.tz if campaign else zoneinfo.ZoneInfo("UTC")
    if view == "week":
        start = anchor - timedelta(days=anchor.weekday())
        days = [start + timedelta(days=i) for i in range(7)]
        prev, nxt = start - timedelta(days=7), start + timedelta(days=7)
    else:
        first = anchor.replace(day=1)
        weeks = pycalendar.Calendar().monthdatescalendar(first.year, first.month)
        days = [d for week in weeks for d in week]
        prev = (first - timedelta(days=1)).replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
    lo = datetime.combine(days[0], time.min, tzinfo=tz)
    hi = datetime.combine(days[-1] + timedelta(days=1), time.min, tzinfo=tz)
    posts = (
        Post.objects.annotate(when=Coalesce("scheduled_at", "approved_at", "created_at"))
        .filter(when__gte=lo, when__lt=hi)
        .select_related("campaign")
        .prefetch_related("targets__account")
        .order_by("when")
    )
    if campaign:
        posts = posts.filter(campaign=campaign)
    if platform:
        posts = posts.filter(targets__account__platform=platform).distinct()
    by_day: dict[date, list] = defaultdict(list)
    for post in posts:
        local = timezone.localtime(post.when, tz)
        chips = [
            {"platform": t.account.platform, "status": t.status,
             "colour": STATUS_COLOURS.get(t.status, "#9e9e9e") if post.status in ("approved", "scheduled")
             else POST_COLOURS.get(post.status, "#9e9e9e"),
             "label": t.status if post.status in ("approved", "scheduled") else post.status,
             "unhealthy": t.account.token_status in UNHEALTHY}
            for t in post.targets.all() if not platform or t.account.platform == platform
        ]  # fmt: skip
        by_day[local.date()].append({"post": post, "time": local.strftime("%H:%M"), "chips": chips,
                                     "local_value": local.strftime("%Y-%m-%dT%H:%M")})  # fmt: skip
    rows = [days[i : i + 7] for i in range(0, len(days), 7)]
    return {
        "title": f"Content calendar — {anchor:%B %Y}" if view == "month" else f"Content calendar — week of {days[0]}",
        "view": view, "anchor": anchor, "prev": prev, "next": nxt, "tz": tz.key, "campaign": campaign,
        "campaigns": Campaign.objects.order_by("name"), "platform": platform, "platforms": PLATFORM_CHOICES,
        "weeks": [[{"date": d, "in_month": view == "week" or d.month == anchor.month, "entries": by_day.get(d, [])}
                   for d in row] for row in rows],
        "legend": STATUS_COLOURS,
    }  # fmt: skip


def reschedule(model_admin, request: HttpRequest, post_id: int) -> HttpResponseRedirect:
    """POST when=YYYY-MM-DDTHH:MM, read in the post's campaign time zone."""
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("admin:review_calendar")  # only back into this site: never an open redirect
    if request.method != "POST":
        return HttpResponseRedirect(back)
    post = Post.objects.select_related("campaign").filter(pk=post_id).first()
    if post is None:
        messages.error(request, f"post {post_id}: no such post")
        return HttpResponseRedirect(back)
    if not request.user.has_perm("publishing.change_post"):
        messages.error(request, "you do not have permission to reschedule posts")
        return HttpResponseRedirect(back)
    try:
        local = datetime.fromisoformat(request.POST.get("when", ""))
    except ValueError:
        messages.error(request, "when: give a date and time like 2026-03-30T09:00")
        return HttpResponseRedirect(back)
    when = local.replace(tzinfo=post.campaign.tz) if local.tzinfo is None else local
    try:
        post_update(post=post, actor=request.user, scheduled_at=when)
    except (TransitionError, ValidationError) as exc:
        messages.error(request, f"{post}: not rescheduled: {error_text(exc)}")
    else:
        post.refresh_from_db()
        kept = "approval kept" if post.status in ("approved", "scheduled") else f"status {post.status}"
        messages.success(request, f"{post}: now {local:%Y-%m-%d %H:%M} {post.campaign.timezone} ({kept})")
    return HttpResponseRedirect(back)

"""The review queue: every artifact that can reach the outside, in one changelist.

Decisions call the owning app's services through review.kinds; this module writes no status.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from campaigns.adminkit import audit_table, error_text
from campaigns.errors import TransitionError
from campaigns.inputs import is_id
from campaigns.models import Campaign

from . import calendar
from .index import refresh, refresh_objects, refresh_status
from .kinds import KINDS
from .models import ReviewItem
from .rendering import content_diff, current_content, last_approved_content, post_preview

PENDING = "pending_review"
DECISIONS = {
    "approve": {"verb": "approved", "title": "Approve", "needs": ""},
    "reject": {"verb": "rejected", "title": "Reject", "needs": "Reason (required; the author sees it)"},
    "request_changes": {"verb": "sent back for changes", "title": "Request changes",
                        "needs": "Comment (required; what should change)"},
}  # fmt: skip
APPROVE_PERMISSIONS = ("publishing.approve_post", "campaigns.approve_campaign", "outreach.approve_template")


def _offered(list_filter: admin.SimpleListFilter) -> str | None:
    """The filter's value if it is one the filter offers, else None: a value typed into the URL (an
    unknown kind, a NUL that PostgreSQL cannot compare) filters nothing instead of failing."""
    value = list_filter.value()
    return value if value in {str(key) for key, _ in list_filter.lookup_choices} else None


class StatusFilter(admin.SimpleListFilter):
    """Pending review by default: the queue opens on what needs a decision."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(PENDING, "Pending review"), ("approved", "Approved"), ("scheduled", "Scheduled"),
                ("rejected", "Rejected"), ("draft", "Draft"), ("all", "All")]  # fmt: skip

    def choices(self, changelist):
        value = self.value() or PENDING
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = _offered(self) if self.value() else PENDING
        if value is None:
            return queryset
        return queryset if value == "all" else queryset.filter(status=value)


class KindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(k.name, k.label) for k in KINDS.values()]

    def queryset(self, request, queryset):
        return queryset.filter(kind=value) if (value := _offered(self)) else queryset


class CampaignFilter(admin.SimpleListFilter):
    """Campaign choices as plain (id, name) pairs: no model instances, one light query."""

    title = "campaign"
    parameter_name = "campaign"

    def lookups(self, request, model_admin):
        return list(
            Campaign.objects.exclude(status__in=["completed", "killed"]).order_by("name").values_list("pk", "name")
        )

    def queryset(self, request, queryset):
        return queryset.filter(campaign_id=self.value()) if is_id(self.value()) else queryset


class AuthorFilter(admin.SimpleListFilter):
    title = "author"
    parameter_name = "author"

    def lookups(self, request, model_admin):
        return list(get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")
                    .values_list("pk", "username"))  # fmt: skip

    def queryset(self, request, queryset):
        return queryset.filter(author_id=self.value()) if is_id(self.value()) else queryset


class PlatformFilter(admin.SimpleListFilter):
    title = "platform"
    parameter_name = "platform"

    def lookups(self, request, model_admin):
        return [(p, p) for p in ("x", "linkedin", "instagram", "facebook", "bluesky", "mastodon", "email")]

    def queryset(self, request, queryset):
        return queryset.filter(platforms__contains=value) if (value := _offered(self)) else queryset


class WaitingFilter(admin.SimpleListFilter):
    title = "waiting"
    parameter_name = "waiting"
    HOURS = {"1h": 1, "1d": 24, "3d": 72}

    def lookups(self, request, model_admin):
        return [("1h", "More than an hour"), ("1d", "More than a day"), ("3d", "More than 3 days")]

    def queryset(self, request, queryset):
        if self.value() in self.HOURS:
            return queryset.filter(submitted_at__lt=timezone.now() - timedelta(hours=self.HOURS[self.value()]))
        return queryset


class ScheduleFilter(admin.SimpleListFilter):
    title = "scheduled"
    parameter_name = "scheduled"

    def lookups(self, request, model_admin):
        return [("24h", "Within 24 hours"), ("7d", "Within 7 days"), ("none", "Not scheduled")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "24h":
            return queryset.filter(scheduled_at__range=(now, now + timedelta(hours=24)))
        if self.value() == "7d":
            return queryset.filter(scheduled_at__range=(now, now + timedelta(days=7)))
        if self.value() == "none":
            return queryset.filter(scheduled_at__isnull=True)
        return queryset


class ExpiredFilter(admin.SimpleListFilter):
    """Approvals that expired, and pending items whose scheduled time passed while they waited."""

    title = "expired"
    parameter_name = "expired"

    def lookups(self, request, model_admin):
        return [("yes", "Expired")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(~Q(expired_reason="") | Q(status=PENDING, scheduled_at__lt=timezone.now()))
        return queryset


@admin.register(ReviewItem)
class ReviewItemAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "campaign", "platforms", "author", "waiting", "schedule", "status"]
    list_filter = [StatusFilter, KindFilter, CampaignFilter, PlatformFilter, AuthorFilter, WaitingFilter,
                   ScheduleFilter, ExpiredFilter]  # fmt: skip
    search_fields = ["title"]
    ordering = ["submitted_at", "id"]
    list_select_related = ["campaign", "author"]
    list_per_page = 50
    show_full_result_count = False  # the count of all items is one more query nobody reads
    actions = ["approve", "reject", "request_changes"]
    fields = ["kind", "title", "campaign", "author", "status", "submitted_at", "schedule", "content_sha256",
              "expired_reason", "content", "diff", "history"]  # fmt: skip
    readonly_fields = fields

    # --- the queue ----------------------------------------------------------------------------
    def changelist_view(self, request, extra_context=None):
        refresh()  # catch up with the audit trail: one query when nothing changed
        extra_context = {**(extra_context or {}), "calendar_url": reverse("admin:review_calendar")}
        return super().changelist_view(request, extra_context)

    @admin.display(description="Waiting", ordering="submitted_at")
    def waiting(self, obj: ReviewItem) -> str:
        if obj.status != PENDING or not obj.submitted_at:
            return "—"
        hours = (timezone.now() - obj.submitted_at).total_seconds() / 3600
        return f"{hours / 24:.1f} d" if hours >= 48 else f"{hours:.1f} h"

    # --- the item page ------------------------------------------------------------------------
    def _target(self, item: ReviewItem):
        return KINDS[item.kind].queryset().filter(pk=item.object_id).first()

    @admin.display(description="Scheduled (campaign time)", ordering="scheduled_at")
    def schedule(self, item: ReviewItem) -> str:
        if not item.scheduled_at:
            return "as soon as approved"
        tz = item.campaign.tz if item.campaign else timezone.get_current_timezone()
        return f"{timezone.localtime(item.scheduled_at, tz):%Y-%m-%d %H:%M} {tz.key}"

    @admin.display(description="Content")
    def content(self, item: ReviewItem) -> str:
        obj = self._target(item)
        if obj is None:
            return "(deleted)"
        if item.kind == "post":
            return post_preview(obj)
        if item.kind == "strategy":
            return format_html('<pre style="white-space:pre-wrap">{}</pre><p>Channels: {}</p>', obj.strategy,
                               ", ".join(obj.channels))  # fmt: skip
        if item.kind == "template":
            return format_html('<p><strong>Subject:</strong> {}</p><pre style="white-space:pre-wrap">{}</pre>',
                               obj.subject, obj.body_text)  # fmt: skip
        return format_html("<pre>{}</pre>", str(obj))

    @admin.display(description="Changes since the last approval")
    def diff(self, item: ReviewItem) -> str:
        obj = self._target(item)
        if obj is None:
            return "—"
        return content_diff(last_approved_content(obj), current_content(item.kind, obj))

    @admin.display(description="History (every decision, with its content hash)")
    def history(self, item: ReviewItem) -> str:
        obj = self._target(item)
        return audit_table(obj) if obj is not None else "—"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "has_approve_permission": self.has_approve_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a read-only page; decisions are the actions

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("review.review") or self.has_approve_permission(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)  # reviewers see the queue in the admin's navigation

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return any(request.user.has_perm(p) for p in APPROVE_PERMISSIONS)

    # --- decisions ----------------------------------------------------------------------------
    def _decide(self, request: HttpRequest, queryset: QuerySet, decision: str):
        spec = DECISIONS[decision]
        items = list(queryset.select_related("campaign", "author"))
        if request.POST.get("confirm") != "yes":
            return self._confirmation(request, items, decision)
        note = request.POST.get("note", "").strip()
        if spec["needs"] and not note:
            messages.error(request, f"{spec['needs'].split(' (')[0].lower()}: required")
            return self._confirmation(request, items, decision)
        by_kind: dict[str, list[ReviewItem]] = defaultdict(list)
        for item in items:
            by_kind[item.kind].append(item)
        done = 0
        for kind_name, kind_items in by_kind.items():
            kind = KINDS[kind_name]
            if decision == "approve" and kind.approve_many:
                done += self._approve_many(request, kind, kind_items)
                continue
            objects = kind.queryset().in_bulk([i.object_id for i in kind_items])
            for item in kind_items:
                obj = objects.get(item.object_id)
                try:
                    if obj is None:
                        raise ValidationError("it no longer exists")
                    call = getattr(kind, decision)
                    call(obj, request.user) if decision == "approve" else call(obj, request.user, note)
                except (TransitionError, ValidationError) as exc:
                    self.message_user(request, f"{item}: not {spec['verb']}: {error_text(exc)}", messages.ERROR)
                else:
                    done += 1
            refresh_objects(kind, [i.object_id for i in kind_items])
        if done:
            self.message_user(request, f"{done} {spec['verb']}.", messages.SUCCESS)
        return None

    def _approve_many(self, request: HttpRequest, kind, items: list[ReviewItem]) -> int:
        """Set-based approval (hundreds at once); refusals are reported per item like the others."""
        objects = kind.queryset().prefetch_related(None).in_bulk([i.object_id for i in items])
        refused = kind.approve_many([objects[i.object_id] for i in items if i.object_id in objects], request.user)
        for item in items:
            reason = refused.get(item.object_id) or (None if item.object_id in objects else "it no longer exists")
            if reason:
                self.message_user(request, f"{item}: not approved: {reason}", messages.ERROR)
        refresh_status(kind, [i.object_id for i in items])
        return len(items) - len([i for i in items if refused.get(i.object_id) or i.object_id not in objects])

    def _confirmation(self, request: HttpRequest, items: list[ReviewItem], decision: str) -> TemplateResponse:
        spec = DECISIONS[decision]
        return TemplateResponse(request, "admin/review/decide.html", {
            **self.admin_site.each_context(request), "title": f"{spec['title']}: {len(items)} item(s)",
            "items": items, "decision": decision, "needs": spec["needs"], "opts": self.model._meta,
            "action_title": spec["title"],
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        })  # fmt: skip

    @admin.action(description="Approve the selected items (shows what will be approved first)", permissions=["approve"])
    def approve(self, request, queryset):
        return self._decide(request, queryset, "approve")

    @admin.action(description="Reject the selected items (asks for a reason)", permissions=["approve"])
    def reject(self, request, queryset):
        return self._decide(request, queryset, "reject")

    @admin.action(description="Request changes (asks for a comment)", permissions=["approve"])
    def request_changes(self, request, queryset):
        return self._decide(request, queryset, "request_changes")

    # --- calendar -----------------------------------------------------------------------------
    def get_urls(self):
        return [
            path("calendar/", self.admin_site.admin_view(self.calendar_view), name="review_calendar"),
            path(
                "calendar/reschedule/<int:post_id>/",
                self.admin_site.admin_view(self.reschedule_view),
                name="review_calendar_reschedule",
            ),
            *super().get_urls(),
        ]

    def calendar_view(self, request: HttpRequest) -> TemplateResponse:
        if not self.has_view_permission(request):
            raise PermissionError
        context = calendar.context(request)
        return TemplateResponse(request, "admin/review/calendar.html",
                                {**self.admin_site.each_context(request), **context, "opts": self.model._meta})  # fmt: skip

    def reschedule_view(self, request: HttpRequest, post_id: int):
        return calendar.reschedule(self, request, post_id)

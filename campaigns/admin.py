from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.http import HttpRequest
from django.utils.html import format_html

from . import services
from .actions import action_cancel, action_retry
from .adminkit import apply_service, audit_table, reason_action
from .models import Action, ActionLog, AuditEntry, Campaign, ChannelConfig


class ChannelConfigInline(admin.TabularInline):
    model = ChannelConfig
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "mode", "objective", "owner", "timezone", "start_date", "end_date"]
    list_filter = ["status", "mode", "objective"]
    search_fields = ["name", "slug", "description", "target_niche"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["status", "strategy_approved_sha256", "strategy_approved_by", "strategy_approved_at", "audit"]
    inlines = [ChannelConfigInline]
    list_select_related = ["owner"]
    actions = ["submit", "approve", "reject", "start", "pause", "resume", "complete", "kill"]

    @admin.display(description="Audit trail")
    def audit(self, obj: Campaign) -> str:
        return audit_table(obj)

    def save_model(self, request: HttpRequest, obj: Campaign, form, change: bool) -> None:
        # Writes go through the services (audit rows, approval voiding); the form only validated.
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in services.EDITABLE_FIELDS}
        if change:
            services.campaign_update(campaign=Campaign.objects.get(pk=obj.pk), actor=request.user, **fields)
        else:
            created = services.campaign_create(
                actor=request.user,
                **{n: form.cleaned_data[n] for n in form.cleaned_data if n in services.EDITABLE_FIELDS},
            )
            obj.pk = created.pk

    def _run(self, request, queryset, fn, verb):
        apply_service(self, request, queryset, lambda c: fn(campaign=c, actor=request.user), verb)

    @admin.action(description="Submit for review")
    def submit(self, request, queryset):
        self._run(request, queryset, services.campaign_submit, "submitted for review")

    @admin.action(description="Approve strategy", permissions=["approve"])
    def approve(self, request, queryset):
        self._run(request, queryset, services.campaign_approve, "approved")

    @admin.action(description="Reject strategy (asks for a reason)", permissions=["approve"])
    def reject(self, request, queryset):
        return reason_action(
            self, request, queryset,
            lambda c, reason: services.campaign_reject(campaign=c, actor=request.user, reason=reason),
            verb="rejected", title="Reject campaign strategies",
        )  # fmt: skip

    @admin.action(description="Start (run)")
    def start(self, request, queryset):
        self._run(request, queryset, services.campaign_start, "started")

    @admin.action(description="Pause")
    def pause(self, request, queryset):
        self._run(request, queryset, services.campaign_pause, "paused")

    @admin.action(description="Resume")
    def resume(self, request, queryset):
        self._run(request, queryset, services.campaign_resume, "resumed")

    @admin.action(description="Complete")
    def complete(self, request, queryset):
        self._run(request, queryset, services.campaign_complete, "completed")

    @admin.action(description="Kill (stop for good)")
    def kill(self, request, queryset):
        self._run(request, queryset, services.campaign_kill, "killed")

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("campaigns.approve_campaign")


class ActionLogInline(admin.TabularInline):
    model = ActionLog
    extra = 0
    can_delete = False
    fields = ["created_at", "attempt", "level", "status", "message", "artifact_ref", "artifact_sha256", "actor_label"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    list_display = ["idempotency_key", "action_type", "status", "campaign", "attempts", "not_before", "short_error"]
    list_filter = ["status", "action_type", "campaign"]
    search_fields = ["idempotency_key"]
    date_hierarchy = "created_at"
    list_select_related = ["campaign"]
    readonly_fields = [f.name for f in Action._meta.fields]
    inlines = [ActionLogInline]
    actions = ["retry", "cancel"]

    @admin.display(description="Last error")
    def short_error(self, obj: Action) -> str:
        return (obj.last_error or "")[:80]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Retry (dead letters and failures)")
    def retry(self, request, queryset):
        apply_service(self, request, queryset, lambda a: action_retry(action=a, actor=request.user), "queued again")

    @admin.action(description="Cancel")
    def cancel(self, request, queryset):
        apply_service(self, request, queryset,
                      lambda a: action_cancel(action=a, actor=request.user, reason="from the admin"), "cancelled")  # fmt: skip

    def changelist_view(self, request, extra_context=None):
        counts = dict(Action.objects.values_list("status").annotate(n=Count("id")).order_by())
        extra_context = {**(extra_context or {}), "title": format_html("Actions — {}", ", ".join(
            f"{s}: {counts.get(s, 0)}" for s in Action.Status.values))}  # fmt: skip
        return super().changelist_view(request, extra_context)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_label", "content_type", "object_id", "action", "old", "new", "note"]
    list_filter = ["content_type", "action"]
    search_fields = ["object_id", "actor_label", "note"]
    list_select_related = ["content_type"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.db.models import Count
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from . import controls, services
from .actions import action_cancel, action_retry
from .adminkit import apply_service, audit_table, reason_action
from .models import Action, ActionLog, AuditEntry, Campaign, ChannelConfig, ControlFlag, TickLedger


class ChannelConfigInline(admin.TabularInline):
    model = ChannelConfig
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "mode", "objective", "owner", "timezone", "start_date", "end_date"]
    list_filter = ["status", "mode", "objective"]
    search_fields = ["name", "slug", "description", "target_niche"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = [
        "status", "mode", "flags", "strategy_approved_sha256", "strategy_approved_by", "strategy_approved_at", "audit",
    ]  # fmt: skip
    inlines = [ChannelConfigInline]
    list_select_related = ["owner"]
    actions = [
        "submit", "approve", "reject", "start", "pause", "resume", "complete", "kill",
        "flag_pause", "flag_resume", "flag_kill", "flag_unkill", "switch_live", "switch_proof",
    ]  # fmt: skip

    @admin.display(description="Control flags")
    def flags(self, obj: Campaign) -> str:
        flags = controls.flags_get(obj)
        return f"paused={flags.paused}, killed={flags.killed}; effective mode: {'LIVE' if controls.is_live(obj) else 'PROOF'}"

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

    def has_control_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("campaigns.change_controlflag")

    def _control(self, request, queryset, action: str, verb: str):
        apply_service(self, request, queryset,
                      lambda c: controls.control_set(action=action, actor=request.user, campaign=c), verb)  # fmt: skip

    @admin.action(description="Flag: emergency pause (claims nothing for these campaigns)", permissions=["control"])
    def flag_pause(self, request, queryset):
        self._control(request, queryset, "pause", "paused by flag")

    @admin.action(description="Flag: lift the emergency pause", permissions=["control"])
    def flag_resume(self, request, queryset):
        self._control(request, queryset, "resume", "resumed")

    @admin.action(description="Flag: kill switch on", permissions=["control"])
    def flag_kill(self, request, queryset):
        self._control(request, queryset, "kill", "killed by flag")

    @admin.action(description="Flag: kill switch off", permissions=["control"])
    def flag_unkill(self, request, queryset):
        self._control(request, queryset, "unkill", "unkilled")

    @admin.action(description="Switch to LIVE (also needs the global LIVE flag)", permissions=["control"])
    def switch_live(self, request, queryset):
        self._control(request, queryset, "live", "switched to LIVE")

    @admin.action(description="Switch to PROOF", permissions=["control"])
    def switch_proof(self, request, queryset):
        self._control(request, queryset, "proof", "switched to PROOF")


class ActionLogInline(admin.TabularInline):
    model = ActionLog
    extra = 0
    can_delete = False
    fields = ["created_at", "attempt", "level", "status", "message", "artifact_ref", "artifact_sha256", "actor_label"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"
    AGES = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}

    def lookups(self, request, model_admin):
        return [("1h", "Older than an hour"), ("1d", "Older than a day"), ("7d", "Older than a week")]

    def queryset(self, request, queryset):
        if self.value() in self.AGES:
            return queryset.filter(created_at__lt=timezone.now() - self.AGES[self.value()])
        return queryset


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    list_display = ["idempotency_key", "action_type", "status", "campaign", "attempts", "not_before", "short_error"]
    list_filter = ["status", "action_type", "campaign", AgeFilter]
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

    @admin.action(description="Retry (dead letters and failures; re-runs a reconcile)")
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


@admin.register(ControlFlag)
class ControlFlagAdmin(admin.ModelAdmin):
    """The global row (created by a migration) and one row per campaign that was ever flagged."""

    list_display = ["scope", "paused", "killed", "live", "updated_at"]
    readonly_fields = ["scope", "campaign", "paused", "killed", "live", "updated_at", "audit"]
    actions = ["pause", "resume", "kill", "unkill", "live", "proof"]

    @admin.display(description="Audit trail")
    def audit(self, obj: ControlFlag) -> str:
        return audit_table(obj)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _set(self, request, queryset, action):
        apply_service(self, request, queryset,
                      lambda f: controls.control_set(action=action, actor=request.user, campaign=f.campaign),
                      f"set to {action}")  # fmt: skip

    @admin.action(description="Pause (claim nothing)")
    def pause(self, request, queryset):
        self._set(request, queryset, "pause")

    @admin.action(description="Resume")
    def resume(self, request, queryset):
        self._set(request, queryset, "resume")

    @admin.action(description="Kill switch on")
    def kill(self, request, queryset):
        self._set(request, queryset, "kill")

    @admin.action(description="Kill switch off")
    def unkill(self, request, queryset):
        self._set(request, queryset, "unkill")

    @admin.action(description="LIVE (needs PUBLISHING_MODE=live)")
    def live(self, request, queryset):
        self._set(request, queryset, "live")

    @admin.action(description="PROOF")
    def proof(self, request, queryset):
        self._set(request, queryset, "proof")


@admin.register(TickLedger)
class TickLedgerAdmin(admin.ModelAdmin):
    list_display = ["created_at", "campaign", "slot", "ok", "enqueued", "error"]
    list_filter = ["ok", "campaign"]
    readonly_fields = [f.name for f in TickLedger._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


from . import admin_api  # noqa: E402, F401  (API tokens and webhooks)

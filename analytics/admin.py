from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from campaigns.adminkit import audit_table
from campaigns.audit import audit_record

from . import services
from .dashboard import dashboard_view
from .models import Alert, Conversion, DailyMetric, FeedbackRule, MetricSnapshot, SpendEntry, TrackedLink, WeeklySummary


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(SpendEntry)
class SpendEntryAdmin(admin.ModelAdmin):
    list_display = ["day", "campaign", "channel", "amount", "note", "created_by"]
    list_filter = ["channel", "campaign"]
    date_hierarchy = "day"
    list_select_related = ["campaign", "created_by"]

    def save_model(self, request, obj: SpendEntry, form, change: bool) -> None:
        # Through the services: they mark the day for the next rollup and write the audit row.
        if change:
            fields = {name: form.cleaned_data[name] for name in form.changed_data}
            services.spend_update(entry=SpendEntry.objects.get(pk=obj.pk), actor=request.user, **fields)
        else:
            created = services.spend_record(
                campaign=obj.campaign, channel=obj.channel, day=obj.day, amount=obj.amount, note=obj.note,
                actor=request.user,
            )  # fmt: skip
            obj.pk = created.pk

    def delete_model(self, request, obj: SpendEntry) -> None:
        services.spend_delete(entry=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for entry in queryset:
            services.spend_delete(entry=entry, actor=request.user)


@admin.register(Conversion)
class ConversionAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "lead", "campaign", "kind", "value", "created_by"]
    list_filter = ["kind", "campaign"]
    raw_id_fields = ["lead"]
    readonly_fields = ["event_id", "created_by", "audit"]
    list_select_related = ["lead", "campaign", "created_by"]

    @admin.display(description="Audit trail")
    def audit(self, obj: Conversion) -> str:
        return audit_table(obj) if obj.pk else "–"

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)  # recorded once; add a correction

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # its event is in the append-only log

    def save_model(self, request, obj: Conversion, form, change: bool) -> None:
        created = services.conversion_record(
            lead=obj.lead, value=obj.value, actor=request.user, kind=obj.kind, occurred_at=obj.occurred_at,
            campaign=obj.campaign, note=obj.note,
        )  # fmt: skip
        obj.pk = created.pk


@admin.register(FeedbackRule)
class FeedbackRuleAdmin(admin.ModelAdmin):
    list_display = ["campaign", "kind", "threshold", "min_sends", "window_days", "action", "enabled", "fired_at",
                    "last_value", "last_evaluated_at"]  # fmt: skip
    list_filter = ["kind", "action", "enabled"]
    readonly_fields = ["fired_at", "last_value", "last_evaluated_at", "audit"]
    list_select_related = ["campaign"]

    @admin.display(description="Audit trail")
    def audit(self, obj: FeedbackRule) -> str:
        return audit_table(obj) if obj.pk else "–"

    def save_model(self, request, obj: FeedbackRule, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        changes = {name: str(form.cleaned_data[name]) for name in form.changed_data}
        audit_record(obj=obj, actor=request.user, action="rule:changed" if change else "rule:created", data=changes)


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "campaign", "message", "emailed_to"]
    list_filter = ["campaign"]
    list_select_related = ["campaign"]


@admin.register(TrackedLink)
class TrackedLinkAdmin(ReadOnlyAdmin):
    list_display = ["code", "campaign", "channel", "target", "email_step", "destination", "created_at"]
    list_filter = ["channel", "campaign"]
    search_fields = ["code", "destination"]
    list_select_related = ["campaign", "target"]


@admin.register(MetricSnapshot)
class MetricSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["day", "target", "impressions", "likes", "replies", "reposts", "clicks", "fetched_at"]
    date_hierarchy = "day"
    list_select_related = ["target__post", "target__account"]


@admin.register(WeeklySummary)
class WeeklySummaryAdmin(ReadOnlyAdmin):
    list_display = ["week", "campaign", "status", "recipient", "sent_at"]
    list_select_related = ["campaign"]


@admin.register(DailyMetric)
class DailyMetricAdmin(ReadOnlyAdmin):
    """The changelist is the campaign dashboard (charts, filters, CSV); rows are the rollup's."""

    def get_urls(self):
        from django.urls import path

        info = self.opts.app_label, self.opts.model_name
        return [
            path("", self.admin_site.admin_view(self.dashboard), name="{}_{}_changelist".format(*info)),
        ]

    def dashboard(self, request: HttpRequest):
        from django.core.exceptions import PermissionDenied

        if not self.has_view_permission(request):
            raise PermissionDenied
        return dashboard_view(request, self)

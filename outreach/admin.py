"""Outreach in the admin: leads (GDPR export/erase, CSV import), suppressions (DNC import), mailboxes,
IMAP inboxes (poll now), templates (preview, review), sequences, enrollments, attempts, ESP events and replies.

Statuses are read-only; every write goes through outreach's services.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from campaigns.adminkit import apply_service, audit_table, error_text, reason_action
from campaigns.errors import TransitionError
from campaigns.models import Campaign

from . import imap_poll, services
from . import sequences as seq_services
from .importing import check_encoding, leads_import
from .models import (
    CaptureForm,
    Enrollment,
    EspEvent,
    ImapInbox,
    Lead,
    Mailbox,
    OutreachTask,
    Reply,
    SendAttempt,
    Sequence,
    SequenceStep,
    Suppression,
    Template,
)


class ImportForm(forms.Form):
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.all())
    file = forms.FileField(help_text="CSV, UTF-8, header on the first line")
    mapping = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Optional, one 'Column header=field' per line; default: columns named like the fields.",
    )  # fmt: skip

    def clean_mapping(self) -> dict[str, str]:
        mapping = {}
        for number, line in enumerate(self.cleaned_data["mapping"].splitlines(), start=1):
            if not line.strip():
                continue
            column, sep, field = line.partition("=")
            if not sep or not column.strip() or not field.strip():
                raise ValidationError(f"line {number}: {line!r} is not 'Column=field'")
            mapping[column.strip()] = field.strip()
        return mapping


class DncForm(forms.Form):
    file = forms.FileField(help_text="One email or domain (@example.com) a line, UTF-8")


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["__str__", "email", "company", "status", "consent_status", "score", "campaign", "created_at"]
    list_filter = ["status", "consent_status", "source_channel", "campaign"]
    search_fields = ["name", "email", "company", "phone"]
    list_select_related = ["campaign"]
    readonly_fields = ["status", "identity_sha256", "erased_at", "created_at", "updated_at", "audit"]
    actions = ["export_json", "erase", "unsubscribe", "mark_qualified", "mark_lost"]
    change_list_template = "admin/outreach/lead/change_list.html"

    @admin.display(description="Audit trail")
    def audit(self, obj: Lead) -> str:
        return audit_table(obj)

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="outreach_lead_import"),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            messages.error(request, "You may not add leads.")
            return HttpResponseRedirect(reverse("admin:outreach_lead_changelist"))
        form = ImportForm(request.POST or None, request.FILES or None)
        status = 200
        if request.method == "POST":
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    check_encoding(upload.chunks())
                    upload.seek(0)
                    import io

                    stream = io.TextIOWrapper(upload.file, encoding="utf-8-sig", newline="")
                    report = leads_import(stream=stream, campaign=form.cleaned_data["campaign"], actor=request.user,
                                          mapping=form.cleaned_data["mapping"] or None,
                                          source_ref=f"csv:{upload.name}")  # fmt: skip
                except ValidationError as exc:
                    form.add_error(None, error_text(exc))
                    status = 400
                else:
                    messages.success(request, report.summary())
                    for line, reason in report.invalid[:20]:
                        messages.warning(request, f"line {line}: {reason}")
                    if len(report.invalid) > 20:
                        messages.warning(request, f"… and {len(report.invalid) - 20} more invalid lines")
                    return HttpResponseRedirect(reverse("admin:outreach_lead_changelist"))
            else:
                status = 400
        context = {**self.admin_site.each_context(request), "title": "Import leads from CSV", "form": form,
                   "opts": self.model._meta}  # fmt: skip
        return TemplateResponse(request, "admin/outreach/import_form.html", context, status=status)

    def save_model(self, request: HttpRequest, obj: Lead, form, change: bool) -> None:
        fields = {n: form.cleaned_data[n] for n in form.changed_data if n in services.LEAD_FIELDS}
        if change:
            if fields:
                services.lead_update(lead=Lead.objects.get(pk=obj.pk), actor=request.user, **fields)
        else:
            created, _ = services.lead_upsert(actor=request.user, campaign=form.cleaned_data.get("campaign"),
                                              **{n: form.cleaned_data[n] for n in services.LEAD_FIELDS
                                                 if n in form.cleaned_data})  # fmt: skip
            obj.pk = created.pk
            obj._state.adding = False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)

        # Run the service's checks (identity, phone, duplicate person) as form validation: errors show on
        # the form as field errors instead of a 500 from save_model.
        class Checked(form):  # type: ignore[valid-type,misc]
            def clean(inner) -> dict:
                data = super().clean()
                fields = {n: data.get(n) for n in services.LEAD_FIELDS if n in data}
                try:
                    candidate = services.lead_prepare(**fields)
                    twin = Lead.objects.filter(identity_sha256=candidate.identity_sha256)
                    if obj is not None:
                        twin = twin.exclude(pk=obj.pk)
                    if obj is not None and twin.exists():
                        raise ValidationError({"email": "another lead is already this person"})
                except ValidationError as exc:
                    for field, msgs in exc.message_dict.items():
                        inner.add_error(field if field in inner.fields else None, msgs)
                return data

        return Checked

    @admin.action(description="GDPR: export the selected leads' data (JSON)")
    def export_json(self, request, queryset):
        data = [services.lead_export(lead=lead, actor=request.user) for lead in queryset]
        response = HttpResponse(json.dumps(data, cls=DjangoJSONEncoder, indent=2), content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="leads-export.json"'
        return response

    @admin.action(description="GDPR: erase the selected leads (keeps only a suppression hash)")
    def erase(self, request, queryset):
        apply_service(self, request, queryset, lambda lead: services.lead_erase(lead=lead, actor=request.user),
                      "erased")  # fmt: skip

    @admin.action(description="Unsubscribe the selected leads (suppression everywhere)")
    def unsubscribe(self, request, queryset):
        apply_service(self, request, queryset, lambda lead: services.lead_unsubscribe(
            lead=lead, campaign=lead.campaign, actor=request.user, source="admin"), "unsubscribed")  # fmt: skip

    @admin.action(description="Mark qualified")
    def mark_qualified(self, request, queryset):
        apply_service(self, request, queryset, lambda lead: services.lead_set_status(
            lead=lead, to=Lead.Status.QUALIFIED, actor=request.user), "marked qualified")  # fmt: skip

    @admin.action(description="Mark lost")
    def mark_lost(self, request, queryset):
        apply_service(self, request, queryset, lambda lead: services.lead_set_status(
            lead=lead, to=Lead.Status.LOST, actor=request.user), "marked lost")  # fmt: skip


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["kind", "value", "reason", "source", "campaign", "created_at"]
    list_filter = ["kind", "reason"]
    search_fields = ["value"]
    readonly_fields = ["created_at"]
    change_list_template = "admin/outreach/suppression/change_list.html"

    def get_urls(self):
        return [
            path("dnc-import/", self.admin_site.admin_view(self.dnc_view), name="outreach_suppression_dnc"),
            *super().get_urls(),
        ]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: Suppression, form, change: bool) -> None:
        row, _ = services.suppression_add(kind=obj.kind, value=obj.value, reason=obj.reason, actor=request.user,
                                          source=obj.source or "admin", campaign=obj.campaign)  # fmt: skip
        obj.pk = row.pk
        obj._state.adding = False

    def dnc_view(self, request: HttpRequest) -> HttpResponse:
        form = DncForm(request.POST or None, request.FILES or None)
        status = 200
        if request.method == "POST":
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    check_encoding(upload.chunks())
                    upload.seek(0)
                    lines = (raw.decode("utf-8-sig") for raw in upload)
                    report = services.dnc_import(lines=lines, actor=request.user, source=f"dnc:{upload.name}")
                except ValidationError as exc:
                    form.add_error(None, error_text(exc))
                    status = 400
                else:
                    messages.success(request, f"{report['added']} added, {report['existing']} already suppressed, "
                                              f"{len(report['invalid'])} invalid")  # fmt: skip
                    for line, reason in report["invalid"][:20]:
                        messages.warning(request, f"line {line}: {reason}")
                    return HttpResponseRedirect(reverse("admin:outreach_suppression_changelist"))
            else:
                status = 400
        context = {**self.admin_site.each_context(request), "title": "Import a do-not-contact list", "form": form,
                   "opts": self.model._meta}  # fmt: skip
        return TemplateResponse(request, "admin/outreach/import_form.html", context, status=status)


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ["__str__", "campaign", "daily_cap", "hourly_cap", "warmup_start", "warmup_step", "active"]
    list_filter = ["campaign", "active"]


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "campaign", "status", "approved_by", "updated_at"]
    list_filter = ["status", "campaign"]
    readonly_fields = ["status", "content_sha256", "approved_sha256", "approved_by", "approved_at",
                       "rejection_reason", "preview", "audit"]  # fmt: skip
    actions = ["submit", "approve", "reject", "reopen"]

    @admin.display(description="Preview (first lead of the campaign)")
    def preview(self, obj: Template) -> str:
        if obj is None or obj.pk is None:
            return "—"
        lead = Lead.objects.filter(campaign=obj.campaign, erased_at__isnull=True).order_by("pk").first()
        if lead is None:
            return "no lead in this campaign to preview with"
        rendered = seq_services.template_preview(template=obj, lead=lead)
        if isinstance(rendered, str):
            return format_html("<strong>Blocked for {}:</strong> {}", lead, rendered)
        return format_html("<p>To {}: <strong>{}</strong></p><pre>{}</pre>", lead, rendered.subject, rendered.text)

    @admin.display(description="Audit trail")
    def audit(self, obj: Template) -> str:
        return audit_table(obj)

    def save_model(self, request, obj: Template, form, change: bool) -> None:
        fields = {n: form.cleaned_data[n] for n in seq_services.TEMPLATE_FIELDS if n in form.cleaned_data}
        if change:
            changed = {n: v for n, v in fields.items() if n in form.changed_data}
            if changed:
                seq_services.template_update(template=Template.objects.get(pk=obj.pk), actor=request.user, **changed)
        else:
            created = seq_services.template_create(campaign=form.cleaned_data["campaign"], actor=request.user,
                                                   **fields)  # fmt: skip
            obj.pk = created.pk
            obj._state.adding = False

    @admin.action(description="Submit for review")
    def submit(self, request, queryset):
        apply_service(self, request, queryset, lambda t: seq_services.template_submit(template=t, actor=request.user),
                      "submitted")  # fmt: skip

    @admin.action(description="Approve (binds the approval to the exact content)")
    def approve(self, request, queryset):
        apply_service(self, request, queryset, lambda t: seq_services.template_approve(template=t, actor=request.user),
                      "approved")  # fmt: skip

    @admin.action(description="Reject (asks for a reason)")
    def reject(self, request, queryset):
        return reason_action(self, request, queryset, lambda t, reason: seq_services.template_reject(
            template=t, actor=request.user, reason=reason), verb="rejected", title="Reject templates")  # fmt: skip

    @admin.action(description="Back to draft")
    def reopen(self, request, queryset):
        apply_service(self, request, queryset, lambda t: seq_services.template_reopen(template=t, actor=request.user),
                      "reopened")  # fmt: skip


class StepInline(admin.TabularInline):
    model = SequenceStep
    extra = 1


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    list_display = ["name", "campaign", "send_days", "window_start", "window_end", "timeout_days", "active"]
    list_filter = ["campaign", "active"]
    inlines = [StepInline]


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["lead", "sequence", "status", "next_position", "next_due_at", "last_touch_at", "stop_reason"]
    list_filter = ["status", "sequence"]
    list_select_related = ["lead", "sequence"]
    readonly_fields = ["status", "next_position", "next_due_at", "last_touch_at", "stop_reason", "created_at",
                       "campaign"]  # fmt: skip
    raw_id_fields = ["lead"]

    def save_model(self, request, obj: Enrollment, form, change: bool) -> None:
        if change:
            return
        try:
            created, _ = seq_services.enrollment_create(lead=obj.lead, sequence=obj.sequence, actor=request.user)
        except (ValidationError, TransitionError) as exc:
            messages.error(request, error_text(exc))
            return
        obj.pk = created.pk
        obj._state.adding = False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SendAttempt)
class SendAttemptAdmin(ReadOnlyAdmin):
    list_display = ["idempotency_key", "lead", "mailbox", "status", "error_class", "created_at", "finished_at"]
    list_filter = ["status", "channel", "error_class"]
    search_fields = ["idempotency_key", "message_id", "esp_message_id", "to_email"]
    list_select_related = ["lead", "mailbox"]
    actions = ["reconcile_sent", "reconcile_not_sent"]

    @admin.action(description="Reconcile: it WAS sent (check the mailbox's Sent folder or the ESP log)")
    def reconcile_sent(self, request, queryset):
        from .handlers import attempt_reconcile

        apply_service(self, request, queryset, lambda a: attempt_reconcile(attempt=a, actor=request.user,
                                                                           was_sent=True), "recorded as sent")  # fmt: skip

    @admin.action(description="Reconcile: it was NOT sent, send it again")
    def reconcile_not_sent(self, request, queryset):
        from .handlers import attempt_reconcile

        apply_service(self, request, queryset, lambda a: attempt_reconcile(attempt=a, actor=request.user,
                                                                           was_sent=False), "queued again")  # fmt: skip


@admin.register(EspEvent)
class EspEventAdmin(ReadOnlyAdmin):
    list_display = ["esp", "event_type", "recipient", "received_at", "processed_at", "result"]
    list_filter = ["esp", "kind", "event_type"]
    search_fields = ["event_id", "message_id", "recipient"]


@admin.register(Reply)
class ReplyAdmin(ReadOnlyAdmin):
    list_display = ["from_email", "label", "lead", "matched_by", "subject", "received_at"]
    list_filter = ["label", "matched_by"]
    list_select_related = ["lead"]


@admin.register(OutreachTask)
class OutreachTaskAdmin(admin.ModelAdmin):
    list_display = ["lead", "step", "status", "created_at"]
    list_filter = ["status"]
    readonly_fields = ["lead", "step", "text", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False  # a task belongs to a lead's sequence step: the producer makes it, a form cannot


@admin.register(CaptureForm)
class CaptureFormAdmin(admin.ModelAdmin):
    list_display = ["campaign", "enabled", "double_opt_in", "rate_limit_per_hour", "sequence"]


class ImapInboxForm(forms.ModelForm):
    """The password is write-only: never rendered back; left blank it keeps the stored one."""

    new_password = forms.CharField(label="Password", required=False, strip=False,
                                   widget=forms.PasswordInput(render_value=False),
                                   help_text="Stored encrypted. Leave blank to keep the current password.")  # fmt: skip

    class Meta:
        model = ImapInbox
        fields = ["name", "host", "port", "security", "username", "new_password", "folder", "enabled"]

    def clean(self) -> dict:
        data = super().clean()
        if not self.instance.pk and not data.get("new_password"):
            self.add_error("new_password", "a password is required for a new inbox")
        return data


@admin.register(ImapInbox)
class ImapInboxAdmin(admin.ModelAdmin):
    form = ImapInboxForm
    list_display = ["name", "username", "host", "folder", "enabled", "last_polled_at", "messages_stored", "last_error"]
    list_filter = ["enabled"]
    readonly_fields = ["uidvalidity", "last_uid", "last_polled_at", "messages_stored", "last_error", "audit"]
    actions = ["poll_now"]
    CURSOR_FIELDS = ("host", "port", "username", "folder")

    @admin.display(description="history")
    def audit(self, obj: ImapInbox) -> str:
        return audit_table(obj)

    def save_model(self, request, obj: ImapInbox, form, change: bool) -> None:
        if form.cleaned_data.get("new_password"):
            obj.password = form.cleaned_data["new_password"]
        super().save_model(request, obj, form, change)
        moved = [name for name in self.CURSOR_FIELDS if name in form.changed_data]
        if change and moved:
            imap_poll.inbox_cursor_reset(inbox=obj, actor=request.user,
                                         reason=f"{', '.join(moved)} changed: the next poll rescans")  # fmt: skip

    @admin.action(description="Poll the selected inboxes now")
    def poll_now(self, request, queryset):
        for inbox in queryset:
            try:
                result = imap_poll.inbox_poll(inbox=inbox, actor=request.user)
            except imap_poll.ImapPollError as exc:
                self.message_user(request, f"{inbox.name}: {exc}", messages.ERROR)
            else:
                self.message_user(request, str(result), messages.SUCCESS)

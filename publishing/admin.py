from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from campaigns.adminkit import apply_service, audit_table, reason_action
from campaigns.inputs import is_id
from campaigns.models import Campaign

from . import services
from .models import Post, PublishTarget, SocialAccount
from .selectors import target_timeline


@admin.register(SocialAccount)
class SocialAccountAdmin(admin.ModelAdmin):
    list_display = [
        "handle",
        "platform",
        "external_id",
        "display_name",
        "is_active",
        "token_status",
        "token_expires_at",
    ]
    list_filter = ["platform", "is_active", "token_status"]
    search_fields = ["handle", "external_id", "display_name"]
    # Tokens are never shown or editable here: only the connect flows and the refresher write them.
    fields = ["platform", "handle", "external_id", "display_name", "is_active", "extra", "token_status",
              "token_expires_at", "scopes", "token_refreshed_at", "token_error"]  # fmt: skip
    readonly_fields = ["token_status", "token_expires_at", "scopes", "token_refreshed_at", "token_error"]


class PublishTargetInline(admin.TabularInline):
    model = PublishTarget
    extra = 0
    fields = ["account", "status", "platform_post_id", "published_at", "artifact_path", "artifact_sha256", "last_error"]
    readonly_fields = ["status", "platform_post_id", "published_at", "artifact_path", "artifact_sha256", "last_error"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["title", "campaign", "status", "scheduled_at", "author", "approved_by", "updated_at"]
    list_filter = ["status", "campaign", "targets__account__platform"]
    search_fields = ["title", "body"]
    list_select_related = ["campaign", "author", "approved_by"]
    readonly_fields = [
        "status",
        "content_sha256",
        "approved_sha256",
        "approved_by",
        "approved_at",
        "rejection_reason",
        "audit",
    ]
    inlines = [PublishTargetInline]
    actions = ["submit"]

    @admin.display(description="Audit trail")
    def audit(self, obj: Post) -> str:
        return audit_table(obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Times are entered and shown in the post's campaign time zone, not the server's."""
        campaign = None
        if is_id(object_id):
            campaign = Campaign.objects.filter(posts__pk=object_id).first()
        elif not object_id and request.method == "POST" and is_id(request.POST.get("campaign")):
            campaign = Campaign.objects.filter(pk=request.POST["campaign"]).first()
        if campaign is None:
            return super().changeform_view(request, object_id, form_url, extra_context)
        extra_context = {**(extra_context or {}), "subtitle": f"Times in {campaign.timezone}"}
        with timezone.override(campaign.tz):
            response = super().changeform_view(request, object_id, form_url, extra_context)
            # A TemplateResponse renders lazily: render it while the campaign's zone is active.
            return response.render() if hasattr(response, "render") else response

    def save_model(self, request: HttpRequest, obj: Post, form, change: bool) -> None:
        # Through the service: an edit of approved content voids the approval (DESIGN.md).
        if change:
            fields = {n: form.cleaned_data[n] for n in form.changed_data if n in services.EDITABLE_FIELDS}
            if fields:
                services.post_update(post=Post.objects.get(pk=obj.pk), actor=request.user, **fields)
        else:
            created = services.post_create(
                campaign=form.cleaned_data["campaign"], author=request.user, accounts=[],
                **{n: form.cleaned_data[n] for n in services.EDITABLE_FIELDS if n in form.cleaned_data},
            )  # fmt: skip
            obj.pk = created.pk
            obj._state.adding = False

    @admin.action(description="Submit for review")
    def submit(self, request, queryset):
        apply_service(self, request, queryset, lambda p: services.post_submit(post=p, actor=request.user), "submitted")


@admin.register(PublishTarget)
class PublishTargetAdmin(admin.ModelAdmin):
    """One account of one post: its status, platform id and timeline ("why didn't it go out?")."""

    list_display = ["__str__", "status", "due_at", "platform_post_id", "published_at", "short_error"]
    list_filter = ["status", "account__platform", "post__campaign"]
    search_fields = ["post__title", "platform_post_id", "account__handle"]
    list_select_related = ["post", "account"]
    readonly_fields = ["post", "account", "status", "due_at", "platform_post_id", "platform_url", "published_at",
                       "attempt_started_at", "generation", "artifact_path", "artifact_sha256", "last_error",
                       "timeline"]  # fmt: skip
    fields = readonly_fields
    actions = ["retry_failed", "reconcile_published", "reconcile_absent"]

    @admin.display(description="Last error")
    def short_error(self, obj: PublishTarget) -> str:
        return (obj.last_error or "")[:80]

    @admin.display(description="Timeline")
    def timeline(self, obj: PublishTarget) -> str:
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e.at.strftime("%Y-%m-%d %H:%M:%S"), e.source, e.what, e.detail, e.actor) for e in target_timeline(obj)),
        )  # fmt: skip
        return format_html(
            '<table class="timeline"><thead><tr><th>When (UTC)</th><th>Where</th><th>What</th><th>Detail</th>'
            "<th>Who</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Retry the selected failed targets (only those)")
    def retry_failed(self, request, queryset):
        apply_service(self, request, queryset.select_related("post"),
                      lambda t: services.target_rearm(target=t, actor=request.user), "queued again")  # fmt: skip

    @admin.action(description="Reconcile: it IS on the platform (asks for its id)")
    def reconcile_published(self, request, queryset):
        return reason_action(
            self, request, queryset.select_related("post", "account"),
            lambda t, post_id: services.target_published(
                target=t, actor=request.user, platform_post_id=post_id, sha256=t.post.approved_sha256),
            verb="marked published", title="Mark as published", label="Platform post id (as the platform shows it)",
        )  # fmt: skip

    @admin.action(description="Reconcile: it is NOT on the platform, send it again")
    def reconcile_absent(self, request, queryset):
        apply_service(self, request, queryset.select_related("post"),
                      lambda t: services.target_confirm_absent(target=t, actor=request.user,
                                                               note="checked by hand: not on the platform"),
                      "armed again")  # fmt: skip

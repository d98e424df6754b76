from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from campaigns.adminkit import apply_service, audit_table

from . import services
from .models import Post, PublishTarget, SocialAccount


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

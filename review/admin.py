"""The review queue: marketers approve and reject here; the services in publishing do the writing."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from campaigns.adminkit import apply_service, audit_table, reason_action
from publishing import services
from publishing.models import Post

from .models import PostReview


class StatusFilter(admin.SimpleListFilter):
    """Pending review by default: the queue opens on what needs a decision."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("all", "All"), *Post.Status.choices]

    def choices(self, changelist):
        value = self.value() or Post.Status.PENDING_REVIEW
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or Post.Status.PENDING_REVIEW
        return queryset if value == "all" else queryset.filter(status=value)


@admin.register(PostReview)
class PostReviewAdmin(admin.ModelAdmin):
    list_display = ["title", "campaign", "platforms", "author", "scheduled_at", "updated_at", "status"]
    list_filter = [StatusFilter, "campaign"]
    search_fields = ["title", "body"]
    ordering = ["updated_at"]  # oldest waiting first
    list_select_related = ["campaign", "author"]
    fields = ["title", "campaign", "author", "body_preview", "media_urls", "link_url", "scheduled_at", "status",
              "content_sha256", "approved_sha256", "approved_by", "approved_at", "rejection_reason", "targets", "audit"]  # fmt: skip
    readonly_fields = fields
    actions = ["approve", "reject"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("targets__account")

    @admin.display(description="Platforms")
    def platforms(self, obj: Post) -> str:
        return ", ".join(sorted({t.account.platform for t in obj.targets.all()}))

    @admin.display(description="Content")
    def body_preview(self, obj: Post) -> str:
        return format_html('<pre style="white-space:pre-wrap">{}</pre><p>{} characters</p>', obj.body, len(obj.body))

    @admin.display(description="Targets")
    def targets(self, obj: Post) -> str:
        return format_html_join(
            "", "<div>{} — {} {}</div>", ((t.account, t.status, t.platform_post_id) for t in obj.targets.all())
        )

    @admin.display(description="Audit trail")
    def audit(self, obj: Post) -> str:
        return audit_table(obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # read-only page; decisions are the actions

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("publishing.view_post")

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("publishing.approve_post")

    @admin.action(description="Approve the selected posts (exactly as shown)", permissions=["approve"])
    def approve(self, request, queryset):
        apply_service(self, request, queryset, lambda p: services.post_approve(post=p, actor=request.user), "approved")

    @admin.action(description="Reject the selected posts (asks for a reason)", permissions=["approve"])
    def reject(self, request, queryset):
        return reason_action(
            self, request, queryset, lambda p, reason: services.post_reject(post=p, actor=request.user, reason=reason),
            verb="rejected", title="Reject posts",
        )  # fmt: skip

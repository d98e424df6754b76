from django.contrib import admin

from .models import Lead


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "company", "status", "campaign", "created_at"]
    list_filter = ["status", "campaign"]
    search_fields = ["name", "email", "company"]
    readonly_fields = ["status", "identity_sha256"]
    list_select_related = ["campaign"]

"""Admin of the HTTP API: tokens (secret shown once), webhook subscriptions and their deliveries."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from .apitokens import token_issue, token_revoke
from .models import ApiToken, WebhookAttempt, WebhookDelivery, WebhookSubscription


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=ApiToken.Scope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiToken
        fields = ["name", "scopes", "user", "rate_per_minute", "expires_at"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if ApiToken.Scope.REVIEWER in (data.get("scopes") or []) and not data.get("user") and not self.instance.pk:
            self.add_error("user", "a reviewer token acts as a person: choose the user")
        return data


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ["name", "prefix", "scopes", "user", "expires_at", "revoked_at", "last_used_at", "created_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "revoked_at", "last_used_at", "created_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Scopes and owner are fixed once issued: issue a new token instead of widening an old one.
        return [*self.readonly_fields, "scopes", "user"] if obj else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        secret = token_issue(token=obj, actor=request.user)
        messages.warning(
            request, f"Token for {obj.name}: {secret} — copy it now, it is not stored and will not be shown again."
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for token in queryset:
            token_revoke(token=token, actor=request.user)
        self.message_user(request, f"Revoked {queryset.count()} token(s).")


class WebhookSubscriptionForm(forms.ModelForm):
    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "event_types", "token", "is_active"]

    def clean_url(self) -> str:
        from .webhooks_out import DestinationRefused, check_destination

        url = self.cleaned_data["url"]
        try:
            check_destination(url)
        except DestinationRefused as exc:
            raise forms.ValidationError(str(exc).removeprefix("url: ")) from None
        return url


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ["name", "url", "event_types", "is_active", "token", "created_at"]
    list_filter = ["is_active"]
    fields = ["name", "url", "event_types", "token", "is_active"]

    def save_model(self, request: HttpRequest, obj: WebhookSubscription, form: Any, change: bool) -> None:
        from .webhooks_out import subscription_save

        secret = subscription_save(subscription=obj, actor=request.user)
        if secret:
            messages.warning(
                request, f"Signing secret of {obj.name}: {secret} — copy it now, it will not be shown again."
            )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["attempt", "status_code", "error", "duration_ms", "response_excerpt", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["message_id", "event_type", "subscription", "status", "attempts", "last_status_code", "created_at"]
    list_filter = ["status", "event_type", "subscription"]
    list_select_related = ["subscription"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    inlines = [WebhookAttemptInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

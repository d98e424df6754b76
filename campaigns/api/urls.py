from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("campaigns/", views.CampaignListView.as_view(), name="api-campaigns"),
    path("campaigns/<int:pk>/", views.CampaignDetailView.as_view(), name="api-campaign"),
    path("campaigns/<int:pk>/audit/", views.CampaignAuditView.as_view(), name="api-campaign-audit"),
    *[
        path(f"campaigns/<int:pk>/{name}/", view.as_view(), name=f"api-campaign-{name}")
        for name, view in views.CAMPAIGN_MOVES.items()
    ],
    path("actions/", views.ActionListView.as_view(), name="api-actions"),
    path("actions/<int:pk>/", views.ActionDetailView.as_view(), name="api-action"),
    path("actions/<int:pk>/cancel/", views.ActionCancelView.as_view(), name="api-action-cancel"),
    path("controls/", views.ControlView.as_view(), name="api-controls"),
    path("health/", views.HealthView.as_view(), name="api-health"),
    path("webhooks/", views.WebhookListView.as_view(), name="api-webhooks"),
    path("webhooks/<int:pk>/", views.WebhookDetailView.as_view(), name="api-webhook"),
    path("webhooks/<int:pk>/deliveries/", views.WebhookDeliveryListView.as_view(), name="api-webhook-deliveries"),
]

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("metrics/", views.MetricsView.as_view(), name="api-metrics"),
    path("attribution/", views.AttributionView.as_view(), name="api-attribution"),
]

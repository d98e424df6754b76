from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("leads/", views.LeadListView.as_view(), name="api-leads"),
    path("leads/import/", views.LeadImportView.as_view(), name="api-leads-import"),
    path("leads/<int:pk>/", views.LeadDetailView.as_view(), name="api-lead"),
    path("leads/<int:pk>/consent/", views.LeadConsentView.as_view(), name="api-lead-consent"),
    path("leads/<int:pk>/export/", views.LeadExportView.as_view(), name="api-lead-export"),
    path("sequences/", views.SequenceListView.as_view(), name="api-sequences"),
    path("enrollments/", views.EnrollmentListView.as_view(), name="api-enrollments"),
]

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("accounts/", views.AccountListView.as_view(), name="api-accounts"),
    path("posts/", views.PostListView.as_view(), name="api-posts"),
    path("posts/<int:pk>/", views.PostDetailView.as_view(), name="api-post"),
    *[
        path(f"posts/<int:pk>/{name}/", view.as_view(), name=f"api-post-{name}")
        for name, view in views.POST_MOVES.items()
    ],
    path("targets/", views.TargetListView.as_view(), name="api-targets"),
    path("targets/<int:pk>/", views.TargetDetailView.as_view(), name="api-target"),
    path("targets/<int:pk>/timeline/", views.TargetTimelineView.as_view(), name="api-target-timeline"),
]

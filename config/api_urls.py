"""/api/v1/: each app's api/ package, the OpenAPI schema and Swagger UI (assets served locally)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("campaigns.api.urls")),
    path("", include("publishing.api.urls")),
    path("", include("outreach.api.urls")),
    # By string, like config/urls.py: nothing imports analytics (import-linter).
    path("", include("analytics.api.urls")),
]

from django.contrib import admin
from django.urls import include, path

from campaigns.health import health

admin.site.site_header = "Campaign automation"
admin.site.site_title = "Campaign automation"
admin.site.index_title = "Campaigns, review queue and action queue"

urlpatterns = [
    # Before the admin: its catch-all would otherwise answer these.
    path("admin/connect/", include("publishing.urls")),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("api/v1/", include("config.api_urls")),
    path("", include("analytics.urls")),
    path("anymail/", include("outreach.anymail_urls")),  # anymail's URLs; unreadable bodies are a 400
    path("", include("outreach.urls")),
]

# Under /api/ a 404 is a problem+json document like every other API error.
handler404 = "campaigns.api.problems.page_not_found"

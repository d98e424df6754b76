from django.contrib import admin
from django.urls import include, path

from campaigns.health import health

admin.site.site_header = "Campaign automation"
admin.site.site_title = "Campaign automation"
admin.site.index_title = "Campaigns, review queue and action queue"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("", include("analytics.urls")),
]

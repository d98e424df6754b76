"""Admin-reachable connect flows (publishing/connect.py), mounted at /admin/connect/."""

from django.urls import path

from . import connect

app_name = "publishing_connect"

urlpatterns = [
    path("", connect.connect_index, name="index"),
    path("bluesky/", connect.connect_bluesky, name="bluesky"),
    path("<str:platform>/start/", connect.connect_start, name="start"),
    path("<str:platform>/callback/", connect.connect_callback, name="callback"),
]

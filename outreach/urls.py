from django.urls import path

from . import views

app_name = "outreach"
urlpatterns = [
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("capture/confirm/<str:token>/", views.confirm, name="capture_confirm"),
    path("capture/<slug:slug>/", views.capture, name="capture"),
]

from django.urls import path

from . import views

app_name = "analytics"
urlpatterns = [
    path("c/<str:code>", views.click, name="click"),
]

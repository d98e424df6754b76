"""URLs of the webhook bench server: the project's, plus /bench/bare/ (DRF, one INSERT)."""

from __future__ import annotations

from django.db import connection
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as project_urls


class Bare(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request):
        with connection.cursor() as cur:
            cur.execute("INSERT INTO bench_hits (body) VALUES (%s)", [request.body.decode()])
        return Response(status=200)


urlpatterns = [path("bench/bare/", Bare.as_view()), *project_urls]

"""URLs of the API bench server: the project's, plus the two "physical limit" views.

- /bench/bare-list/: a bare Django view, the same page of 50 posts from one raw SQL query, json.dumps.
- /bench/bare-create/: a bare DRF view doing one INSERT of a campaign row.
"""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpResponse
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as project_urls

LIST_SQL = """
SELECT id, campaign_id, title, body, media_urls, link_url, scheduled_at, status, content_sha256, approved_sha256,
       approved_at, approval_seq, rejection_reason, created_at, updated_at
  FROM publishing_post ORDER BY id DESC LIMIT 50
"""
COLUMNS = ["id", "campaign", "title", "body", "media_urls", "link_url", "scheduled_at", "status", "content_sha256",
           "approved_sha256", "approved_at", "approval_seq", "rejection_reason", "created_at", "updated_at"]  # fmt: skip


def bare_list(request):
    with connection.cursor() as cur:
        cur.execute(LIST_SQL)
        rows = cur.fetchall()
    results = [dict(zip(COLUMNS, row, strict=True)) for row in rows]
    return HttpResponse(json.dumps({"results": results}, default=str), content_type="application/json")


class BareCreate(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request):
        data = request.data
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO campaigns_campaign (name, slug, description, target_niche, service_key, target_clients,"
                " target_mrr, channels, max_emails_per_day, max_outreach_per_day, mode, strategy, timezone, objective,"
                " kpi_targets, status, strategy_approved_sha256, created_at, updated_at) VALUES (%s, %s, '', '', '', 0,"
                " 0, %s, 50, 100, 'proof', %s, 'UTC', 'leads', '{}', 'draft', '', now(), now()) RETURNING id",
                [data["name"], data["name"].lower().replace(" ", "-"), json.dumps(data.get("channels", [])),
                 data.get("strategy", "")],
            )  # fmt: skip
            new_id = cur.fetchone()[0]
        return Response({"id": new_id, "name": data["name"]}, status=201)


urlpatterns = [
    path("bench/bare-list/", bare_list),
    path("bench/bare-create/", BareCreate.as_view()),
    *project_urls,
]

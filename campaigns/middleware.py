"""Request checks that hold for every URL (admin, API, public pages, webhooks)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from .api.problems import CONTENT_TYPE, problem_body


class RefuseNulInQueryMiddleware:
    """PostgreSQL text cannot hold NUL: a query string with one (an admin search, a changelist filter, an
    API filter) would reach the database and end as a 500. Refuse it with a 400 naming the query instead.
    Bodies are checked where they are parsed (form fields by Django's null-character validator, JSON by
    campaigns.api.parsers and campaigns.jsonsafe)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            # The API's problem document, on every URL: one shape for one mistake.
            body = problem_body("validation", 400, "query: NUL characters are not allowed",
                                errors=[{"field": "query", "message": "NUL characters are not allowed"}],
                                instance=request.get_full_path())  # fmt: skip
            return JsonResponse(body, status=400, content_type=CONTENT_TYPE)
        return self.get_response(request)

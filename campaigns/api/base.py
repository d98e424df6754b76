"""What every API view shares: auth, scopes, throttling, idempotency, problem+json, ETags, pagination."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import models
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import idempotency
from .auth import ScopePermission, TokenAuthentication
from .problems import PreconditionFailed
from .throttling import TokenRateThrottle, rate_limit_headers


class Cursor(CursorPagination):
    """Stable under inserts: a page is ``WHERE <ordering> < cursor LIMIT n``, never an OFFSET."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"


def refuse_nul(request: Request) -> None:
    """PostgreSQL text and jsonb cannot hold NUL: refuse it with a 400 instead of a database error."""
    if "\x00" in request.META.get("QUERY_STRING", "") or "%00" in request.META.get("QUERY_STRING", ""):
        raise ValidationError({"query": "NUL characters are not allowed"})
    if request.method in ("POST", "PATCH", "PUT") and b"\\u0000" in (request._request.body or b""):
        raise ValidationError({"body": "NUL characters are not allowed"})


class ApiMixin:
    authentication_classes = [TokenAuthentication, *APIView.authentication_classes]
    permission_classes = [ScopePermission]
    throttle_classes = [TokenRateThrottle]
    human_only = False

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        refuse_nul(request)
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        request._idempotency = idempotency.begin(request)  # type: ignore[attr-defined]

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, idempotency.Replay):
            return exc.response
        return super().handle_exception(exc)  # type: ignore[misc]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        for name, value in rate_limit_headers(request).items():
            response[name] = value
        record = getattr(request, "_idempotency", None)
        if record is not None:
            idempotency.finish(record, response)
        return response


class ApiView(ApiMixin, APIView):
    pass


class ListView(ApiMixin, generics.GenericAPIView):
    pagination_class = Cursor
    ordering_fields = ["id"]

    def list_response(self, serializer_class: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)


def etag_of(obj: models.Model, *fields: str) -> str:
    """A strong validator from the fields that change on every write (status moves use UPDATE, so
    ``updated_at`` alone would not see them)."""
    raw = "|".join(str(getattr(obj, f)) for f in ("pk", *fields))
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


def check_if_match(request: Request, etag: str) -> None:
    """If-Match present and stale → 412. Absent: the write goes ahead (last writer wins)."""
    wanted = request.headers.get("If-Match")
    if wanted is None or wanted.strip() == "*":
        return
    candidates = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    if etag not in candidates:
        raise PreconditionFailed()


def with_etag(response: Response, etag: str) -> Response:
    response["ETag"] = etag
    return response

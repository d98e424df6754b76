"""What every API view shares: auth, scopes, throttling, idempotency, problem+json, ETags, pagination."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from rest_framework import generics
from rest_framework.exceptions import NotFound
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
    invalid_cursor_message = "cursor: not one this API issued; follow a page's next or previous link"

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        # DRF checks only that a cursor decodes; a forged position ("p=abc" on an id, a bad date)
        # fails when it meets the column. Answer it as DRF answers an undecodable cursor (404).
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, DjangoValidationError):
            if not request.query_params.get(self.cursor_query_param):
                raise  # not the cursor: a bug, which must stay a 500
            raise NotFound(self.invalid_cursor_message) from None


class ApiMixin:
    authentication_classes = [TokenAuthentication, *APIView.authentication_classes]
    permission_classes = [ScopePermission]
    throttle_classes = [TokenRateThrottle]
    human_only = False

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """DRF's dispatch, with the Idempotency-Key around the handler.

        The in-flight record is committed before the handler runs (a concurrent retry sees it: 409).
        A successful answer is stored in the handler's own transaction, so the business write and
        the stored response commit together or not at all; an error answer is stored after the
        rollback. A crash (5xx) forgets the key, so the retry runs again.
        """
        self.args, self.kwargs = args, kwargs
        request = self.initialize_request(request, *args, **kwargs)  # type: ignore[attr-defined]
        self.request = request
        self.headers = self.default_response_headers  # type: ignore[attr-defined]
        record = None
        try:
            self.initial(request, *args, **kwargs)
            record = idempotency.begin(request)
            name = request.method.lower()
            handler = getattr(self, name, None) if name in self.http_method_names else None  # type: ignore[attr-defined]
            handler = handler or self.http_method_not_allowed  # type: ignore[attr-defined]
            if record is None:
                response = handler(request, *args, **kwargs)
            else:
                with transaction.atomic():
                    response = self.finalize_response(request, handler(request, *args, **kwargs), *args, **kwargs)
                    if response.status_code < 400:
                        idempotency.finish(record, response)
                        return response
        except Exception as exc:
            try:
                response = self.handle_exception(exc)
            except Exception:
                if record is not None:
                    idempotency.abandon(record)
                raise
        response = self.finalize_response(request, response, *args, **kwargs)
        if record is not None:
            idempotency.finish(record, response)
        return response

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, idempotency.Replay):
            return exc.response
        return super().handle_exception(exc)  # type: ignore[misc]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(response, "_finalized", False):
            return response
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        for name, value in rate_limit_headers(request).items():
            response[name] = value
        response._finalized = True
        return response


class ApiView(ApiMixin, APIView):
    pass


class ListView(ApiMixin, generics.GenericAPIView):
    pagination_class = Cursor
    ordering_fields = ["id"]
    PAGING_PARAMS = frozenset({"cursor", "page_size"})

    def filter_queryset(self, queryset: Any) -> Any:
        # Nothing to filter or order by: skip building the filter form (a page is often just "the next 50").
        if self.PAGING_PARAMS.issuperset(self.request.query_params):
            return queryset
        return super().filter_queryset(queryset)

    def list_response(self, serializer_class: Any, *, fast: bool = False) -> Response:
        """One page. ``fast``: read the page with ``values()`` and skip the serializer (a ModelSerializer
        of plain fields renders the same JSON; tests/api/test_fast_lists.py holds them equal) — model
        instances and per-field serializer calls were 80 % of a 50-row page."""
        queryset = self.filter_queryset(self.get_queryset())
        if not fast:
            return self.get_paginated_response(serializer_class(self.paginate_queryset(queryset), many=True).data)
        columns = values_columns(serializer_class)
        page = self.paginate_queryset(queryset.values(*columns.values()))
        rows = [{out: row[src] for out, src in columns.items()} for row in page]
        for name in serializer_class._decimal_columns:  # DecimalField renders a string; the JSON encoder a float
            for row in rows:
                row[name] = None if row[name] is None else str(row[name])
        return self.get_paginated_response(rows)


def fast_one(serializer_class: Any, obj: models.Model) -> Any:
    """One object rendered like ``serializer_class(obj).data`` without building the serializer's
    fields (a ModelSerializer introspects the model on every instance: most of a create's Python).
    Plain and FK-id fields only, like the fast lists; tests/api/test_fast_lists.py holds them equal."""
    columns = values_columns(serializer_class)
    if any("__" in src for src in columns.values()):
        return serializer_class(obj).data  # a related lookup: no shortcut
    meta = type(obj)._meta
    row = {out: getattr(obj, meta.get_field(src).attname) for out, src in columns.items()}
    for name in serializer_class._decimal_columns:
        # An unsaved-then-saved instance still holds what was passed (0, "12.5"): quantize like the DB.
        places = meta.get_field(columns[name]).decimal_places
        row[name] = None if row[name] is None else str(Decimal(str(row[name])).quantize(Decimal(1).scaleb(-places)))
    return row


def values_columns(serializer_class: Any) -> dict[str, str]:
    """Output name → ``values()`` lookup of a ModelSerializer's fields (FKs give their id)."""
    cached = getattr(serializer_class, "_values_columns", None)
    if cached is None:
        declared = serializer_class._declared_fields
        cached = {}
        for name in serializer_class.Meta.fields:
            source = getattr(declared.get(name), "source", None) or name
            cached[name] = source.replace(".", "__").removesuffix("_id") if "." in source else source
        serializer_class._values_columns = cached
        model = serializer_class.Meta.model
        serializer_class._decimal_columns = [
            name for name, src in cached.items()
            if "__" not in src and isinstance(model._meta.get_field(src), models.DecimalField)
        ]  # fmt: skip
    return cached


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

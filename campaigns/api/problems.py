"""Errors as application/problem+json (RFC 9457) with a small ``type`` taxonomy and field details."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from ..errors import ConcurrentTransition, InvalidTransition

log = logging.getLogger(__name__)

TYPES = (
    "validation", "not_found", "conflict", "precondition_failed", "rate_limited", "needs_human", "auth",
    "provider_permanent", "provider_retryable", "server_error",
)  # fmt: skip
TITLES = {
    "validation": "The request is not valid",
    "not_found": "Not found",
    "conflict": "Conflict with the current state",
    "precondition_failed": "The resource changed since you read it",
    "rate_limited": "Too many requests",
    "needs_human": "A person must do this",
    "auth": "Not authorised",
    "provider_permanent": "The provider refused, and will again",
    "provider_retryable": "The provider is unavailable; retry later",
    "server_error": "Server error",
}
CONTENT_TYPE = "application/problem+json"


def type_uri(kind: str) -> str:
    return f"urn:campaign-automation:problem:{kind}"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "the resource changed since you read it: GET it again and resend with its ETag in If-Match"
    default_code = "precondition_failed"


class IdempotencyConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "a request with this Idempotency-Key is still being processed; retry after it finishes"
    default_code = "conflict"

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.wait = retry_after


class IdempotencyMismatch(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "this Idempotency-Key was used with a different request; use a new key for a new request"
    default_code = "validation"


def _flatten(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    if isinstance(detail, dict):
        out: list[dict[str, str]] = []
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", "__all__") else str(key)
            out += _flatten(value, f"{prefix}.{name}" if prefix and name else (name or prefix))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [{"field": prefix, "message": str(item)} for item in detail]
        out = []
        for index, item in enumerate(detail):
            out += _flatten(item, f"{prefix}.{index}" if prefix else str(index))
        return out
    return [{"field": prefix, "message": str(detail)}]


def problem_body(kind: str, status_code: int, detail: str, *, errors: list | None = None,
                 instance: str = "") -> dict[str, Any]:  # fmt: skip
    body: dict[str, Any] = {"type": type_uri(kind), "title": TITLES[kind], "status": status_code, "detail": detail,
                            "code": kind}  # fmt: skip
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return body


def problem(kind: str, status_code: int, detail: str, *, errors: list | None = None,
            headers: dict[str, str] | None = None, instance: str = "") -> Response:  # fmt: skip
    body = problem_body(kind, status_code, detail, errors=errors, instance=instance)
    return Response(body, status=status_code, headers=headers, content_type=CONTENT_TYPE)


def _transition_kind(message: str) -> tuple[str, int]:
    if "permission" in message or "cannot approve" in message or "author of a post" in message:
        return "needs_human", 403
    return "conflict", 409


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every error the API answers is a problem document."""
    request = context.get("request")
    instance = request.get_full_path() if request is not None else ""
    headers: dict[str, str] = {}
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        errors = _flatten(detail)
        return problem("validation", 400, "; ".join(f"{e['field'] or 'request'}: {e['message']}" for e in errors),
                       errors=errors, instance=instance)  # fmt: skip
    if isinstance(exc, ConcurrentTransition):
        set_rollback()
        return problem("conflict", 409, str(exc), instance=instance)
    if isinstance(exc, InvalidTransition):
        set_rollback()
        kind, code = _transition_kind(str(exc))
        return problem(kind, code, str(exc), instance=instance)
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        return problem("not_found", 404, "no such resource, or not visible to you", instance=instance)
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: Django's 500 handler (and its log) take it
    set_rollback()
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait + 0.999))
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if isinstance(exc, exceptions.ValidationError | exceptions.ParseError):
        errors = _flatten(exc.detail)
        summary = "; ".join(f"{e['field'] or 'request'}: {e['message']}" for e in errors)
        return problem("validation", 400, summary, errors=errors, headers=headers, instance=instance)
    kind = {
        exceptions.NotAuthenticated: "auth", exceptions.AuthenticationFailed: "auth",
        exceptions.NotFound: "not_found", exceptions.Throttled: "rate_limited",
        PreconditionFailed: "precondition_failed", IdempotencyConflict: "conflict",
        IdempotencyMismatch: "validation",
    }.get(type(exc))  # fmt: skip
    if kind is None:
        if isinstance(exc, exceptions.PermissionDenied):
            kind = "needs_human" if getattr(exc, "default_code", "") == "needs_human" else "auth"
        else:
            kind = "validation"  # 405, 406, 415 and other client mistakes
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if isinstance(exc, exceptions.Throttled):
        detail = f"rate limit reached; retry in {headers.get('Retry-After', '60')} s"
    return problem(kind, exc.status_code, detail, headers=headers, instance=instance)


def page_not_found(request: Any, exception: Exception | None = None) -> Any:
    """``handler404``: under /api/ a problem document (an id that is not a positive integer does not
    match any URL), elsewhere Django's page."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        body = {"type": type_uri("not_found"), "title": TITLES["not_found"], "status": 404, "code": "not_found",
                "detail": "no such resource", "instance": request.path}  # fmt: skip
        return JsonResponse(body, status=404, content_type=CONTENT_TYPE)
    from django.views.defaults import page_not_found as django_page_not_found

    return django_page_not_found(request, exception)

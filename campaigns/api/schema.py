"""OpenAPI: every operation documents its problem+json answers (RFC 9457), so clients and the
schemathesis run in the tests know every status code the API can give."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema

from .problems import TYPES, type_uri

PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri", "example": type_uri("validation")},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "enum": list(TYPES)},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Field-level details (validation): `field` is a dotted path such as `payload.target_id`.",
            "items": {"type": "object", "required": ["field", "message"],
                      "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
}  # fmt: skip
ERRORS = {
    "400": "validation: the request is not valid (see `errors`)",
    "401": "auth: no token, or an unknown, expired or revoked one",
    "403": "auth (scope) or needs_human (approvals, resume, unkill, LIVE)",
    "404": "not_found",
    "405": "validation: method not allowed here",
    "406": "validation: the Accept header must allow application/json",
    "409": "conflict: not allowed in the current state, changed concurrently, or the Idempotency-Key is in flight",
    "412": "precondition_failed: If-Match does not match the current ETag",
    "415": "validation: send application/json",
    "422": "validation: this Idempotency-Key was used with a different request",
    "429": "rate_limited: see Retry-After",
}


class ApiAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code, description in ERRORS.items():
            responses.setdefault(code, {
                "description": description,
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            })  # fmt: skip
        return responses

    def get_override_parameters(self) -> list[Any]:
        from drf_spectacular.utils import OpenApiParameter

        params = list(super().get_override_parameters())
        if self.method in ("POST", "PATCH", "PUT", "DELETE"):
            params.append(OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER,
                                           description="Retries with the same key replay the first answer."))  # fmt: skip
        if self.method in ("PATCH",) or (self.method == "POST" and "{id}" in self.path):
            params.append(OpenApiParameter("If-Match", str, OpenApiParameter.HEADER,
                                           description="The ETag you read; stale → 412."))  # fmt: skip
        return params


def add_problem_component(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """SPECTACULAR_SETTINGS POSTPROCESSING_HOOKS: the Problem schema the error responses refer to."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
    return result

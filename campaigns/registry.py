"""Action types, declared in settings.ACTION_TYPES (like MIDDLEWARE: dotted paths, so the queue
imports none of the apps it runs).

    ACTION_TYPES = {
        "post_social": {
            "handler": "publishing.handlers.post_social",   # required
            "schema": "publishing.handlers.POST_SOCIAL_PAYLOAD",  # JSON Schema of the payload
            "max_attempts": 5,                               # default settings.ACTION_MAX_ATTEMPTS
            "priority": 100,                                 # lower runs first
            "group_handler": "...",  # optional: handler(list[Action]) -> list[Outcome], for a claimed
                                     # batch's actions of this type at once (e.g. one SMTP session)
        },
    }
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jsonschema
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class ActionTypeSpec:
    name: str
    handler: str
    schema: dict[str, Any] | None
    max_attempts: int
    priority: int
    group_handler: str = ""


def action_type_spec(name: str) -> ActionTypeSpec | None:
    raw = settings.ACTION_TYPES.get(name)
    if raw is None:
        return None
    schema = raw.get("schema")
    return ActionTypeSpec(
        name=name,
        handler=raw["handler"],
        schema=import_string(schema) if isinstance(schema, str) else schema,
        max_attempts=raw.get("max_attempts", settings.ACTION_MAX_ATTEMPTS),
        priority=raw.get("priority", 100),
        group_handler=raw.get("group_handler", ""),
    )


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(schema_json))


def validate_payload(spec: ActionTypeSpec, payload: dict[str, Any]) -> None:
    """Raise ValidationError naming ``payload.<field>`` for the first thing the schema refuses."""
    if spec.schema is None:
        return
    validator = _validator(json.dumps(spec.schema, sort_keys=True))
    if validator.is_valid(payload):  # the common case, without building the error tree
        return
    error = jsonschema.exceptions.best_match(validator.iter_errors(payload))
    if error is None:
        return
    path = list(error.absolute_path)
    if error.validator == "required":
        missing = [f for f in error.validator_value if f not in error.instance]
        path.append(missing[0] if missing else "?")
        message = "required"
    elif error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        path.append(extra[0] if extra else "?")
        message = f"not a field of a {spec.name} payload"
    else:
        message = error.message
    raise ValidationError({".".join(["payload", *map(str, path)]): message})

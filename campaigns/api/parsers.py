"""The API's JSON parser: a body PostgreSQL could not store (see campaigns.jsonsafe) is a 400 naming
the field, for every endpoint at once, instead of a database error (500) at save."""

from __future__ import annotations

import io
from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser

from campaigns.jsonsafe import too_deep, unstorable


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read()
        if reason := too_deep(raw):  # before parsing: the parse itself would overflow the stack (a 500)
            raise ValidationError({"body": [reason]})
        data = super().parse(io.BytesIO(raw), media_type, parser_context)
        if problem := unstorable(data):
            raise ValidationError({problem[0]: [problem[1]]})
        return data

"""Checks of what the adapters send against the platforms' official specs in ../shared/specs.

The specs are read where they lie, never copied into the project; a test skips when the
folder is absent.
"""

from __future__ import annotations

import fnmatch
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import regex
from jsonschema import Draft4Validator, Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012

from .conftest import SPECS_DIR

TID = regex.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
DATETIME = regex.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def spec_file(relative: str) -> Path:
    path = SPECS_DIR / relative
    if not path.exists():
        pytest.skip(f"official spec {relative} not found under {SPECS_DIR}")
    return path


@cache
def _load(relative: str) -> Any:
    return json.loads(spec_file(relative).read_text())


def x_create_post_validator() -> Draft4Validator:
    """The request body of POST /2/tweets, $refs resolved inside X's OpenAPI document."""
    openapi = _load("x/openapi.json")
    schema = openapi["paths"]["/2/tweets"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    registry = Registry().with_resource("urn:x-openapi", Resource(contents=openapi, specification=DRAFT4))
    return Draft4Validator({"$ref": f"urn:x-openapi{schema['$ref']}"}, registry=registry)


def x_media_upload_validator() -> Draft4Validator:
    """The fields of POST /2/media/upload (multipart: ``media`` is the file, shown here as a string)."""
    openapi = _load("x/openapi.json")
    content = openapi["paths"]["/2/media/upload"]["post"]["requestBody"]["content"]
    schema = content["multipart/form-data"]["schema"]
    registry = Registry().with_resource("urn:x-openapi", Resource(contents=openapi, specification=DRAFT4))
    return Draft4Validator({"$ref": f"urn:x-openapi{schema['$ref']}"}, registry=registry)


def x_schema_validator(name: str) -> Draft4Validator:
    """One of X's component schemas (e.g. MediaUploadResponse), to hold the fake's answers to it."""
    openapi = _load("x/openapi.json")
    registry = Registry().with_resource("urn:x-openapi", Resource(contents=openapi, specification=DRAFT4))
    return Draft4Validator({"$ref": f"urn:x-openapi#/components/schemas/{name}"}, registry=registry)


def check_mastodon_media_upload(fields: set[str]) -> None:
    """The multipart field names of POST /api/v2/media against the spec: known ones, ``file`` required."""
    schema = mastodon_operation("/api/v2/media", "post")["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert fields <= set(schema["properties"]), f"not in POST /api/v2/media: {fields - set(schema['properties'])}"
    assert set(schema.get("required", [])) <= fields, f"missing required {set(schema['required']) - fields}"


def mastodon_example(name: str) -> Any:
    return _load("mastodon/schema.json")["components"]["examples"][name]["value"]


def bluesky_lexicon(nsid: str) -> dict:
    return _lexicon(nsid)


def mastodon_operation(path: str, method: str) -> dict:
    return _load("mastodon/schema.json")["paths"][path][method]


def mastodon_create_status_validator() -> Draft202012Validator:
    """The POST /api/v1/statuses body; its oneOf alternatives overlap, so any one must match."""
    openapi = _load("mastodon/schema.json")
    body = mastodon_operation("/api/v1/statuses", "post")["requestBody"]["content"]["application/json"]["schema"]
    registry = Registry().with_resource("urn:mastodon", Resource(contents=openapi, specification=DRAFT202012))
    alternatives = [{"$ref": f"urn:mastodon{alt['$ref']}"} for alt in body["oneOf"]]
    return Draft202012Validator({"anyOf": alternatives}, registry=registry)


def meta_params(spec: str, method: str, endpoint: str) -> tuple[set[str], set[str]]:
    """(accepted, required) parameter names of one Graph edge from Meta's codegen spec."""
    for api in _load(f"meta/{spec}.json")["apis"]:
        if api["method"] == method and api["endpoint"] == endpoint:
            params = api.get("params", [])
            return {p["name"] for p in params}, {p["name"] for p in params if p.get("required")}
    raise AssertionError(f"{spec}.json has no {method} {endpoint}")


def check_meta_form(form: dict, spec: str, endpoint: str) -> None:
    accepted, required = meta_params(spec, "POST", endpoint)
    accepted.add("access_token")  # a parameter of every Graph call, not listed per edge
    assert set(form) <= accepted, f"not in {spec}.json POST {endpoint}: {set(form) - accepted}"
    assert required <= set(form), f"missing required {required - set(form)}"


# --- Bluesky lexicons -------------------------------------------------------------------------


def _lexicon(nsid: str) -> dict:
    return _load(f"bluesky/lexicons/{nsid.replace('.', '/')}.json")


def _resolve(ref: str, context: str) -> tuple[dict, str]:
    nsid, _, name = ref.partition("#")
    nsid = nsid or context
    return _lexicon(nsid)["defs"][name or "main"], nsid


def lexicon_errors(value: Any, definition: dict, context: str, where: str = "$") -> list[str]:
    """A small Lexicon v1 checker: the types, bounds and formats a post record uses."""
    kind = definition["type"]
    if kind == "record":
        return lexicon_errors(value, definition["record"], context, where)
    if kind == "ref":
        target, nsid = _resolve(definition["ref"], context)
        return lexicon_errors(value, target, nsid, where)
    if kind == "union":
        declared = value.get("$type", "") if isinstance(value, dict) else ""
        allowed = {f"{context}{r}" if r.startswith("#") else r for r in definition["refs"]}
        if declared.removesuffix("#main") not in allowed:
            return [f"{where}: $type {declared!r} not one of {sorted(allowed)}"]
        target, nsid = _resolve(declared, context)
        return lexicon_errors(value, target, nsid, where)
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: expected object"]
        errors = [f"{where}.{name}: required" for name in definition.get("required", []) if name not in value]
        for name, sub in definition.get("properties", {}).items():
            if name in value:
                errors += lexicon_errors(value[name], sub, context, f"{where}.{name}")
        return errors
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where}: expected array"]
        errors = (
            [f"{where}: {len(value)} items > {definition['maxLength']}"]
            if len(value) > definition.get("maxLength", 1e9)
            else []
        )
        for i, item in enumerate(value):
            errors += lexicon_errors(item, definition["items"], context, f"{where}[{i}]")
        return errors
    if kind == "integer":
        ok = isinstance(value, int) and value >= definition.get("minimum", 0)
        return [] if ok else [f"{where}: expected integer >= {definition.get('minimum', 0)}"]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected string"]
        errors = []
        if len(value.encode()) > definition.get("maxLength", 1e9):
            errors.append(f"{where}: longer than {definition['maxLength']} bytes")
        if len(regex.findall(r"\X", value)) > definition.get("maxGraphemes", 1e9):
            errors.append(f"{where}: more than {definition['maxGraphemes']} graphemes")
        fmt = definition.get("format")
        if fmt == "datetime" and not DATETIME.match(value):
            errors.append(f"{where}: not a datetime")
        if fmt == "did" and not value.startswith("did:"):
            errors.append(f"{where}: not a DID")
        if fmt == "uri" and ":" not in value:
            errors.append(f"{where}: not a URI")
        return errors
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: expected boolean"]
    if kind == "blob":
        ref = value.get("ref") if isinstance(value, dict) else None
        if not (isinstance(value, dict) and value.get("$type") == "blob" and isinstance(ref, dict)):
            return [f"{where}: expected a blob ref {{$type: blob, ref: {{$link}}, mimeType, size}}"]
        errors = [] if isinstance(ref.get("$link"), str) and ref["$link"] else [f"{where}.ref: no $link"]
        mime, size = value.get("mimeType", ""), value.get("size")
        accepted = definition.get("accept", ["*/*"])
        if not any(fnmatch.fnmatch(mime, pattern) for pattern in accepted):
            errors.append(f"{where}.mimeType: {mime!r} not in {accepted}")
        if not isinstance(size, int) or size > definition.get("maxSize", 1e18):
            errors.append(f"{where}.size: {size!r} over maxSize {definition.get('maxSize')}")
        return errors
    raise AssertionError(f"lexicon type {kind} not handled by this checker")


def check_bluesky_create(body: dict) -> None:
    """createRecord input, the app.bsky.feed.post record, and facet byte ranges against the text."""
    create = _lexicon("com.atproto.repo.createRecord")["defs"]["main"]["input"]["schema"]
    missing = [name for name in create["required"] if name not in body]
    assert not missing, f"createRecord input misses {missing}"
    assert set(body) <= set(create["properties"]), (
        f"unknown createRecord fields {set(body) - set(create['properties'])}"
    )
    post = _lexicon("app.bsky.feed.post")["defs"]["main"]
    assert body["collection"] == "app.bsky.feed.post"
    if post["key"] == "tid" and "rkey" in body:
        assert TID.match(body["rkey"]), f"rkey {body['rkey']!r} is not a TID"
    record = body["record"]
    assert record["$type"] == "app.bsky.feed.post"
    errors = lexicon_errors(record, post, "app.bsky.feed.post")
    assert not errors, errors
    text = record["text"].encode()
    for facet in record.get("facets", []):
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        assert 0 <= start < end <= len(text), f"facet range {start}..{end} outside {len(text)} bytes"
        covered = text[start:end].decode()  # a range that cuts a character in half is not valid UTF-8
        for feature in facet["features"]:
            # Our adapters never shorten what they annotate: a link covers its URL, a mention its @handle.
            if feature["$type"].endswith("#link"):
                assert covered == feature["uri"], f"link facet covers {covered!r}, not {feature['uri']!r}"
            if feature["$type"].endswith("#mention"):
                assert covered.startswith("@"), f"mention facet covers {covered!r}"

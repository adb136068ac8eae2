"""Request bodies, read by hand so their size is checked *before* anything is parsed.

A body is a JSON object of at most ``TASKBOARD["API_MAX_BODY"]`` bytes (413 otherwise, judged
from Content-Length before reading and from the bytes after), strict JSON (no ``NaN``), with
values every database can store, and then validated against a strict schema: a wrong type or
an unknown field is a 400 naming the field.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, RawPostDataException
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from taskboard.conf import conf
from taskboard.operations import inputs
from taskboard.web.api.errors import describe_validation_errors, too_large
from taskboard.web.errors import JsonError


def read_json_object(request: HttpRequest, *, required: bool) -> dict[str, Any]:
    """The body as a JSON object, checking its size before reading or parsing it."""
    limit = conf.API_MAX_BODY
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise JsonError(400, "bad_request", "the Content-Length header is not a number") from None
    if declared > limit:
        raise too_large()
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_large() from None
    except RawPostDataException:
        raise JsonError(415, "unsupported_media_type",
                        "send the body as JSON with Content-Type: application/json") from None
    if len(body) > limit:
        raise too_large()
    if not body.strip():
        if required:
            raise JsonError(400, "invalid_json", "the request body is empty; send a JSON object")
        return {}
    try:
        data = inputs.loads(body)
    except RecursionError:
        raise JsonError(400, "invalid_json", "malformed JSON: nested too deeply") from None
    except ValueError as exc:
        raise JsonError(400, "invalid_json", f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise JsonError(400, "invalid_json",
                        f"the request body must be a JSON object, not {type(data).__name__}")
    inputs.check_json_value(data, "the request body")
    return data


def read_body[S: BaseModel](request: HttpRequest, schema: type[S], *, required: bool = True) -> S:
    """The body validated against ``schema`` (strict: no coercion, no unknown fields)."""
    data = read_json_object(request, required=required)
    try:
        return schema.model_validate(data)
    except PydanticValidationError as exc:
        raise JsonError(400, "bad_request", describe_validation_errors(exc.errors(include_url=False))) from None


def body_schema(schema: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """OpenAPI for a body that is read by hand (so the size check runs before parsing)."""
    return {"requestBody": {"required": required,
                            "content": {"application/json": {"schema": schema.model_json_schema()}}}}

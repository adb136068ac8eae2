"""Every exception that can leave an API endpoint, mapped to the shape of ``web.errors``.

``{"error": {"code": "…", "message": "…"}}`` with a 4xx status and a precise message,
including django-ninja's own validation errors (its default 422 becomes a 400). Anything
unexpected is logged and still answered in this shape, never as Django's HTML page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import structlog
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.tasks.exceptions import InvalidTask
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from taskboard.conf import conf
from taskboard.exceptions import InvalidTaskArguments, LimitExceeded, NotAllowed, OperationError, UnknownTask
from taskboard.operations.inputs import BadInput
from taskboard.readmodels.paging import INVALID_CURSOR, InvalidCursor
from taskboard.web.errors import JsonError, error_response, unauthenticated

logger = structlog.get_logger("taskboard.api")

HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 429: "throttled"}


def too_large() -> JsonError:
    return JsonError(413, "payload_too_large",
                     f"request body is larger than the {conf.API_MAX_BODY} byte limit")


def describe_validation_errors(errors: Iterable[Mapping[str, Any]]) -> str:
    """``limit: Input should be less than or equal to 500; status: …``"""
    parts = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in {"query", "path", "body", "header", "cookie", "form"}:
            loc = loc[1:]
        # ninja nests a query/body model under its parameter name; drop that level.
        if len(loc) > 1 and loc[0] in {"payload", "filters"}:
            loc = loc[1:]
        where = ".".join(loc)
        if where == "cursor":
            parts.append(INVALID_CURSOR)  # the same words as a well-formed but unknown cursor
        elif error.get("type") == "extra_forbidden":
            parts.append(f"unknown field {where!r}")
        elif error.get("type") == "missing":
            parts.append(f"{where} is required")
        else:
            parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg")))
    return "; ".join(parts) or "invalid request"


def _json_error(request: HttpRequest, exc: JsonError) -> HttpResponse:
    return exc.response()


def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return error_response(400, "bad_request", describe_validation_errors(exc.errors))


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error_response(exc.status_code, HTTP_CODES.get(exc.status_code, "error"), str(exc))


def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return unauthenticated().response()


def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("api request failed", path=request.path, method=request.method)
    return error_response(500, "internal_error", "internal error; the server log has the details")


def _database_unavailable(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    logger.warning("api database error", path=request.path, error=str(exc))
    return error_response(503, "unavailable", "the database is busy or unavailable; try again",
                          {"Retry-After": "1"})


# Exceptions answered with a fixed status and code; the message is ``str(exc)`` unless given.
MAPPED: list[tuple[type[Exception], int, str, Callable[[Exception], str]]] = [
    (BadInput, 400, "bad_request", str),
    (InvalidCursor, 400, "bad_request", str),
    (UnknownTask, 400, "unknown_task", str),
    (InvalidTaskArguments, 400, "invalid_arguments", str),
    (InvalidTask, 400, "invalid_task", str),
    (NotAllowed, 403, "forbidden", str),
    (OperationError, 409, "conflict", str),
    (LimitExceeded, 429, "limit_exceeded", str),
    (Http404, 404, "not_found", lambda exc: "not found"),
    (ObjectDoesNotExist, 404, "not_found", str),
    (RequestDataTooBig, 413, "payload_too_large", lambda exc: too_large().message),
    (SuspiciousOperation, 400, "bad_request", lambda exc: "request rejected as suspicious"),
    (RecursionError, 400, "bad_request", lambda exc: "JSON is nested too deeply"),
]


def _mapped(status: int, code: str, message: Callable[[Exception], str]) -> Callable[[HttpRequest, Any], HttpResponse]:
    def handler(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(status, code, message(exc))
    return handler


def _handle[E: Exception](api: NinjaAPI, exc_type: type[E], handler: Callable[[HttpRequest, E], HttpResponse]) -> None:
    # ninja's stubs type the argument as "E | type[E]"; it only ever passes the instance.
    api.add_exception_handler(exc_type, cast(Callable[[HttpRequest, Any], HttpResponse], handler))


def install(api: NinjaAPI) -> None:
    """Register the handlers; ninja picks the most specific class of the raised exception."""
    _handle(api, JsonError, _json_error)
    _handle(api, ValidationError, _validation_error)
    _handle(api, HttpError, _http_error)
    _handle(api, AuthenticationError, _authentication_error)
    _handle(api, Exception, _unexpected)
    _handle(api, OperationalError, _database_unavailable)
    for exc_type, status, code, message in MAPPED:
        _handle(api, exc_type, _mapped(status, code, message))

"""The one error shape of the JSON API: ``{"error": {"code": "…", "message": "…"}}``.

Every exception that can leave an endpoint is mapped here to a 4xx with a precise message,
including django-ninja's own validation errors (its default 422 becomes a 400). Anything
unexpected is logged and still answered in this shape, never as Django's HTML page.
"""

from __future__ import annotations

from typing import Any

import structlog
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.tasks.exceptions import InvalidTask
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from taskboard.conf import conf
from taskboard.exceptions import InvalidTaskArguments, NotAllowed, OperationError, UnknownTask
from taskboard.readmodels.representations import BadInput

logger = structlog.get_logger("taskboard.api")

AUTH_HINT = "authentication required: send 'Authorization: Bearer <token>' or log in as staff"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def too_large() -> ApiError:
    return ApiError(413, "payload_too_large",
                    f"request body is larger than the {conf.API_MAX_BODY} byte limit")


def unauthenticated(message: str = AUTH_HINT, code: str = "unauthenticated") -> ApiError:
    return ApiError(401, code, message, {"WWW-Authenticate": 'Bearer realm="taskboard"'})


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> HttpResponse:
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def describe_validation_errors(errors: list[dict[str, Any]]) -> str:
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
        if error.get("type") == "extra_forbidden":
            parts.append(f"unknown field {where!r}")
        elif error.get("type") == "missing":
            parts.append(f"{where} is required")
        else:
            parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg")))
    return "; ".join(parts) or "invalid request"


def install(api: NinjaAPI) -> None:
    def handle(exc_type: type[BaseException], status: int, code: str, message: Any = str) -> None:
        def handler(request: HttpRequest, exc: Exception) -> HttpResponse:
            return error_response(status, code, message(exc))
        api.add_exception_handler(exc_type, handler)

    def api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return error_response(400, "bad_request", describe_validation_errors(exc.errors))

    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 429: "throttled"}.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc))

    def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        error = unauthenticated()
        return error_response(error.status, error.code, error.message, error.headers)

    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("api request failed", path=request.path, method=request.method)
        return error_response(500, "internal_error", "internal error; the server log has the details")

    def database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.warning("api database error", path=request.path, error=str(exc))
        return error_response(503, "unavailable", "the database is busy or unavailable; try again",
                              {"Retry-After": "1"})

    api.add_exception_handler(ApiError, api_error)
    api.add_exception_handler(ValidationError, validation_error)
    api.add_exception_handler(HttpError, http_error)
    api.add_exception_handler(AuthenticationError, authentication_error)
    api.add_exception_handler(Exception, unexpected)
    api.add_exception_handler(OperationalError, database_unavailable)
    handle(BadInput, 400, "bad_request")
    handle(UnknownTask, 400, "unknown_task")
    handle(InvalidTaskArguments, 400, "invalid_arguments")
    handle(InvalidTask, 400, "invalid_task")
    handle(NotAllowed, 403, "forbidden")
    handle(OperationError, 409, "conflict")
    handle(Http404, 404, "not_found", lambda exc: "not found")
    handle(ObjectDoesNotExist, 404, "not_found")
    handle(RequestDataTooBig, 413, "payload_too_large", lambda exc: too_large().message)
    handle(SuspiciousOperation, 400, "bad_request", lambda exc: "request rejected as suspicious")
    handle(RecursionError, 400, "bad_request", lambda exc: "JSON is nested too deeply")

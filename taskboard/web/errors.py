"""The JSON error shape of the machine-facing endpoints (``/api/``, ``/metrics``).

``{"error": {"code": "…", "message": "…"}}`` with a 4xx (or 503) status. Code anywhere in a
request raises ``JsonError``; the API's exception handlers and the monitoring views turn it
into the response, so both answer a missing token or permission identically.
"""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse

AUTH_HINT = "authentication required: send 'Authorization: Bearer <token>' or log in as staff"


class JsonError(Exception):
    """A request that ends with this error response."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def response(self) -> HttpResponse:
        return error_response(self.status, self.code, self.message, self.headers)


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> HttpResponse:
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def unauthenticated(message: str = AUTH_HINT, code: str = "unauthenticated") -> JsonError:
    return JsonError(401, code, message, {"WWW-Authenticate": 'Bearer realm="taskboard"'})


def forbidden(message: str) -> JsonError:
    return JsonError(403, "forbidden", message)

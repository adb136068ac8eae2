"""URL patterns of ``/api/``: the django-ninja API, its docs assets, and JSON 404/405s.

Everything under ``/api/`` answers in the API's error shape: unknown paths get a JSON 404
(with a hint when only the trailing slash is missing) and a wrong method a JSON 405.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import Resolver404, URLPattern, path, re_path, resolve
from django.views.decorators.csrf import csrf_exempt

from taskboard.web.api.docs import docs_asset
from taskboard.web.api.site import api
from taskboard.web.errors import error_response


def _json_not_allowed(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = error_response(405, "method_not_allowed",
                                      f"{request.method} is not allowed here; use {allowed}", {"Allow": allowed})
        return response
    return wrapper


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    message = f"no API endpoint at {request.path}"
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            message += f"; did you mean {request.path}/ (with the trailing slash)?"
    return error_response(404, "not_found", message)


def _api_patterns() -> tuple[list[Any], str, str]:
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _json_not_allowed(pattern.callback)
    # Django tries patterns in order: the busiest paths (enqueue, run reads) are tried first
    # instead of after some thirty others. A stable sort keeps their own order (runs/bulk/
    # before runs/<run_id>/), and no other pattern matches a runs/ path.
    patterns = sorted(patterns, key=lambda p: not str(getattr(p, "pattern", "")).startswith("runs/"))
    return patterns, app_name, namespace


urlpatterns: list = [
    path("docs/assets/<str:name>", docs_asset, name="taskboard-api-docs-asset"),
    path("", _api_patterns()),
    re_path(r"^(?P<rest>.*)$", not_found),
]

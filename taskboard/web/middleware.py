"""Project middleware: chunked request bodies under WSGI, and no caching of private pages.

``ChunkedBodyMiddleware``: a request sent with ``Transfer-Encoding: chunked`` has no
``Content-Length``, and Django's WSGI handler then reads its body as empty (it trusts only
``Content-Length``). When the server has de-chunked the body and marks the stream as ending
(``wsgi.input_terminated``, which gunicorn sets), the body is read here, at most one byte
past the upload limit, and handed on with its real length: the views see it as if it had been
sent with a ``Content-Length``, and a body over the limit is refused (413 from the API) the
same way.

``NoStoreMiddleware``: dashboard pages, API answers and metrics hold operational data that
must not stay in a browser's or a proxy's cache (``Cache-Control: no-store``), also after a
logout on a shared machine. A response that declares itself ``public`` (the docs' static
assets) keeps its own policy.

``AuditViaMiddleware``: the operator verbs a request runs are audited as coming through the
API (``/api/``), the admin (``/admin/``) or the dashboard (``/dashboard/``): the entry point
says it once (``operations.audit.acting_via``), no view has to.

``BearerApiMiddleware``: an API request with a bearer token skips the middleware after it
(sessions, CSRF, the session user, messages, X-Frame-Options, htmx, django-axes), see its
docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control

from taskboard.conf import conf
from taskboard.models import Via
from taskboard.operations.audit import acting_via

type GetResponse = Callable[[HttpRequest], HttpResponseBase]

NO_STORE_PREFIXES = ("/dashboard/", "/api/", "/metrics")
READ_SIZE = 64 * 1024


def body_limit() -> int:
    """The largest body any view accepts; the chunked reader stops one byte past it."""
    return max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0, conf.API_MAX_BODY)


def is_unsized_chunked(meta: dict[str, object]) -> bool:
    encoding = str(meta.get("HTTP_TRANSFER_ENCODING", "")).lower()
    return ("chunked" in encoding and not meta.get("CONTENT_LENGTH")
            and bool(meta.get("wsgi.input_terminated")) and "wsgi.input" in meta)


class ChunkedBodyMiddleware:
    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if is_unsized_chunked(request.META):
            self._buffer(request)
        return self.get_response(request)

    @staticmethod
    def _buffer(request: HttpRequest) -> None:
        stream = request.META["wsgi.input"]
        wanted = body_limit() + 1
        parts: list[bytes] = []
        size = 0
        while size < wanted:
            part = stream.read(min(READ_SIZE, wanted - size))
            if not part:
                break
            parts.append(part)
            size += len(part)
        data = b"".join(parts)
        request.META["CONTENT_LENGTH"] = str(len(data))
        # WSGIRequest keeps its body stream here; request.body and request.POST read from it.
        request._stream = BytesIO(data)


class NoStoreMiddleware:
    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.path_info.startswith(NO_STORE_PREFIXES) and "public" not in response.get("Cache-Control", ""):
            patch_cache_control(response, no_store=True)
        return response


# Longest prefix first is not needed: the prefixes do not overlap.
VIA_PREFIXES = (("/api/", Via.API), ("/admin/", Via.ADMIN), ("/dashboard/", Via.UI))


def via_of(path: str) -> Via:
    for prefix, via in VIA_PREFIXES:
        if path.startswith(prefix):
            return via
    return Via.SYSTEM


class AuditViaMiddleware:
    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with acting_via(via_of(request.path_info)):
            return self.get_response(request)


def is_bearer_api(request: HttpRequest) -> bool:
    return (request.path_info.startswith("/api/")
            and request.META.get("HTTP_AUTHORIZATION", "").lstrip()[:7].lower() == "bearer ")


class _ViewCaller(BaseHandler):
    """Django's own "resolve the URL and call the view" step, with no middleware around it."""

    def __init__(self) -> None:
        self._view_middleware: list[object] = []
        self._template_response_middleware: list[object] = []
        self._exception_middleware: list[object] = []

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # BaseHandler's own step between the middleware and the view (private, stable since
        # Django 1.10; django-stubs leaves it out).
        response: HttpResponseBase = self._get_response(request)  # type: ignore[attr-defined]
        return response


class BearerApiMiddleware:
    """Send ``/api/`` requests that carry ``Authorization: Bearer …`` straight to the view.

    Such a request is authenticated by its token alone (``web.auth``: a bearer header wins over
    any session cookie, and needs no CSRF check because a token is not sent by the browser on
    its own). The middleware placed after this one serves browsers: the session and its user,
    CSRF, messages, X-Frame-Options (the CSP set before this one still forbids framing),
    htmx and django-axes (logins). They cost ~170 Python calls per request, a sixth of what an
    enqueue does outside the database; everything else, a session-authenticated API request
    included, still takes the whole stack. ``request.user`` is the anonymous user here: the
    caller is ``request.auth``, set by the API's authentication from the token.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.call_view = _ViewCaller()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if is_bearer_api(request):
            request.user = AnonymousUser()
            return self.call_view(request)
        return self.get_response(request)

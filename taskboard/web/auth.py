"""Who is calling a machine-facing endpoint: a bearer token or a staff session.

- ``Authorization: Bearer <key>`` wins when present: an unknown or revoked key is a 401 even
  if a session cookie is sent too. Tokens are not cookies, so no CSRF check applies.
- Otherwise the Django session: an unsafe method must pass Django's CSRF check (403).
- No credentials: 401. Authenticated but not active staff with the permission: 403
  (``operations.require`` decides, the same rule as the dashboard and the admin).

Used by the JSON API (through ``web.api.auth.ApiAuth``) and by ``/metrics``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseForbidden
from django.middleware.csrf import CsrfViewMiddleware

from taskboard.exceptions import NotAllowed
from taskboard.operations import Operator, require, tokens
from taskboard.web.errors import JsonError, forbidden, unauthenticated

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def authenticate(request: HttpRequest) -> Operator | None:
    """The calling user, or None without credentials; raises ``JsonError`` for bad ones."""
    # META, not request.headers: that builds a dict of every header on first use.
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, key = header.strip().partition(" ")
    # Other schemes (e.g. Basic from a proxy in front of the site) are not ours to judge.
    if scheme.lower() == "bearer":
        key = key.strip()
        if not key:
            raise unauthenticated("the Authorization header has no token after 'Bearer'", "invalid_token")
        try:
            token = tokens.verify(key)
        except tokens.TokenError as exc:
            raise unauthenticated(str(exc), "invalid_token") from None
        return token.user
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    if request.method not in SAFE_METHODS and not passes_csrf(request):
        raise JsonError(403, "csrf_failed",
                        "CSRF verification failed: a session request must send the X-CSRFToken header")
    return user


def authorize(request: HttpRequest, perm: str) -> Operator:
    """The calling user if they hold ``perm``; else ``JsonError`` 401 (who?) or 403 (not allowed)."""
    user = authenticate(request)
    if user is None:
        raise unauthenticated()
    try:
        require(user, perm)
    except NotAllowed as exc:
        raise forbidden(str(exc)) from None
    return user


def passes_csrf(request: HttpRequest) -> bool:
    """Django's CSRF check for a view that is itself ``csrf_exempt`` (as the API's are)."""
    middleware = CsrfViewMiddleware(lambda request: HttpResponseForbidden())
    request.csrf_processing_done = False  # type: ignore[attr-defined]
    middleware.process_request(request)
    return middleware.process_view(request, _no_view, (), {}) is None


def _no_view(request: HttpRequest) -> HttpResponseForbidden:
    """Stands in for the view in ``CsrfViewMiddleware.process_view``, which never calls it."""
    raise NotImplementedError

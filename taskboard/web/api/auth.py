"""Who is calling: a bearer token or a staff session, then a permission check.

- ``Authorization: Bearer <key>`` wins when present: an unknown or revoked key is a 401 even
  if a session cookie is sent too. Tokens are not cookies, so no CSRF check applies.
- Otherwise the Django session: an unsafe method must pass Django's CSRF check (403).
- No credentials: 401. Authenticated but not active staff with the permission: 403
  (``operations.require`` decides, the same rule as the dashboard and the admin).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security.base import AuthBase
from ninja.utils import check_csrf

from taskboard.operations import require, tokens
from taskboard.web.api.errors import ApiError, unauthenticated

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def authenticate(request: HttpRequest) -> Any:
    """The calling user, or None without credentials; raises ApiError for bad ones."""
    header = request.headers.get("Authorization", "")
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
        request.api_token = token  # type: ignore[attr-defined]
        return token.user
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    if request.method not in SAFE_METHODS and check_csrf(request) is not None:
        raise ApiError(403, "csrf_failed",
                       "CSRF verification failed: a session request must send the X-CSRFToken header")
    return user


class ApiAuth(AuthBase):
    """django-ninja auth callable: authenticate, then require ``perm``."""

    openapi_type = "http"
    openapi_scheme = "bearer"
    openapi_description = ("A token from `manage.py taskboard_token USERNAME`; a staff session "
                           "(with the X-CSRFToken header on POST) works too.")

    def __init__(self, perm: str) -> None:
        super().__init__()
        self.perm = perm

    def __call__(self, request: HttpRequest) -> Any:
        user = authenticate(request)
        if user is None:
            return None  # django-ninja answers AuthenticationError: 401
        require(user, self.perm)  # NotAllowed: 403
        return user

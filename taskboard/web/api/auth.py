"""django-ninja's side of ``web.auth``: the ``auth=`` callable per permission, and the request type.

``ApiAuth(perm)`` authenticates (bearer token or staff session, see ``web.auth``) and then
requires ``perm`` before the endpoint reads anything; ninja stores the user as
``request.auth`` (``web.requests.ApiRequest``), which endpoints pass to ``operations`` as the actor.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security.base import AuthBase

from taskboard.operations import (
    PERM_BREAKER,
    PERM_CANCEL,
    PERM_DISCARD,
    PERM_ENQUEUE,
    PERM_PAUSE,
    PERM_REPLAY,
    PERM_RETRY_NOW,
    PERM_RUN_NOW,
    PERM_VIEW,
    Operator,
)
from taskboard.web.auth import authorize


class ApiAuth(AuthBase):
    """django-ninja auth callable: authenticate, then require ``perm`` (401 / 403 otherwise)."""

    openapi_type = "http"
    openapi_scheme = "bearer"
    openapi_description = ("A token from `manage.py taskboard_token USERNAME`; a staff session "
                           "(with the X-CSRFToken header on POST) works too.")

    def __init__(self, perm: str) -> None:
        super().__init__()
        self.perm = perm

    def __call__(self, request: HttpRequest) -> Operator:
        return authorize(request, self.perm)


CAN_VIEW = ApiAuth(PERM_VIEW)
CAN_ENQUEUE = ApiAuth(PERM_ENQUEUE)
CAN_CANCEL = ApiAuth(PERM_CANCEL)
CAN_REPLAY = ApiAuth(PERM_REPLAY)
CAN_DISCARD = ApiAuth(PERM_DISCARD)
CAN_RETRY_NOW = ApiAuth(PERM_RETRY_NOW)
CAN_RUN_NOW = ApiAuth(PERM_RUN_NOW)
CAN_PAUSE = ApiAuth(PERM_PAUSE)
CAN_CONTROL_BREAKER = ApiAuth(PERM_BREAKER)

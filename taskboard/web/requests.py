"""Typed ``HttpRequest`` subclasses for what middleware adds to a request.

Only for type checkers: Django still passes its own ``HttpRequest``; views annotate the
attributes they rely on (django-htmx's documented pattern).
"""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from taskboard.operations import Operator


class HtmxHttpRequest(HttpRequest):
    """A request that passed ``django_htmx.middleware.HtmxMiddleware``."""

    htmx: HtmxDetails


class ApiRequest(HttpRequest):
    """A request that passed the API's ``web.api.auth.ApiAuth``: ``auth`` is the calling user."""

    auth: Operator

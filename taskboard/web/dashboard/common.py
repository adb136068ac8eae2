"""What every dashboard view shares: staff-only access, rendering a page or its fragment,
the bulk actions a user may take, and the keyset page a request asks for.

Every view needs an active staff user with ``taskboard.view_taskrun``. Anonymous visitors go to
the login page; an htmx request gets an ``HX-Redirect`` instead, so a polled fragment never
swaps a login form into the page. When htmx asks for the live part of a page, the view renders
``"page.html#fragment"``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect

from taskboard import operations
from taskboard.exceptions import NotAllowed
from taskboard.readmodels.paging import Cursor, Page, keyset_page
from taskboard.web.requests import HtmxHttpRequest

View = Callable[..., HttpResponse]


@dataclass(frozen=True)
class BulkAction:
    """A button of a list's bulk toolbar (``partials/bulk_toolbar.html``)."""

    value: str
    label: str
    css: str
    perm: str


# A run's verbs in bulk; each value is also its key in ``run_pages.allowed_verbs``.
RUN_BULK_ACTIONS = (BulkAction("cancel", "Cancel", "btn-danger-quiet", operations.PERM_CANCEL),
                    BulkAction("replay", "Replay", "", operations.PERM_REPLAY),
                    BulkAction("retry_now", "Retry now", "", operations.PERM_RETRY_NOW),
                    BulkAction("run_now", "Run now", "", operations.PERM_RUN_NOW))
DEAD_LETTER_BULK_ACTIONS = (BulkAction("replay", "Replay", "btn-primary", operations.PERM_REPLAY),
                            BulkAction("discard", "Discard", "btn-danger-quiet", operations.PERM_DISCARD))


def permitted(request: HtmxHttpRequest, actions: tuple[BulkAction, ...]) -> list[BulkAction]:
    return [action for action in actions if request.user.has_perm(action.perm)]

# Bulk actions run inside the request; more rows than this would outlive a request timeout, so
# one action handles at most this many (the confirmation says so) and can be repeated.
UI_BULK_LIMIT = 1_000


def staff_view(view: View) -> View:
    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            if request.htmx:
                page = request.htmx.current_url_abs_path or request.get_full_path()
                return HttpResponseClientRedirect(f"{settings.LOGIN_URL}?{urlencode({'next': page})}")
            return redirect_to_login(request.get_full_path())
        try:
            operations.require(user, operations.PERM_VIEW)
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from None
        return view(request, *args, **kwargs)

    return wrapper


def wants_fragment(request: HtmxHttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def render_page(request: HtmxHttpRequest, template: str, context: dict[str, Any], fragment: str | None = None,
                status: int = 200) -> HttpResponse:
    name = f"{template}#{fragment}" if fragment and wants_fragment(request) else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def render_filtered(request: HtmxHttpRequest, template: str, context: dict[str, Any],
                    fragment: str) -> HttpResponse:
    """A filtered list page: 400 when its filter form (``context["form"]``) is invalid, so an
    invalid filter is an error, not an unfiltered list."""
    status = 400 if context["form"].invalid else 200
    return render_page(request, template, context, fragment, status=status)


def requested_page[M: Model](request: HtmxHttpRequest, queryset: QuerySet[M], time_field: str,
                              kind: Callable[[str], Any]) -> Page[M]:
    """The keyset page the request's ``after``/``before`` cursor asks for (the first page
    when it has none, or one that does not parse)."""
    return keyset_page(queryset, time_field, after=Cursor.decode(request.GET.get("after"), kind),
                       before=Cursor.decode(request.GET.get("before"), kind))



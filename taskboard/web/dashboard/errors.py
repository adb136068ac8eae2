"""The project's 404 answer: the dashboard's own page, styled and with the navigation.

A full page goes through Django's ``page_not_found`` (which renders ``404.html`` with the
request's context, so a signed-in operator keeps the main navigation). An htmx request gets an
error toast instead: swapping a whole page into a fragment's place would break the page.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import defaults

from taskboard.web.dashboard.actions import FRAGMENT_HEADER, Toast

NOT_FOUND = "Not found: it may have been removed, or the address is mistyped."


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.headers.get("HX-Request") == "true":
        response = render(request, "taskboard/partials/toast.html", {"toast": Toast(NOT_FOUND, "error")},
                          status=404)
        response["HX-Retarget"] = "#toasts"
        response["HX-Reswap"] = "beforeend"
        response[FRAGMENT_HEADER] = "1"
        return response
    return defaults.page_not_found(request, exception)

"""Who may see the dashboard: staff with the view permission; everyone else is turned away."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse

from taskboard.models import Status
from taskboard.templatetags.taskboard_tags import call_preview, pretty_json, visible_controls
from tests.web.conftest import HTMX

PAGES = [
    "/dashboard/",
    "/dashboard/panels/stats/",
    "/dashboard/panels/queues/",
    "/dashboard/panels/charts/",
    "/dashboard/panels/workers/",
    "/dashboard/panels/failures/",
    "/dashboard/runs/",
    "/dashboard/runs/{run}/",
    "/dashboard/runs/{run}/progress/",
    "/dashboard/runs/{run}/row/",
    "/dashboard/failures/",
    "/dashboard/failures/{fingerprint}/",
    "/dashboard/dead-letters/",
    "/dashboard/workers/",
]


@pytest.fixture
def urls(make_failed):
    run = make_failed()
    fingerprint = run.attempt_set.get().fingerprint
    return [page.format(run=run.pk, fingerprint=fingerprint) for page in PAGES]


@pytest.mark.parametrize("index", range(len(PAGES)))
def test_anonymous_is_sent_to_login(client, urls, index):
    response = client.get(urls[index])
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/dashboard/")


@pytest.mark.parametrize("index", range(len(PAGES)))
def test_non_staff_is_forbidden(outsider_client, urls, index):
    assert outsider_client.get(urls[index]).status_code == 403


@pytest.mark.parametrize("index", range(len(PAGES)))
def test_read_only_staff_may_look(viewer_client, urls, index):
    assert viewer_client.get(urls[index]).status_code in (200, 286)


def test_staff_without_view_permission_is_forbidden(db, django_user_model):
    user = django_user_model.objects.create_user("bare", password="x", is_staff=True)
    client = Client()
    client.force_login(user)
    assert client.get("/dashboard/").status_code == 403


def test_anonymous_htmx_poll_redirects_the_whole_page(client, make_run):
    run = make_run(Status.RUNNING)
    response = client.get(f"/dashboard/runs/{run.pk}/progress/", HTTP_HX_CURRENT_URL=f"http://testserver/dashboard/runs/{run.pk}/",
                          **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/accounts/login/?next=%2Fdashboard%2Fruns%2F{run.pk}%2F"


def test_root_redirects_to_dashboard(client):
    assert client.get("/")["Location"] == "/dashboard/"


def test_login_page_has_the_contract_fields(client, db):
    content = client.get(reverse("login")).content.decode()
    assert 'name="username"' in content and 'name="password"' in content


def test_pages_link_each_other_in_the_nav(viewer_client):
    content = viewer_client.get("/dashboard/").content.decode()
    for href in ("/dashboard/runs/", "/dashboard/failures/", "/dashboard/dead-letters/", "/dashboard/workers/"):
        assert f'href="{href}"' in content


def test_logout_is_a_post_button(viewer_client):
    content = viewer_client.get("/dashboard/").content.decode()
    assert '<form method="post" action="/accounts/logout/">' in content


def test_unknown_panel_is_404(viewer_client):
    assert viewer_client.get("/dashboard/panels/nope/").status_code == 404


def test_unknown_run_is_404(viewer_client):
    assert viewer_client.get("/dashboard/runs/00000000-0000-4000-8000-000000000000/").status_code == 404


def test_pages_load_htmx_from_django_htmx_and_send_csrf_in_headers(viewer_client):
    content = viewer_client.get("/dashboard/").content.decode()
    assert "/static/django_htmx/htmx-2.min.js" in content
    assert "hx-headers='{\"x-csrftoken\": \"" in content
    assert "https://" not in content  # no CDN


# --- the 404 page (issue 12) ------------------------------------------------------------------------


def test_404_page_is_styled_and_keeps_the_navigation(viewer_client):
    response = viewer_client.get("/dashboard/no-such-page/")
    content = response.content.decode()
    assert response.status_code == 404
    assert "/static/taskboard/taskboard.css" in content
    assert '<nav class="mainnav" aria-label="Main">' in content
    assert "<h1>Page not found</h1>" in content


def test_404_of_a_missing_run_is_the_same_page(viewer_client):
    response = viewer_client.get("/dashboard/runs/00000000-0000-4000-8000-000000000000/")
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.content.decode()


def test_404_page_offers_anonymous_visitors_the_login(client, db):
    content = client.get("/no-such-page/").content.decode()
    assert 'href="/accounts/login/"' in content
    assert 'aria-label="Main"' not in content


def test_404_answer_to_htmx_is_an_error_toast(viewer_client):
    response = viewer_client.get("/dashboard/no-such-page/", **HTMX)
    assert response.status_code == 404
    assert response["HX-Retarget"] == "#toasts"
    assert 'class="toast toast-error" role="alert"' in response.content.decode()


# --- what every page's frame offers (issue 12) -------------------------------------------------------


def test_nav_links_the_api_docs(viewer_client):
    assert '<a href="/api/docs" data-shortcut="g a">API docs</a>' in viewer_client.get("/dashboard/").content.decode()


def test_nav_links_carry_their_keyboard_shortcuts_and_the_help_lists_them(viewer_client):
    content = viewer_client.get("/dashboard/failures/").content.decode()
    for key, href in (("o", "/dashboard/"), ("r", "/dashboard/runs/"), ("f", "/dashboard/failures/"),
                      ("d", "/dashboard/dead-letters/"), ("w", "/dashboard/workers/")):
        assert f'href="{href}" data-shortcut="g {key}"' in content
        assert f"<kbd>g</kbd> then <kbd>{key}</kbd>" in content
    assert 'data-shortcut="g f" aria-current="page"' in content
    assert '<dialog id="shortcuts"' in content


def test_every_page_has_the_live_updates_toggle(viewer_client):
    assert 'data-live-toggle' in viewer_client.get("/dashboard/workers/").content.decode()


@pytest.mark.parametrize("index", range(len(PAGES)))
def test_pages_run_no_inline_script(viewer_client, urls, index):
    # The Content-Security-Policy allows scripts from the project's static files only.
    content = viewer_client.get(urls[index]).content.decode()
    assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", content) == []
    assert re.findall(r"\son[a-z]+\s*=", content) == []
    assert "javascript:" not in content


# --- visible_controls: bidi control characters in user content ---------------------------------------


@pytest.mark.parametrize("char", ["\u202e", "\u202d", "\u202a", "\u202b", "\u202c", "\u2066", "\u2067",
                                  "\u2068", "\u2069", "\u200e", "\u200f", "\u061c"])
def test_every_bidi_control_shows_as_its_escape(char):
    assert visible_controls(f"a{char}b") == f"a\\u{ord(char):04x}b"


def test_visible_controls_keeps_right_to_left_text():
    assert visible_controls("שלום مرحبا") == "שלום مرحبا"


def test_json_and_argument_previews_show_bidi_controls_escaped_and_stay_valid_json():
    value = {"name": "report\u202efdp.exe"}
    shown = pretty_json(value)
    assert "\u202e" not in shown and json.loads(shown) == value
    assert call_preview(SimpleNamespace(args=["x\u2067y"], kwargs={})) == '"x\\u2067y"'

"""Who may see the dashboard: staff with the view permission; everyone else is turned away."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from taskboard.models import Status
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

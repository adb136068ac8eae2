"""The Alerts page: firing first with a Silence control (HTMX), resolved ones paged, the nav
badge with the firing count; silencing needs its permission and validates its input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from taskboard.models import Alert, AlertState, AuditEvent
from taskboard.operations import PERM_SILENCE
from tests.conftest import VIEWER_PERMS, make_user

pytestmark = pytest.mark.django_db

HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def oncall_client() -> Client:
    client = Client()
    client.force_login(make_user("oncall", perms=(*VIEWER_PERMS, PERM_SILENCE)))
    return client


def alert(state: str = AlertState.FIRING, key: str = "default", minutes_ago: int = 0) -> Alert:
    started = timezone.now() - timedelta(minutes=minutes_ago)
    return Alert.objects.create(rule="queue_wait", key=key, state=state, summary=f"queue {key} waits", count=3,
                                link=f"/dashboard/runs/?queue={key}", started_at=started,
                                resolved_at=started if state == AlertState.RESOLVED else None)


def test_firing_first_then_resolved(viewer_client: Client) -> None:
    alert(AlertState.RESOLVED, key="old-queue", minutes_ago=5)
    alert(key="hot-queue")
    html = viewer_client.get("/dashboard/alerts/").content.decode()
    assert html.index("queue hot-queue waits") < html.index("Resolved") < html.index("queue old-queue waits")
    assert 'href="/dashboard/runs/?queue=hot-queue"' in html
    assert "Silence…" not in html  # a viewer gets no control


def test_the_nav_links_the_page_with_the_firing_count(viewer_client: Client) -> None:
    alert(key="a")
    alert(key="b")
    alert(AlertState.RESOLVED, key="c")
    html = viewer_client.get("/dashboard/").content.decode()
    assert 'href="/dashboard/alerts/"' in html and 'data-shortcut="g e"' in html
    badge = '<span class="nav-badge"><span class="sr-only">(firing: </span>2<span class="sr-only">)</span></span>'
    assert badge in html


def test_no_badge_when_nothing_fires(viewer_client: Client) -> None:
    assert "nav-badge" not in viewer_client.get("/dashboard/").content.decode()


def test_the_poll_gets_the_firing_fragment(viewer_client: Client) -> None:
    alert()
    html = viewer_client.get("/dashboard/alerts/", **HTMX).content.decode()
    assert html.lstrip().startswith('<section id="alerts-live"') and "<html" not in html


def test_the_pager_gets_the_resolved_fragment(viewer_client: Client) -> None:
    for i in range(60):
        alert(AlertState.RESOLVED, key=f"q{i}", minutes_ago=i)
    page = viewer_client.get("/dashboard/alerts/").content.decode()
    assert "queue q49 waits" in page and "queue q50 waits" not in page
    older = "/dashboard/alerts/" + page.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    html = viewer_client.get(older, headers={"HX-Request": "true", "HX-Target": "resolved"}).content.decode()
    assert html.lstrip().startswith('<section id="resolved"') and "queue q50 waits" in html


def test_silence_from_the_page(oncall_client: Client) -> None:
    target = alert()
    page = oncall_client.get("/dashboard/alerts/").content.decode()
    assert f'hx-post="/dashboard/alerts/{target.pk}/silence/"' in page
    response = oncall_client.post(f"/dashboard/alerts/{target.pk}/silence/", {"minutes": "45", "reason": "deploy"},
                                  **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Alert silenced for 45 minutes" in html and "deploy — oncall" in html and "Extend…" in html
    target.refresh_from_db()
    assert target.silenced_until is not None and target.silenced_until > timezone.now() + timedelta(minutes=44)
    [event] = AuditEvent.objects.all()
    assert (event.verb, event.via) == ("alert.silence", "ui")


def test_silence_without_javascript_redirects_back(oncall_client: Client) -> None:
    target = alert()
    response = oncall_client.post(f"/dashboard/alerts/{target.pk}/silence/", {"minutes": "5"})
    assert response.status_code == 302 and response["Location"] == "/dashboard/alerts/"


@pytest.mark.parametrize("data", [{"minutes": "0"}, {"minutes": "10081"}, {"minutes": "soon"}, {},
                                  {"minutes": "5", "reason": "x" * 501}])
def test_bad_silences_are_400(oncall_client: Client, data: dict[str, str]) -> None:
    target = alert()
    assert oncall_client.post(f"/dashboard/alerts/{target.pk}/silence/", data, **HTMX).status_code == 400
    target.refresh_from_db()
    assert target.silenced_until is None and not AuditEvent.objects.exists()


def test_silence_needs_the_permission_and_an_existing_alert(viewer_client: Client, oncall_client: Client) -> None:
    target = alert()
    assert viewer_client.post(f"/dashboard/alerts/{target.pk}/silence/", {"minutes": "5"}, **HTMX).status_code == 403
    assert oncall_client.post("/dashboard/alerts/999999/silence/", {"minutes": "5"}, **HTMX).status_code == 404
    assert not AuditEvent.objects.exists()


def test_page_needs_staff(client: Client, outsider: User) -> None:
    assert client.get("/dashboard/alerts/").status_code == 302
    client.force_login(outsider)
    assert client.get("/dashboard/alerts/").status_code == 403


def test_page_is_a_fixed_number_of_queries(viewer_client: Client, django_assert_max_num_queries) -> None:
    for i in range(30):
        alert(key=f"f{i}")
        alert(AlertState.RESOLVED, key=f"r{i}")
    with django_assert_max_num_queries(8):
        assert viewer_client.get("/dashboard/alerts/").status_code == 200

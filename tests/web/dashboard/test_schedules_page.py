"""The Schedules page: descriptions, next fire times, the status strip, the buttons (HTMX,
permission-gated) and the add form."""

from __future__ import annotations

import pytest
from django.test import Client

from taskboard import operations
from taskboard.models import AuditEvent, Schedule, Status, TaskRun, Via
from taskboard.operations import PERM_SCHEDULE
from tests.conftest import VIEWER_PERMS, make_user

pytestmark = pytest.mark.django_db

NOOP = "taskboard.demo.noop"


@pytest.fixture
def scheduler_client(db) -> Client:
    client = Client()
    client.force_login(make_user("scheduler", perms=(*VIEWER_PERMS, PERM_SCHEDULE)))
    return client


@pytest.fixture
def nightly() -> Schedule:
    return operations.add_schedule("nightly", NOOP, cron="30 2 * * 1-5", timezone="Europe/Berlin")


def test_the_page_describes_each_schedule_with_its_next_fire_times(viewer_client: Client, nightly: Schedule) -> None:
    html = viewer_client.get("/dashboard/schedules/").content.decode()
    assert "nightly" in html and "At 02:30, Monday through Friday (Europe/Berlin)" in html
    assert html.count("<time") >= 3  # the next three fire times
    assert "Run now" not in html  # a viewer gets no buttons and no form
    assert "schedule-form" not in html


def test_the_nav_links_the_page_with_a_shortcut(viewer_client: Client) -> None:
    html = viewer_client.get("/dashboard/").content.decode()
    assert 'href="/dashboard/schedules/"' in html and 'data-shortcut="g s"' in html


def test_latest_runs_show_as_a_status_strip(viewer_client: Client, nightly: Schedule) -> None:
    first = operations.run_schedule("nightly")
    TaskRun.objects.filter(pk=first.pk).update(status=Status.FAILED)
    operations.run_schedule("nightly")
    html = viewer_client.get("/dashboard/schedules/").content.decode()
    strip = html[html.index("Latest runs of nightly"):]
    assert strip.index("st-failed") < strip.index("st-queued")  # oldest first
    assert f"/dashboard/runs/{first.pk}/" in html


def test_the_page_has_a_fixed_query_budget(viewer_client: Client, django_assert_max_num_queries) -> None:
    for i in range(8):
        operations.add_schedule(f"s{i}", NOOP, every=60 + i)
        operations.run_schedule(f"s{i}")
    with django_assert_max_num_queries(8):
        assert viewer_client.get("/dashboard/schedules/").status_code == 200


def test_pause_resume_and_run_now_from_the_page(scheduler_client: Client, nightly: Schedule) -> None:
    response = scheduler_client.post("/dashboard/schedules/nightly/pause/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Schedule nightly paused" in response.content.decode()
    assert Schedule.objects.get().paused and "Resume" in response.content.decode()
    scheduler_client.post("/dashboard/schedules/nightly/resume/", HTTP_HX_REQUEST="true")
    assert not Schedule.objects.get().paused
    response = scheduler_client.post("/dashboard/schedules/nightly/run/", HTTP_HX_REQUEST="true")
    run = TaskRun.objects.get()
    assert run.schedule == "nightly" and f"/dashboard/runs/{run.pk}/" in response.content.decode()
    assert set(AuditEvent.objects.exclude(verb="schedule.add").values_list("via", flat=True)) == {Via.UI}


def test_remove_from_the_page(scheduler_client: Client, nightly: Schedule) -> None:
    assert scheduler_client.post("/dashboard/schedules/nightly/remove/", HTTP_HX_REQUEST="true").status_code == 200
    assert not Schedule.objects.exists()


def test_add_from_the_form(scheduler_client: Client) -> None:
    response = scheduler_client.post("/dashboard/schedules/add/", {
        "name": "beat", "task": NOOP, "every": "30", "timezone": "UTC", "kwargs": "", "queue": "default",
        "misfire": "skip", "overlap": "skip"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Trigger"] == "taskboard:schedules-changed"
    schedule = Schedule.objects.get()
    assert (schedule.name, schedule.every, schedule.overlap) == ("beat", 30, "skip")


@pytest.mark.parametrize(("fields", "message"), [
    ({"cron": "0 0 * * * *"}, "must have 5 fields"),
    ({"cron": "* * * * *", "every": "5"}, "exactly one of cron"),
    ({"timezone": "Mars/Olympus"}, "not a known IANA time zone"),
    ({"kwargs": '{"surprise": 1}'}, "arguments do not match"),
    ({"kwargs": "{nope"}, "not valid JSON"),
    ({"name": "bad name"}, "may only contain"),
])
def test_a_refused_definition_is_shown_inline_with_400(scheduler_client: Client, fields: dict, message: str) -> None:
    data = {"name": "beat", "task": NOOP, "cron": "", "every": "", "timezone": "UTC", "kwargs": "",
            "queue": "default", "misfire": "skip", "overlap": "allow", **fields}
    if "cron" not in fields and "every" not in fields:
        data["every"] = "30"
    response = scheduler_client.post("/dashboard/schedules/add/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert message.lower() in response.content.decode().lower()
    assert not Schedule.objects.exists()


def test_without_permission_every_action_is_403(viewer_client: Client, nightly: Schedule) -> None:
    for url in ("/dashboard/schedules/nightly/pause/", "/dashboard/schedules/nightly/run/",
                "/dashboard/schedules/nightly/remove/", "/dashboard/schedules/add/"):
        assert viewer_client.post(url, {"name": "x"}, HTTP_HX_REQUEST="true").status_code == 403
    assert not Schedule.objects.get().paused and not TaskRun.objects.exists()


def test_unknown_schedules_are_404(scheduler_client: Client) -> None:
    assert scheduler_client.post("/dashboard/schedules/nope/pause/", HTTP_HX_REQUEST="true").status_code == 404


def test_a_settings_schedule_has_no_remove_button_and_refuses_removal(scheduler_client: Client,
                                                                      nightly: Schedule) -> None:
    Schedule.objects.update(source="settings")
    html = scheduler_client.get("/dashboard/schedules/").content.decode()
    assert "Remove" not in html
    assert scheduler_client.post("/dashboard/schedules/nightly/remove/", HTTP_HX_REQUEST="true").status_code == 409


def test_without_javascript_an_action_redirects_back(scheduler_client: Client, nightly: Schedule) -> None:
    response = scheduler_client.post("/dashboard/schedules/nightly/pause/")
    assert (response.status_code, response["Location"]) == (302, "/dashboard/schedules/")


def test_anonymous_visitors_go_to_the_login(client: Client) -> None:
    assert client.get("/dashboard/schedules/").status_code == 302


def test_staff_without_view_permission_get_403(db) -> None:
    client = Client()
    client.force_login(make_user("nobody"))
    assert client.get("/dashboard/schedules/").status_code == 403


def test_the_polled_fragment_is_the_live_list(viewer_client: Client, nightly: Schedule) -> None:
    html = viewer_client.get("/dashboard/schedules/", HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<div id="schedules-live"') and "<html" not in html



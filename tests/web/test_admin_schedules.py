"""The schedules admin: add (validated), actions and delete through operations; django-q2's
own admin pages (whose "Scheduled tasks" never fire under taskboard) are gone."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django_q.models import Failure, OrmQ, Success
from django_q.models import Schedule as DjangoQSchedule

from taskboard import operations
from taskboard.models import AuditEvent, Schedule, TaskRun, Via
from taskboard.operations import PERM_SCHEDULE
from tests.conftest import VIEWER_PERMS, make_user

pytestmark = pytest.mark.django_db

NOOP = "taskboard.demo.noop"


@pytest.fixture
def scheduler(db) -> User:
    return make_user("scheduler", perms=(*VIEWER_PERMS, PERM_SCHEDULE, "taskboard.view_schedule"))


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_django_q_admin_pages_are_gone(db) -> None:
    assert not any(admin.site.is_registered(m) for m in (DjangoQSchedule, Success, Failure, OrmQ))
    html = client_of(make_user("root", superuser=True)).get("/admin/").content.decode()
    assert "Scheduled tasks" not in html and "/admin/django_q/" not in html
    assert "/admin/taskboard/schedule/" in html


def test_adding_goes_through_the_verb(scheduler: User) -> None:
    response = client_of(scheduler).post("/admin/taskboard/schedule/add/", {
        "name": "nightly", "task": NOOP, "cron": "0 3 * * *", "timezone": "Europe/Berlin", "args": "[]",
        "kwargs": "{}", "queue": "", "misfire": "skip", "overlap": "allow"})
    assert response.status_code == 302, response.content.decode()[:2000]
    schedule = Schedule.objects.get()
    assert (schedule.cron, schedule.created_by, schedule.next_run_at is not None) == ("0 3 * * *", "scheduler", True)
    assert AuditEvent.objects.get().via == Via.ADMIN


def test_a_bad_cron_is_a_form_error(scheduler: User) -> None:
    response = client_of(scheduler).post("/admin/taskboard/schedule/add/", {
        "name": "nightly", "task": NOOP, "cron": "0 3 * *", "timezone": "UTC", "args": "[]", "kwargs": "{}",
        "queue": "", "misfire": "skip", "overlap": "allow"})
    assert response.status_code == 200 and "must have 5 fields" in response.content.decode()
    assert not Schedule.objects.exists()


def test_actions_pause_resume_and_run_now(scheduler: User) -> None:
    schedule = operations.add_schedule("beat", NOOP, every=60)
    client = client_of(scheduler)
    client.post("/admin/taskboard/schedule/", {"action": "pause_schedules", "_selected_action": [schedule.pk]})
    assert Schedule.objects.get().paused
    client.post("/admin/taskboard/schedule/", {"action": "resume_schedules", "_selected_action": [schedule.pk]})
    assert not Schedule.objects.get().paused
    client.post("/admin/taskboard/schedule/", {"action": "run_schedules_now", "_selected_action": [schedule.pk]})
    assert TaskRun.objects.get().schedule == "beat"


def test_delete_goes_through_the_verb(scheduler: User) -> None:
    schedule = operations.add_schedule("beat", NOOP, every=60)
    response = client_of(scheduler).post(f"/admin/taskboard/schedule/{schedule.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Schedule.objects.exists()
    assert AuditEvent.objects.filter(verb="schedule.remove").exists()


def test_viewers_see_but_cannot_act(viewer: User) -> None:
    schedule = operations.add_schedule("beat", NOOP, every=60)
    client = client_of(viewer)
    assert client.get("/admin/taskboard/schedule/").status_code == 200
    assert client.get(f"/admin/taskboard/schedule/{schedule.pk}/change/").status_code == 200
    assert client.get("/admin/taskboard/schedule/add/").status_code == 403
    client.post("/admin/taskboard/schedule/", {"action": "pause_schedules", "_selected_action": [schedule.pk]})
    assert not Schedule.objects.get().paused

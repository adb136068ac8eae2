"""Retry now (a retrying run) and Run now (a scheduled run): buttons and actions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from taskboard.models import Status, TaskRun
from tests.web.conftest import HTMX

LATER = timedelta(hours=1)


def retrying(make_run):
    return make_run(Status.RETRYING, run_after=timezone.now() + LATER, last_error="ConnectionError: reset")


def scheduled(make_run):
    return make_run(Status.SCHEDULED, run_after=timezone.now() + LATER)


def test_run_page_offers_retry_now_on_a_retrying_run(operator_client, make_run):
    run = retrying(make_run)
    content = operator_client.get(f"/dashboard/runs/{run.pk}/").content.decode()
    assert f'hx-post="/dashboard/runs/{run.pk}/retry-now/" hx-target="#run-live"' in content
    assert ">Retry now</button>" in content and ">Run now</button>" not in content


def test_run_page_offers_run_now_on_a_scheduled_run(operator_client, make_run):
    content = operator_client.get(f"/dashboard/runs/{scheduled(make_run).pk}/").content.decode()
    assert ">Run now</button>" in content and ">Retry now</button>" not in content


def test_run_list_rows_offer_both(operator_client, make_run):
    waiting, due = retrying(make_run), scheduled(make_run)
    content = operator_client.get("/dashboard/runs/").content.decode()
    assert f'hx-post="/dashboard/runs/{waiting.pk}/retry-now/" hx-target="#run-{waiting.pk}"' in content
    assert f'hx-post="/dashboard/runs/{due.pk}/run-now/" hx-target="#run-{due.pk}"' in content


def test_no_buttons_for_a_viewer(viewer_client, make_run):
    retrying(make_run)
    scheduled(make_run)
    content = viewer_client.get("/dashboard/runs/").content.decode()
    assert "Retry now" not in content and "Run now" not in content


def test_no_buttons_on_other_statuses(operator_client, make_run):
    make_run(Status.QUEUED)
    make_run(Status.FAILED)
    content = operator_client.get("/dashboard/runs/").content.decode()
    assert "/retry-now/" not in content and "/run-now/" not in content  # no row button (the toolbar has its own)


def test_retry_now_queues_the_run_and_answers_the_live_fragment(operator_client, make_run):
    run = retrying(make_run)
    response = operator_client.post(f"/dashboard/runs/{run.pk}/retry-now/", HTTP_HX_TARGET="run-live", **HTMX)
    run.refresh_from_db()
    assert (response.status_code, run.status) == (200, Status.QUEUED)
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="run-live"') and "Retrying now" in content


def test_run_now_from_a_row_answers_the_row(operator_client, make_run):
    run = scheduled(make_run)
    response = operator_client.post(f"/dashboard/runs/{run.pk}/run-now/", HTTP_HX_TARGET=f"run-{run.pk}", **HTMX)
    run.refresh_from_db()
    assert (response.status_code, run.status) == (200, Status.QUEUED)
    assert response.content.decode().lstrip().startswith(f'<tr id="run-{run.pk}"')


def test_retry_now_on_a_run_that_is_not_retrying_is_a_conflict(operator_client, make_run):
    run = make_run(Status.QUEUED)
    response = operator_client.post(f"/dashboard/runs/{run.pk}/retry-now/", **HTMX)
    assert response.status_code == 409 and response["HX-Retarget"] == "#toasts"


def test_run_now_without_permission_is_forbidden(viewer_client, make_run):
    run = scheduled(make_run)
    response = viewer_client.post(f"/dashboard/runs/{run.pk}/run-now/", **HTMX)
    run.refresh_from_db()
    assert (response.status_code, run.status) == (403, Status.SCHEDULED)


def test_without_javascript_a_row_action_goes_back_to_the_list(operator_client, make_run):
    run = scheduled(make_run)
    response = operator_client.post(f"/dashboard/runs/{run.pk}/run-now/", {"from": "list"},
                                    HTTP_REFERER="http://testserver/dashboard/runs/?status=scheduled")
    assert (response.status_code, response["Location"]) == (302, "http://testserver/dashboard/runs/?status=scheduled")


# --- in bulk, from the run list's toolbar --------------------------------------------------------


def bulk(client, action, runs):
    return client.post("/dashboard/runs/bulk/", {"action": action, "ids": [str(run.pk) for run in runs]}, **HTMX)


def toolbar(client):
    content = client.get("/dashboard/runs/").content.decode()
    return re.findall(r'<button type="submit" name="action" value="(\w+)"', content)


def test_the_toolbar_offers_retry_now_and_run_now_to_who_may(operator_client, viewer, make_run):
    make_run(Status.QUEUED)
    assert toolbar(operator_client) == ["cancel", "replay", "retry_now", "run_now"]
    viewer.user_permissions.add(Permission.objects.get(codename="enqueue_taskrun"))
    client = Client()
    client.force_login(viewer)
    assert toolbar(client) == ["run_now"]  # Run now needs the enqueue permission, nothing else
    assert 'data-select-item aria-label="Select run' in client.get("/dashboard/runs/").content.decode()


def test_bulk_retry_now_queues_the_retrying_runs_and_skips_the_others(operator_client, make_run):
    waiting, other, queued = retrying(make_run), retrying(make_run), make_run(Status.QUEUED)
    response = bulk(operator_client, "retry_now", [waiting, other, queued])
    content = response.content.decode()
    assert response.status_code == 200 and content.lstrip().startswith('<section id="results"')
    assert "Retrying 2 runs now: the next attempts are queued." in content
    assert "Skipped 1: retry now applies to a retrying run" in content
    statuses = {run.pk: run.status for run in TaskRun.objects.all()}
    assert statuses == {waiting.pk: Status.QUEUED, other.pk: Status.QUEUED, queued.pk: Status.QUEUED}


def test_bulk_run_now_queues_the_scheduled_runs(operator_client, make_run):
    due, waiting = scheduled(make_run), retrying(make_run)
    content = bulk(operator_client, "run_now", [due, waiting]).content.decode()
    assert "Queued 1 scheduled run now. Skipped 1: run now applies to a scheduled run" in content
    assert TaskRun.objects.get(pk=due.pk).status == Status.QUEUED
    assert TaskRun.objects.get(pk=waiting.pk).status == Status.RETRYING


@pytest.mark.parametrize("action", ["retry_now", "run_now"])
def test_bulk_start_now_needs_its_permission(viewer_client, make_run, action):
    runs = [retrying(make_run), scheduled(make_run)]
    response = bulk(viewer_client, action, runs)
    assert response.status_code == 403 and "Not allowed" in response.content.decode()
    assert set(TaskRun.objects.values_list("status", flat=True)) == {Status.RETRYING, Status.SCHEDULED}


def test_without_javascript_bulk_run_now_goes_back_to_the_list(operator_client, make_run):
    due = scheduled(make_run)
    response = operator_client.post("/dashboard/runs/bulk/?status=scheduled",
                                    {"action": "run_now", "ids": [str(due.pk)]}, follow=True)
    assert response.redirect_chain == [("/dashboard/runs/?status=scheduled", 302)]
    assert "Queued 1 scheduled run now." in response.content.decode()

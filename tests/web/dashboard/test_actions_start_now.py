"""Retry now (a retrying run) and Run now (a scheduled run): buttons and actions."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from taskboard.models import Status
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
    assert "Retry now" not in content and "Run now" not in content


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

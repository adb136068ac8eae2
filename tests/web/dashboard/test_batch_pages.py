"""The Batches pages, their actions, and a run's batch and correlation on its page and in the list."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from taskboard.bulk import enqueue_many
from taskboard.execution.runner import execute
from taskboard.models import AuditEvent, Batch, Status, TaskRun, Via
from tests import callback_tasks

pytestmark = pytest.mark.django_db


def make_batch(*fails: bool, name: str = "nightly import") -> Batch:
    done = enqueue_many(callback_tasks.child, [{"kwargs": {"n": i, "fail": fail}} for i, fail in enumerate(fails)],
                        batch={"name": name, "on_complete": f"{callback_tasks.HERE}.batch_done"})
    assert done.batch is not None
    return done.batch


def test_the_list_shows_each_batch_with_its_progress(viewer_client: Client) -> None:
    batch = make_batch(False, False)
    execute(str(TaskRun.objects.filter(batch=batch).first().pk))  # type: ignore[union-attr]
    html = viewer_client.get("/dashboard/batches/").content.decode()
    assert "nightly import" in html and f'href="/dashboard/batches/{batch.pk}/"' in html
    assert 'role="progressbar" aria-valuenow="50"' in html


def test_the_nav_links_the_page_with_a_shortcut(viewer_client: Client) -> None:
    html = viewer_client.get("/dashboard/").content.decode()
    assert 'href="/dashboard/batches/"' in html and 'data-shortcut="g b"' in html


def test_the_batch_page_shows_progress_counts_and_children(viewer_client: Client) -> None:
    batch = make_batch(False, True, False)
    for run in TaskRun.objects.filter(batch=batch).order_by("kwargs__n")[:2]:
        execute(str(run.pk))
    response = viewer_client.get(f"/dashboard/batches/{batch.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="progressbar" aria-valuenow="66"' in html
    assert re.search(r"<dt>Failed</dt><dd><a [^>]*>1</a>", html)
    assert html.count('<tr id="run-') == 3
    assert "Cancel batch" not in html and "Replay failed" not in html  # a viewer gets no actions


def test_children_filter_by_status_and_invalid_filter_is_400(viewer_client: Client) -> None:
    batch = make_batch(False, True)
    for run in TaskRun.objects.filter(batch=batch):
        execute(str(run.pk))
    html = viewer_client.get(f"/dashboard/batches/{batch.pk}/?status=failed").content.decode()
    assert html.count('<tr id="run-') == 1
    fragment = viewer_client.get(f"/dashboard/batches/{batch.pk}/?status=waiting", HTTP_HX_REQUEST="true",
                                 HTTP_HX_TARGET="children")
    assert fragment.status_code == 200 and "No children match" in fragment.content.decode()
    assert viewer_client.get(f"/dashboard/batches/{batch.pk}/?status=bogus").status_code == 400


def test_the_live_part_stops_polling_once_the_batch_finished(viewer_client: Client) -> None:
    batch = make_batch(False)
    live = viewer_client.get(f"/dashboard/batches/{batch.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="batch-live")
    assert live.status_code == 200 and 'id="batch-live"' in live.content.decode()
    execute(str(TaskRun.objects.get(batch=batch).pk))
    live = viewer_client.get(f"/dashboard/batches/{batch.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="batch-live")
    assert live.status_code == 286


def test_unknown_batch_is_404(viewer_client: Client) -> None:
    assert viewer_client.get("/dashboard/batches/00000000-0000-4000-8000-000000000000/").status_code == 404


def test_cancel_from_the_page(operator_client: Client) -> None:
    batch = make_batch(False, False)
    html = operator_client.get(f"/dashboard/batches/{batch.pk}/").content.decode()
    assert re.search(r"<button[^>]*>Cancel</button>", html) and "Replay failed" not in html
    response = operator_client.post(f"/dashboard/batches/{batch.pk}/cancel/", {"reason": "wrong file"},
                                    HTTP_HX_REQUEST="true", HTTP_HX_TARGET="batch-live")
    assert response.status_code == 200
    assert "cancelled: waiting children cancelled" in response.content.decode()
    assert TaskRun.objects.filter(batch=batch, status=Status.CANCELLED).count() == 2
    event = AuditEvent.objects.get(verb="batch.cancel")
    assert (event.reason, event.via, event.actor) == ("wrong file", Via.UI, "operator")


def test_an_action_needs_a_reason_and_the_permission(operator_client: Client, viewer_client: Client) -> None:
    batch = make_batch(False)
    url = f"/dashboard/batches/{batch.pk}/cancel/"
    assert operator_client.post(url, HTTP_HX_REQUEST="true").status_code == 400
    assert viewer_client.post(url, {"reason": "x"}, HTTP_HX_REQUEST="true").status_code == 403
    assert operator_client.post(f"/dashboard/batches/{batch.pk}/bogus/", {"reason": "x"}).status_code == 404
    assert TaskRun.objects.get(batch=batch).status == Status.QUEUED
    assert not AuditEvent.objects.exists()


def test_replay_failed_from_the_page(operator_client: Client) -> None:
    batch = make_batch(True, False)
    for run in TaskRun.objects.filter(batch=batch):
        execute(str(run.pk))
    html = operator_client.get(f"/dashboard/batches/{batch.pk}/").content.decode()
    assert re.search(r"<button[^>]*>Replay failed</button>", html)
    response = operator_client.post(f"/dashboard/batches/{batch.pk}/replay-failed/", {"reason": "fixed the bug"},
                                    HTTP_HX_REQUEST="true", HTTP_HX_TARGET="batch-live")
    assert "Replayed 1 failed child of batch" in response.content.decode()
    assert TaskRun.objects.filter(batch=batch, replay_of__isnull=False).count() == 1


def test_without_javascript_an_action_redirects_back(operator_client: Client) -> None:
    batch = make_batch(False)
    response = operator_client.post(f"/dashboard/batches/{batch.pk}/cancel/", {"reason": "x"})
    assert (response.status_code, response["Location"]) == (302, f"/dashboard/batches/{batch.pk}/")


def test_run_page_links_its_batch_and_correlation(viewer_client: Client) -> None:
    batch = make_batch(False)
    run = TaskRun.objects.get(batch=batch)
    html = viewer_client.get(f"/dashboard/runs/{run.pk}/").content.decode()
    assert f'href="/dashboard/batches/{batch.pk}/"' in html
    assert f"?correlation={batch.pk}" in html


def test_runs_list_filters_by_correlation(viewer_client: Client) -> None:
    from taskboard.backend.correlation import correlation

    with correlation("order-1042"):
        wanted = callback_tasks.child.enqueue(n=1)
    callback_tasks.child.enqueue(n=2)
    html = viewer_client.get("/dashboard/runs/?correlation=order-1042").content.decode()
    assert html.count('<tr id="run-') == 1 and f'id="run-{wanted.id}"' in html

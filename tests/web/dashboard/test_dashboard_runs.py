"""The run list: filters, keyset pages, bounded counts, live rows and what a viewer may do."""

from __future__ import annotations

import re

import pytest

from taskboard.models import Status, TaskRun
from taskboard.readmodels import counts, paging
from tests.web.conftest import HTMX


def listed(response):
    """Ids of the runs a list response shows, top to bottom."""
    return re.findall(r'<tr id="run-([0-9a-f-]{36})"', response.content.decode())


def cursor(response, name):
    match = re.search(rf'href="\?(?:[^"]*&amp;)?{name}=([^"&]+)', response.content.decode())
    return match and match.group(1)


def test_newest_runs_come_first(viewer_client, make_run):
    old, new = make_run(ago=60), make_run(ago=1)
    assert listed(viewer_client.get("/dashboard/runs/")) == [str(new.pk), str(old.pk)]


def test_status_filter(viewer_client, make_run):
    failed = make_run(Status.FAILED)
    make_run(Status.SUCCEEDED)
    assert listed(viewer_client.get("/dashboard/runs/?status=failed")) == [str(failed.pk)]


def test_task_filter(viewer_client, make_run):
    wanted = make_run(task="taskboard.demo.noop")
    make_run(task="taskboard.demo.sleep")
    assert listed(viewer_client.get("/dashboard/runs/?task=taskboard.demo.noop")) == [str(wanted.pk)]


def test_queue_filter(viewer_client, make_run):
    wanted = make_run(queue="emails")
    make_run(queue="default")
    assert listed(viewer_client.get("/dashboard/runs/?queue=emails")) == [str(wanted.pk)]


def test_period_filter(viewer_client, make_run):
    recent = make_run(ago=30 * 60)
    make_run(ago=3 * 3600)
    assert listed(viewer_client.get("/dashboard/runs/?period=1h")) == [str(recent.pk)]


def test_search_finds_an_error_message(viewer_client, make_run):
    hit = make_run(Status.FAILED, last_error="ValueError: bad iban DE00")
    make_run(Status.FAILED, last_error="KeyError: other")
    assert listed(viewer_client.get("/dashboard/runs/?q=iban")) == [str(hit.pk)]


def test_search_finds_an_argument_value(viewer_client, make_run):
    hit = make_run(kwargs={"customer": "ACME-42"})
    make_run(kwargs={"customer": "other"})
    assert listed(viewer_client.get("/dashboard/runs/?q=acme-42")) == [str(hit.pk)]


def test_search_finds_a_positional_argument(viewer_client, make_run):
    hit = make_run(args=["invoice-9911"], kwargs={})
    make_run(args=["x"], kwargs={})
    assert listed(viewer_client.get("/dashboard/runs/?q=invoice-9911")) == [str(hit.pk)]


def test_search_by_run_id(viewer_client, make_run):
    hit = make_run()
    make_run()
    assert listed(viewer_client.get(f"/dashboard/runs/?q={hit.pk}")) == [str(hit.pk)]


def test_search_scans_a_bounded_window_of_newest_runs(viewer_client, make_run, monkeypatch):
    monkeypatch.setattr("taskboard.web.dashboard.forms.SEARCH_SCAN_LIMIT", 2)
    make_run(ago=300, last_error="needle")
    newer = [make_run(ago=10, last_error="needle"), make_run(ago=5)]
    response = viewer_client.get("/dashboard/runs/?q=needle")
    assert listed(response) == [str(newer[0].pk)]
    assert "text search covers the newest 2 runs" in response.content.decode()


def test_invalid_filter_values_are_ignored(viewer_client, make_run):
    run = make_run()
    response = viewer_client.get("/dashboard/runs/?status=bogus&period=1y")
    assert response.status_code == 200
    assert listed(response) == [str(run.pk)]


def test_older_page_continues_without_duplicates(viewer_client, make_run, monkeypatch):
    monkeypatch.setattr(paging, "PAGE_SIZE", 3)
    runs = [make_run(ago=i) for i in range(7)]  # runs[0] is the newest
    first = viewer_client.get("/dashboard/runs/")
    second = viewer_client.get(f"/dashboard/runs/?after={cursor(first, 'after')}")
    third = viewer_client.get(f"/dashboard/runs/?after={cursor(second, 'after')}")
    pages = listed(first) + listed(second) + listed(third)
    assert pages == [str(run.pk) for run in runs]


def test_runs_with_the_same_timestamp_page_by_id(viewer_client, make_run, monkeypatch):
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    at = make_run().enqueued_at
    for _ in range(3):
        make_run(enqueued_at=at)
    first = viewer_client.get("/dashboard/runs/")
    rest = viewer_client.get(f"/dashboard/runs/?after={cursor(first, 'after')}")
    shown = listed(first) + listed(rest)
    assert sorted(shown) == sorted(str(pk) for pk in TaskRun.objects.values_list("pk", flat=True))


def test_older_page_links_back_to_newer(viewer_client, make_run, monkeypatch):
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    runs = [make_run(ago=i) for i in range(4)]
    first = viewer_client.get("/dashboard/runs/")
    second = viewer_client.get(f"/dashboard/runs/?after={cursor(first, 'after')}")
    back = viewer_client.get(f"/dashboard/runs/?before={cursor(second, 'before')}")
    assert listed(back) == [str(runs[0].pk), str(runs[1].pk)]


def test_a_malformed_cursor_shows_the_first_page(viewer_client, make_run):
    run = make_run()
    assert listed(viewer_client.get("/dashboard/runs/?after=not-a-cursor")) == [str(run.pk)]


def test_counts_are_bounded(viewer_client, make_run, monkeypatch):
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    monkeypatch.setattr(counts, "LIST_COUNT_BOUND", 3)
    for i in range(5):
        make_run(ago=i)
    assert "<b>3+</b> runs" in viewer_client.get("/dashboard/runs/").content.decode()


def test_a_short_first_page_counts_itself(viewer_client, make_run):
    make_run()
    make_run()
    assert "<b>2</b> runs" in viewer_client.get("/dashboard/runs/").content.decode()


def test_htmx_request_gets_only_the_results_fragment(viewer_client, make_run):
    make_run()
    content = viewer_client.get("/dashboard/runs/?status=queued", **HTMX).content.decode()
    assert content.lstrip().startswith('<section id="results"')
    assert "<html" not in content


def test_running_row_shows_live_progress(viewer_client, make_run):
    make_run(Status.RUNNING, progress=42, progress_message="42 of 100 invoices")
    content = viewer_client.get("/dashboard/runs/").content.decode()
    assert 'role="progressbar" aria-valuenow="42" aria-valuemin="0" aria-valuemax="100"' in content
    assert "42 of 100 invoices" in content
    assert "hx-trigger=\"every 2s [document.visibilityState === 'visible']\"" in content


def test_finished_row_does_not_poll(viewer_client, make_run):
    make_run(Status.SUCCEEDED)
    assert "hx-trigger" not in viewer_client.get("/dashboard/runs/", **HTMX).content.decode()


def test_row_fragment_keeps_polling_while_running(viewer_client, make_run):
    run = make_run(Status.RUNNING)
    assert viewer_client.get(f"/dashboard/runs/{run.pk}/row/").status_code == 200


def test_row_fragment_stops_polling_once_finished(viewer_client, make_run):
    run = make_run(Status.SUCCEEDED)
    response = viewer_client.get(f"/dashboard/runs/{run.pk}/row/")
    assert response.status_code == 286
    assert f'id="run-{run.pk}"' in response.content.decode()


def test_row_fragment_of_a_pruned_run_removes_the_row(viewer_client):
    response = viewer_client.get("/dashboard/runs/00000000-0000-4000-8000-000000000000/row/")
    assert (response.status_code, response.content) == (286, b"")


def test_viewer_gets_no_selection_or_bulk_buttons(viewer_client, make_run):
    make_run()
    content = viewer_client.get("/dashboard/runs/").content.decode()
    assert 'name="ids"' not in content
    assert ">Cancel</button>" not in content and ">Replay</button>" not in content


def test_operator_gets_selection_and_bulk_buttons(operator_client, make_run):
    make_run()
    content = operator_client.get("/dashboard/runs/").content.decode()
    assert 'name="ids"' in content
    assert ">Cancel</button>" in content and ">Replay</button>" in content


@pytest.mark.parametrize("field", ["kwargs", "last_error"])
def test_hostile_text_is_escaped(viewer_client, make_run, field):
    value = {"x": "<script>alert(1)</script>"} if field == "kwargs" else "<script>alert(1)</script>"
    make_run(Status.FAILED, **{field: value})
    content = viewer_client.get("/dashboard/runs/").content.decode()
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content

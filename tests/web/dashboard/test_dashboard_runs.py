"""The run list: filters, keyset pages, bounded counts, live rows and what a viewer may do."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

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


def test_search_by_short_run_id(viewer_client, make_run):
    hit = make_run()
    make_run()
    assert listed(viewer_client.get(f"/dashboard/runs/?q={str(hit.pk)[:8]}")) == [str(hit.pk)]


def test_search_by_a_longer_id_prefix_with_dashes(viewer_client, make_run):
    hit = make_run()
    make_run()
    assert listed(viewer_client.get(f"/dashboard/runs/?q={str(hit.pk)[:13]}")) == [str(hit.pk)]


def test_a_hex_word_that_is_no_run_id_is_searched_as_text(viewer_client, make_run):
    hit = make_run(kwargs={"order": "deadbeef"})
    assert listed(viewer_client.get("/dashboard/runs/?q=deadbeef")) == [str(hit.pk)]


@pytest.mark.parametrize(("query", "field", "error"), [
    ("status=bogus", "status", "Select a valid choice"),
    ("period=1y", "period", "Select a valid choice"),
])
def test_an_invalid_filter_says_so_instead_of_listing_everything(viewer_client, make_run, query, field, error):
    make_run()
    response = viewer_client.get(f"/dashboard/runs/?{query}")
    content = response.content.decode()
    assert response.status_code == 400
    assert listed(response) == []
    assert f'id="id_{field}" aria-invalid="true"' in content
    assert error in content and "The filter is not valid" in content


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
    assert 'hx-trigger="every 2s"' in content  # live.js holds polls while hidden or paused (no eval under the CSP)


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


# --- time range (from / to) ---------------------------------------------------------------------


def local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S")


def test_from_and_to_select_a_time_range(viewer_client, make_run):
    make_run(ago=3 * 3600)
    inside = make_run(ago=2 * 3600)
    make_run(ago=600)
    now = timezone.now()
    url = f"/dashboard/runs/?from={local(now - timedelta(hours=2.5))}&to={local(now - timedelta(hours=1))}"
    assert listed(viewer_client.get(url)) == [str(inside.pk)]


def test_from_alone_is_an_open_range(viewer_client, make_run):
    make_run(ago=3 * 3600)
    recent = make_run(ago=600)
    assert listed(viewer_client.get(f"/dashboard/runs/?from={local(timezone.now() - timedelta(hours=1))}")) == [
        str(recent.pk)]


def test_the_range_is_shown_back_in_the_inputs(viewer_client, db):
    content = viewer_client.get("/dashboard/runs/?from=2030-01-31T12:00").content.decode()
    assert 'name="from" id="id_from" value="2030-01-31T12:00:00"' in content


def test_from_after_to_is_an_error(viewer_client, make_run):
    make_run()
    response = viewer_client.get("/dashboard/runs/?from=2030-01-02T00:00&to=2030-01-01T00:00")
    assert response.status_code == 400 and listed(response) == []
    assert "must be later than From" in response.content.decode()


def test_a_malformed_time_is_an_error(viewer_client, make_run):
    make_run()
    response = viewer_client.get("/dashboard/runs/?from=yesterday")
    assert response.status_code == 400
    assert 'value="yesterday" aria-invalid="true"' in response.content.decode()


def test_a_period_and_a_range_together_are_an_error(viewer_client, make_run):
    make_run()
    response = viewer_client.get("/dashboard/runs/?period=1h&from=2030-01-01T00:00")
    assert response.status_code == 400
    assert "choose a period or a From/To range, not both" in response.content.decode()


# --- an operator's cancel is no error (defect 4) and waiting runs can start now ----------------------


def test_a_cancelled_row_names_who_cancelled_not_an_error(viewer_client, make_run):
    make_run(Status.CANCELLED, cancel_requested_by="bob", last_error="TaskCancelled: cancelled by bob")
    content = viewer_client.get("/dashboard/runs/").content.decode()
    assert "cancelled by bob" in content
    assert 'class="error-text' not in content


def test_operator_gets_a_new_run_button(operator_client, viewer_client, db):
    button = '<a class="btn btn-primary" href="/dashboard/runs/new/">New run</a>'
    assert button in operator_client.get("/dashboard/runs/").content.decode()
    assert button not in viewer_client.get("/dashboard/runs/").content.decode()

"""The dashboard's side of the audit log: its actions leave one event ``via`` ui (none when
refused), destructive bulk actions ask why, the Audit page lists and filters the events, and
a run's timeline shows the ones that touched it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from taskboard import operations
from taskboard.models import AuditEvent, Status, TaskRun, Via
from taskboard.operations.audit import acting_via
from tests.audit_helpers import linked_runs, recorded, summary
from tests.factories import NOOP
from tests.web.conftest import HTMX
from tests.web.flow_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.flow_fixtures import BREAKER

pytestmark = pytest.mark.django_db


def post(client: Client, url: str, data: dict | None = None) -> Any:
    return client.post(url, data or {}, headers={"HX-Request": "true"})


def later() -> object:
    return timezone.now() + timedelta(hours=1)


# --- the actions ------------------------------------------------------------------------------


def test_each_run_action_leaves_one_event_via_the_dashboard(operator_client, make_run, make_failed):
    queued, failed = make_run(Status.QUEUED), make_failed()
    retrying, scheduled = make_run(Status.RETRYING, run_after=later()), make_run(Status.SCHEDULED, run_after=later())
    calls = [(f"/dashboard/runs/{queued.pk}/cancel/", {}, "run.cancel", queued),
             (f"/dashboard/runs/{failed.pk}/replay/", {}, "run.replay", failed),
             (f"/dashboard/runs/{retrying.pk}/retry-now/", {}, "run.retry_now", retrying),
             (f"/dashboard/runs/{scheduled.pk}/run-now/", {}, "run.run_now", scheduled)]
    for url, data, verb, run in calls:
        with recorded() as events:
            assert post(operator_client, url, data).status_code == 200
        assert [summary(e) for e in events] == [(verb, "operator", "ui", [str(run.pk)], 1)], url


def test_the_new_run_form_is_an_audited_enqueue(operator_client):
    with recorded() as events:
        response = operator_client.post(f"/dashboard/runs/new/?task={NOOP}", {"queue": "default", "priority": "0"})
    run = TaskRun.objects.get(task=NOOP)
    assert response.status_code == 302
    assert [summary(e) for e in events] == [("run.enqueue", "operator", "ui", [str(run.pk)], 1)]


def test_a_flow_action_keeps_its_reason(flow_operator: User):
    client = Client()
    client.force_login(flow_operator)
    with recorded() as events:
        post(client, f"/dashboard/flow/breaker/{BREAKER}/open/", {"reason": "provider outage"})
    [event] = events
    assert summary(event) == ("breaker.open", "flow-operator", "ui", [BREAKER], 1)
    assert event.reason == "provider outage"


def test_refused_actions_leave_no_event(operator_client, viewer_client, make_run):
    finished = make_run(Status.SUCCEEDED)
    refused = [(viewer_client, f"/dashboard/runs/{make_run(Status.QUEUED).pk}/cancel/", 403),
               (operator_client, f"/dashboard/runs/{finished.pk}/cancel/", 409),
               (operator_client, f"/dashboard/runs/{uuid.uuid4()}/cancel/", 404),
               (operator_client, "/dashboard/flow/queue/default/pause/", 403),
               (operator_client, f"/dashboard/runs/{finished.pk}/retry-now/", 409)]
    for client, url, status in refused:
        with recorded() as events:
            assert post(client, url).status_code == status, url
        assert events == [], url


# --- destructive bulk actions ask why -----------------------------------------------------------


def test_bulk_cancel_asks_for_a_reason_first(operator_client, make_run):
    runs = [make_run(Status.QUEUED), make_run(Status.QUEUED)]
    with recorded() as events:
        response = post(operator_client, "/dashboard/runs/bulk/", {"action": "cancel",
                                                                   "ids": [str(r.pk) for r in runs]})
    content = response.content.decode()
    assert response["HX-Retarget"] == "#modal" and "Cancel 2 runs?" in content
    assert 'name="reason" id="confirm-reason" required' in content
    assert events == [] and set(TaskRun.objects.values_list("status", flat=True)) == {Status.QUEUED}


def test_a_confirmed_bulk_cancel_without_a_reason_is_refused(operator_client, make_run):
    run = make_run(Status.QUEUED)
    with recorded() as events:
        response = post(operator_client, "/dashboard/runs/bulk/", {"action": "cancel", "ids": [str(run.pk)],
                                                                   "confirmed": "1", "reason": "  "})
    assert response.status_code == 400 and "Give a reason" in response.content.decode()
    assert events == [] and TaskRun.objects.get(pk=run.pk).status == Status.QUEUED


def test_bulk_cancel_is_one_event_with_the_reason(operator_client, make_run):
    runs = [make_run(Status.QUEUED), make_run(Status.QUEUED), make_run(Status.SUCCEEDED)]
    with recorded() as events:
        post(operator_client, "/dashboard/runs/bulk/", {"action": "cancel", "ids": [str(r.pk) for r in runs],
                                                        "confirmed": "1", "reason": "duplicate import"})
    [event] = events
    assert summary(event) == ("run.cancel", "operator", "ui", [str(r.pk) for r in runs[:2]], 2)
    assert event.reason == "duplicate import"


def test_discarding_dead_letters_by_filter_records_the_filter(operator_client, make_failed):
    runs = [make_failed("iban rejected"), make_failed("iban rejected again"), make_failed("other")]
    with recorded() as events:
        post(operator_client, "/dashboard/dead-letters/bulk/?q=iban",
             {"action": "discard", "scope": "filter", "confirmed": "1", "reason": "test data"})
    [event] = events
    assert (event.verb, event.via, event.count, event.filter, event.reason) == (
        "dead_letter.discard", "ui", 2, {"q": "iban"}, "test data")
    assert linked_runs(event) == {str(runs[0].pk), str(runs[1].pk)}


def test_a_failure_group_replay_asks_why_and_records_it(operator_client, make_failed):
    run = make_failed()
    url = f"/dashboard/failures/{run.attempt_set.get().fingerprint}/replay/"
    assert 'name="reason"' in post(operator_client, url).content.decode()
    assert post(operator_client, url, {"confirmed": "1"}).status_code == 400
    with recorded() as events:
        post(operator_client, url, {"confirmed": "1", "reason": "fixed the parser"})
    assert [(e.verb, e.via, e.reason) for e in events] == [("dead_letter.replay", "ui", "fixed the parser")]


# --- the Audit page ---------------------------------------------------------------------------


def cancelled_by(user: User | None, via: str, n: int = 1, make_run=None) -> list[TaskRun]:
    runs = [make_run(Status.QUEUED) for _ in range(n)]
    with acting_via(via):
        for run in runs:
            operations.cancel(run.pk, user=user, reason="r-" + str(run.pk)[:8])
    return runs


def test_the_page_lists_who_did_what_through_what_and_why(viewer_client, operator, make_run):
    [run] = cancelled_by(operator, Via.API, make_run=make_run)
    html = viewer_client.get("/dashboard/audit/").content.decode()
    assert "<h1>Audit log</h1>" in html and "run.cancel" in html and ">operator</a>" in html
    assert f'href="/dashboard/runs/{run.pk}/"' in html and "r-" + str(run.pk)[:8] in html and ">API<" in html


def test_the_nav_links_the_page(viewer_client):
    html = viewer_client.get("/dashboard/").content.decode()
    assert 'href="/dashboard/audit/"' in html and 'data-shortcut="g u"' in html


def test_filters_narrow_the_list(viewer_client, operator, make_run):
    mine = cancelled_by(operator, Via.UI, make_run=make_run)[0]
    other = cancelled_by(None, Via.CLI, make_run=make_run)[0]
    for query in (f"run={mine.pk}", "actor=operator", "via=ui", "verb=run.cancel&actor=operator"):
        html = viewer_client.get(f"/dashboard/audit/?{query}").content.decode()
        assert str(mine.pk)[:8] in html and str(other.pk)[:8] not in html, query


@pytest.mark.parametrize("query", ["run=nope", "via=email"])
def test_an_invalid_filter_lists_nothing_and_is_400(viewer_client, operator, make_run, query):
    cancelled_by(operator, Via.UI, make_run=make_run)
    response = viewer_client.get(f"/dashboard/audit/?{query}")
    assert response.status_code == 400 and "run.cancel</span>" not in response.content.decode()


def test_keyset_pager(viewer_client, operator, make_run, monkeypatch):
    monkeypatch.setattr("taskboard.readmodels.paging.PAGE_SIZE", 2)
    runs = cancelled_by(operator, Via.UI, n=3, make_run=make_run)
    first = viewer_client.get("/dashboard/audit/").content.decode()
    assert str(runs[2].pk)[:8] in first and str(runs[0].pk)[:8] not in first and 'rel="next"' in first
    older = first.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = viewer_client.get(f"/dashboard/audit/{older}").content.decode()
    assert str(runs[0].pk)[:8] in second and str(runs[2].pk)[:8] not in second


def test_the_htmx_answer_is_the_results_fragment(viewer_client):
    response = viewer_client.get("/dashboard/audit/?actor=nobody", **HTMX)
    assert response.content.decode().lstrip().startswith('<section id="results"')


def test_the_page_keeps_its_query_budget(operator_client, operator, make_run, django_assert_max_num_queries):
    cancelled_by(operator, Via.UI, n=60, make_run=make_run)
    for url in ("/dashboard/audit/", f"/dashboard/audit/?actor=operator&via=ui&run={uuid.uuid4()}"):
        # session, user, two permission reads, the page, its count, and the nav's firing-alerts badge
        with django_assert_max_num_queries(7):
            assert operator_client.get(url).status_code == 200


def test_viewing_needs_the_view_permission(outsider_client):
    assert outsider_client.get("/dashboard/audit/").status_code in (302, 403)


# --- a run's timeline -------------------------------------------------------------------------


def test_a_runs_timeline_shows_the_actions_that_touched_it(operator_client, operator, make_failed):
    run = make_failed()
    with acting_via(Via.UI):
        operations.replay_many([run.pk], user=operator, reason="provider is back")
    new = TaskRun.objects.get(replay_of=run)
    for page in (run, new):
        html = operator_client.get(f"/dashboard/runs/{page.pk}/").content.decode()
        assert '<li class="tl-item is-action">' in html and "dead_letter.replay" not in html
        assert "run.replay</b> by operator" in html and "Reason: provider is back" in html
        assert "1 operator action" in html


def test_an_untouched_run_shows_no_actions(viewer_client, make_run):
    html = viewer_client.get(f"/dashboard/runs/{make_run(Status.SUCCEEDED).pk}/").content.decode()
    assert "is-action" not in html and "operator action" not in html
    assert not AuditEvent.objects.exists()

"""Cancel and replay, one run at a time and in bulk, as htmx and as plain forms."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from taskboard.models import DeadLetter, Resolution, Status, TaskRun
from tests.web.conftest import HTMX


def post(client, url, data=None, **extra):
    return client.post(url, data or {}, **HTMX, **extra)


# --- cancel -----------------------------------------------------------------------------------


def test_cancel_a_queued_run(operator_client, make_run):
    run = make_run(Status.QUEUED)
    response = post(operator_client, f"/dashboard/runs/{run.pk}/cancel/")
    run.refresh_from_db()
    assert (response.status_code, run.status, run.cancel_requested_by) == (200, Status.CANCELLED, "operator")


def test_cancel_answers_with_the_live_fragment_and_a_toast(operator_client, make_run):
    run = make_run(Status.QUEUED)
    content = post(operator_client, f"/dashboard/runs/{run.pk}/cancel/").content.decode()
    assert content.lstrip().startswith('<div id="run-live"')
    assert '<div hx-swap-oob="beforeend:#toasts">' in content
    assert "Run cancelled." in content


def test_cancel_a_running_run_asks_the_worker_to_stop(operator_client, make_run):
    run = make_run(Status.RUNNING)
    content = post(operator_client, f"/dashboard/runs/{run.pk}/cancel/").content.decode()
    run.refresh_from_db()
    assert (run.status, run.cancel_requested) == (Status.RUNNING, True)
    assert "Cancel requested" in content


def test_cancel_a_finished_run_is_a_conflict(operator_client, make_run):
    run = make_run(Status.SUCCEEDED)
    response = post(operator_client, f"/dashboard/runs/{run.pk}/cancel/")
    assert response.status_code == 409
    assert response["HX-Retarget"] == "#toasts"
    assert "already succeeded" in response.content.decode()


def test_cancel_without_permission_is_forbidden(viewer_client, make_run):
    run = make_run(Status.QUEUED)
    response = post(viewer_client, f"/dashboard/runs/{run.pk}/cancel/")
    run.refresh_from_db()
    assert (response.status_code, run.status) == (403, Status.QUEUED)


def test_cancel_of_an_unknown_run_is_404(operator_client, db):
    assert post(operator_client, "/dashboard/runs/00000000-0000-4000-8000-000000000000/cancel/").status_code == 404


def test_cancel_is_post_only(operator_client, make_run):
    run = make_run(Status.QUEUED)
    assert operator_client.get(f"/dashboard/runs/{run.pk}/cancel/").status_code == 405


def test_cancel_without_csrf_token_is_rejected(operator, make_run):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    run = make_run(Status.QUEUED)
    response = client.post(f"/dashboard/runs/{run.pk}/cancel/", **HTMX)
    run.refresh_from_db()
    assert (response.status_code, run.status) == (403, Status.QUEUED)


def test_cancel_with_the_csrf_header_htmx_sends(operator, make_run):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    token = client.get("/dashboard/").cookies["csrftoken"].value
    run = make_run(Status.QUEUED)
    response = client.post(f"/dashboard/runs/{run.pk}/cancel/", HTTP_X_CSRFTOKEN=token, **HTMX)
    assert response.status_code == 200


def test_plain_form_cancel_redirects_back_with_a_message(operator_client, make_run):
    run = make_run(Status.QUEUED)
    response = operator_client.post(f"/dashboard/runs/{run.pk}/cancel/", follow=True)
    assert response.redirect_chain == [(f"/dashboard/runs/{run.pk}/", 302)]
    assert "Run cancelled." in response.content.decode()


def test_plain_form_error_keeps_its_status(viewer_client, make_run):
    run = make_run(Status.QUEUED)
    response = viewer_client.post(f"/dashboard/runs/{run.pk}/cancel/")
    assert response.status_code == 403
    assert "lacks the permission taskboard.cancel_taskrun" in response.content.decode()


# --- replay -----------------------------------------------------------------------------------


def test_replay_a_failed_run_creates_a_linked_run(operator_client, make_failed):
    run = make_failed()
    response = post(operator_client, f"/dashboard/runs/{run.pk}/replay/")
    new = TaskRun.objects.get(replay_of=run)
    assert response.status_code == 200
    assert (new.status, new.kwargs) == (Status.QUEUED, run.kwargs)
    assert f'href="/dashboard/runs/{new.pk}/"' in response.content.decode()


def test_replay_resolves_the_dead_letter(operator_client, make_failed):
    run = make_failed()
    post(operator_client, f"/dashboard/runs/{run.pk}/replay/")
    letter = DeadLetter.objects.get(run=run)
    assert (letter.resolution, letter.resolved_by_name) == (Resolution.REPLAYED, "operator")


def test_replay_of_a_succeeded_run_is_a_conflict(operator_client, make_run):
    run = make_run(Status.SUCCEEDED)
    assert post(operator_client, f"/dashboard/runs/{run.pk}/replay/").status_code == 409
    assert not TaskRun.objects.filter(replay_of=run).exists()


def test_replay_without_permission_is_forbidden(viewer_client, make_failed):
    run = make_failed()
    assert post(viewer_client, f"/dashboard/runs/{run.pk}/replay/").status_code == 403
    assert not TaskRun.objects.filter(replay_of=run).exists()


# --- replay with edited arguments -------------------------------------------------------------


def replay_edited(client, run, kwargs_text):
    return post(client, f"/dashboard/runs/{run.pk}/replay-edited/", {"kwargs": kwargs_text})


def test_replay_with_edited_arguments(operator_client, make_failed):
    run = make_failed("wrong")
    response = replay_edited(operator_client, run, json.dumps({"message": "right"}))
    new = TaskRun.objects.get(replay_of=run)
    assert (response.status_code, new.kwargs) == (200, {"message": "right"})
    assert "Replayed with edited arguments" in response.content.decode()


def test_edited_argument_of_the_wrong_type_is_shown_inline_and_writes_nothing(operator_client, make_failed):
    run = make_failed("wrong")
    before = TaskRun.objects.count()
    response = replay_edited(operator_client, run, '{"message": 5}')
    content = response.content.decode()
    assert response.status_code == 400
    assert 'role="alert"' in content and "argument &#x27;message&#x27; must be str" in content
    assert 'aria-invalid="true"' in content
    assert TaskRun.objects.count() == before
    assert DeadLetter.objects.get(run=run).resolved_at is None


def test_edited_arguments_that_do_not_bind_are_rejected(operator_client, make_failed):
    run = make_failed()
    response = replay_edited(operator_client, run, '{"nope": 1}')
    assert response.status_code == 400
    assert not TaskRun.objects.filter(replay_of=run).exists()


@pytest.mark.parametrize(("text", "error"), [
    ("{not json", "Not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
])
def test_malformed_edited_arguments_are_rejected(operator_client, make_failed, text, error):
    run = make_failed()
    response = replay_edited(operator_client, run, text)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not TaskRun.objects.filter(replay_of=run).exists()


def test_rejected_arguments_keep_what_the_operator_typed(operator_client, make_failed):
    run = make_failed()
    content = replay_edited(operator_client, run, '{"message": 5}').content.decode()
    assert "<details class=\"panel disclosure\" open>" in content
    assert "{&quot;message&quot;: 5}</textarea>" in content


def test_edited_replay_without_permission_is_forbidden(viewer_client, make_failed):
    run = make_failed()
    assert replay_edited(viewer_client, run, '{"message": "x"}').status_code == 403


def test_hostile_edited_arguments_are_escaped_in_the_error(operator_client, make_failed):
    run = make_failed()
    content = replay_edited(operator_client, run, '{"message": "<script>x</script>", "extra": 1}').content.decode()
    assert "<script>x</script>" not in content


# --- bulk -------------------------------------------------------------------------------------


def bulk(client, action, runs, query=""):
    """A bulk action, confirmed with a reason (cancel and replay ask for both first)."""
    return post(client, f"/dashboard/runs/bulk/{query}", {"action": action, "ids": [str(r.pk) for r in runs],
                                                          "confirmed": "1", "reason": "cleanup"})


def test_bulk_cancel(operator_client, make_run):
    runs = [make_run(Status.QUEUED), make_run(Status.SCHEDULED)]
    response = bulk(operator_client, "cancel", runs)
    assert response.status_code == 200
    assert set(TaskRun.objects.values_list("status", flat=True)) == {Status.CANCELLED}
    assert "Cancelled 2 runs." in response.content.decode()


def test_bulk_cancel_reports_skipped_runs(operator_client, make_run):
    response = bulk(operator_client, "cancel", [make_run(Status.QUEUED), make_run(Status.SUCCEEDED)])
    assert "Cancelled 1 run. Skipped 1: run" in response.content.decode()


def test_bulk_replay(operator_client, make_failed, make_run):
    failed = [make_failed(), make_failed()]
    bulk(operator_client, "replay", [*failed, make_run(Status.RUNNING)])
    assert TaskRun.objects.filter(replay_of__in=failed).count() == 2


def test_bulk_answer_is_the_list_fragment_with_the_same_filters(operator_client, make_run):
    queued, done = make_run(Status.QUEUED), make_run(Status.SUCCEEDED)
    content = bulk(operator_client, "cancel", [queued], query="?status=cancelled").content.decode()
    assert content.lstrip().startswith('<section id="results"')
    assert f'id="run-{queued.pk}"' in content and f'id="run-{done.pk}"' not in content


def test_bulk_without_permission_is_forbidden(viewer_client, make_run):
    run = make_run(Status.QUEUED)
    assert bulk(viewer_client, "cancel", [run]).status_code == 403
    run.refresh_from_db()
    assert run.status == Status.QUEUED


def test_bulk_needs_a_selection(operator_client, db):
    response = bulk(operator_client, "cancel", [])
    assert (response.status_code, "Select at least one run" in response.content.decode()) == (400, True)


def test_bulk_rejects_malformed_ids(operator_client, db):
    response = post(operator_client, "/dashboard/runs/bulk/", {"action": "cancel", "ids": ["nope"]})
    assert response.status_code == 400


def test_bulk_rejects_an_unknown_action(operator_client, make_run):
    assert bulk(operator_client, "explode", [make_run()]).status_code == 400


# --- a second replay asks first (issue 12, defect 6) -------------------------------------------


def test_replaying_an_already_replayed_run_asks_first_and_writes_nothing(operator_client, make_failed):
    run = make_failed()
    post(operator_client, f"/dashboard/runs/{run.pk}/replay/")
    first = TaskRun.objects.get(replay_of=run)
    response = post(operator_client, f"/dashboard/runs/{run.pk}/replay/")
    content = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#modal"
    assert 'role="dialog"' in content and "Replay this run again?" in content
    assert f'href="/dashboard/runs/{first.pk}/"' in content and "replayed by operator" in content
    assert list(TaskRun.objects.filter(replay_of=run)) == [first]


def test_a_confirmed_second_replay_makes_another_run(operator_client, make_failed):
    run = make_failed()
    post(operator_client, f"/dashboard/runs/{run.pk}/replay/")
    response = post(operator_client, f"/dashboard/runs/{run.pk}/replay/", {"confirmed": "1"})
    assert response.status_code == 200
    assert TaskRun.objects.filter(replay_of=run).count() == 2
    assert '<div hx-swap-oob="innerHTML:#modal"></div>' in response.content.decode()  # the dialog closes


def test_without_javascript_the_second_replay_asks_on_a_page(operator_client, make_failed):
    run = make_failed()
    operator_client.post(f"/dashboard/runs/{run.pk}/replay/")
    response = operator_client.post(f"/dashboard/runs/{run.pk}/replay/")
    assert response.status_code == 200
    assert "Replay this run again?" in response.content.decode()
    assert TaskRun.objects.filter(replay_of=run).count() == 1


def test_bulk_replay_skips_runs_replayed_before(operator_client, make_failed):
    done, fresh = make_failed(), make_failed()
    post(operator_client, f"/dashboard/runs/{done.pk}/replay/")
    content = bulk(operator_client, "replay", [done, fresh]).content.decode()
    assert TaskRun.objects.filter(replay_of=done).count() == 1
    assert TaskRun.objects.filter(replay_of=fresh).count() == 1
    assert "Replayed 1 run as new runs. Skipped 1: run" in content and "was already replayed" in content


# --- deeply nested edited arguments (defect 9) ------------------------------------------------


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_edited_arguments_are_a_form_error_not_a_500(operator_client, make_failed, depth):
    run = make_failed()
    text = '{"message": ' + "[" * depth + "]" * depth + "}"
    response = replay_edited(operator_client, run, text)
    assert response.status_code == 400
    assert "nested more than 64 levels" in response.content.decode()
    assert not TaskRun.objects.filter(replay_of=run).exists()

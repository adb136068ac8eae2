"""One run's page: what it shows, its live fragment, and which actions it offers."""

from __future__ import annotations

from datetime import timedelta

from taskboard.models import DeadLetter, Outcome, Resolution, Status
from tests.web.conftest import HTMX


def page(client, run):
    return client.get(f"/dashboard/runs/{run.pk}/").content.decode()


def test_shows_arguments_and_result_as_formatted_json(viewer_client, make_run):
    run = make_run(Status.SUCCEEDED, args=[1], kwargs={"account": 7}, result={"synced": 400})
    content = page(viewer_client, run)
    assert "{\n  &quot;account&quot;: 7\n}" in content
    assert "{\n  &quot;synced&quot;: 400\n}" in content


def test_shows_the_checkpoint(viewer_client, make_run):
    content = page(viewer_client, make_run(Status.RUNNING, checkpoint={"done": 12}))
    assert "&quot;done&quot;: 12" in content


def test_shows_queue_wait_and_run_time(viewer_client, make_run):
    run = make_run(Status.SUCCEEDED)
    run.started_at = run.enqueued_at + timedelta(seconds=4)
    run.finished_at = run.started_at + timedelta(seconds=90)
    run.save()
    content = page(viewer_client, run)
    assert "<dt>Queue wait</dt><dd>4.0 s</dd>" in content
    assert "<dt>Run time</dt><dd>1 m 30 s</dd>" in content


def test_progress_is_an_accessible_progressbar(viewer_client, make_run):
    content = page(viewer_client, make_run(Status.RUNNING, progress=64, progress_message="64 pages"))
    assert 'role="progressbar" aria-valuenow="64" aria-valuemin="0" aria-valuemax="100"' in content
    assert "64 pages" in content


def test_attempt_timeline_lists_each_attempt_with_its_error(viewer_client, make_run, make_attempt):
    run = make_run(Status.SUCCEEDED, attempts=2)
    make_attempt(run, number=1, outcome=Outcome.RETRYABLE, exception="builtins.ConnectionError",
                 message="reset by peer", traceback="Traceback: line 3", worker="host-b:7")
    make_attempt(run, number=2, outcome=Outcome.SUCCEEDED)
    content = page(viewer_client, run)
    assert "Attempt 1" in content and "Attempt 2" in content
    assert "builtins.ConnectionError</span>: reset by peer" in content
    assert "on host-b:7" in content
    assert '<details class="traceback">\n            <summary>Traceback</summary>' in content


def test_running_attempt_appears_in_the_timeline(viewer_client, make_run):
    content = page(viewer_client, make_run(Status.RUNNING, worker="host-c:9"))
    assert '<li class="tl-item is-running">' in content


def test_replay_chain_links_both_ways(viewer_client, make_failed, make_run):
    original = make_failed()
    replay = make_run(Status.QUEUED, replay_of=original)
    assert f'href="/dashboard/runs/{replay.pk}/"' in page(viewer_client, original)
    assert f'href="/dashboard/runs/{original.pk}/"' in page(viewer_client, replay)


def test_open_dead_letter_is_shown_with_its_reason(viewer_client, make_failed):
    content = page(viewer_client, make_failed("card declined for order 5"))
    assert "In the dead-letter queue" in content
    assert "permanent error: PermanentError: card declined for order 5" in content


def test_resolved_dead_letter_names_who_and_links_the_new_run(viewer_client, make_failed, make_run, operator):
    run = make_failed()
    new = make_run(replay_of=run)
    DeadLetter.objects.get(run=run).resolve(Resolution.REPLAYED, "alice", operator, new)
    content = page(viewer_client, run)
    assert "replayed by alice" in content
    assert f'<a href="/dashboard/runs/{new.pk}/" class="mono">run {str(new.pk)[:8]}</a>' in content


def test_retrying_run_says_when_it_tries_again(viewer_client, make_run):
    content = page(viewer_client, make_run(Status.RETRYING, run_after=make_run().enqueued_at + timedelta(minutes=5)))
    assert "Waiting to retry: next attempt" in content


def test_operator_may_cancel_an_open_run(operator_client, make_run):
    content = page(operator_client, make_run(Status.QUEUED))
    assert '<button type="submit" class="btn btn-danger">Cancel</button>' in content
    assert ">Replay</button>" not in content


def test_operator_may_replay_a_failed_run(operator_client, make_failed):
    content = page(operator_client, make_failed())
    assert '<button type="submit" class="btn btn-primary">Replay</button>' in content
    assert ">Cancel</button>" not in content
    assert "<summary>Replay with edited arguments</summary>" in content


def test_viewer_sees_no_actions(viewer_client, make_failed):
    content = page(viewer_client, make_failed())
    assert "</button>" not in content.split('id="run-live"')[1].split("Log out")[0]
    assert "Read-only" in content


def test_cancel_requested_replaces_the_cancel_button(operator_client, make_run):
    content = page(operator_client, make_run(Status.RUNNING, cancel_requested=True, cancel_requested_by="bob"))
    assert "cancel requested by bob" in content
    assert ">Cancel</button>" not in content


def test_live_fragment_polls_while_the_run_is_open(viewer_client, make_run):
    run = make_run(Status.RUNNING)
    response = viewer_client.get(f"/dashboard/runs/{run.pk}/progress/")
    assert response.status_code == 200
    assert 'hx-trigger="every 2s"' in response.content.decode()


def test_live_fragment_answers_286_once_finished(viewer_client, make_run):
    run = make_run(Status.SUCCEEDED, progress=100)
    response = viewer_client.get(f"/dashboard/runs/{run.pk}/progress/")
    assert response.status_code == 286
    assert 'aria-valuenow="100"' in response.content.decode()


def test_live_fragment_of_a_finished_run_has_no_trigger(viewer_client, make_run):
    run = make_run(Status.CANCELLED)
    assert "hx-trigger" not in viewer_client.get(f"/dashboard/runs/{run.pk}/progress/").content.decode()


def test_htmx_request_of_the_page_gets_the_live_fragment(viewer_client, make_run):
    run = make_run(Status.RUNNING)
    content = viewer_client.get(f"/dashboard/runs/{run.pk}/", **HTMX).content.decode()
    assert content.lstrip().startswith('<div id="run-live"')


def test_hostile_arguments_and_errors_are_escaped(viewer_client, make_run, make_attempt):
    hostile = "<script>alert('x')</script>"
    run = make_run(Status.FAILED, kwargs={"name": hostile}, last_error=hostile, progress_message=hostile)
    make_attempt(run, message=hostile, traceback=hostile)
    content = page(viewer_client, run)
    assert "<script>alert" not in content
    assert "&lt;script&gt;alert(" in content


# --- an operator's cancel is not a failure (issue 12, defect 4) ---------------------------------


def cancelled_run(make_run, make_attempt):
    run = make_run(Status.CANCELLED, cancel_requested=True, cancel_requested_by="bob",
                   last_error="TaskCancelled: cancelled by bob")
    make_attempt(run, outcome=Outcome.CANCELLED, exception="taskboard.exceptions.TaskCancelled",
                 message="cancelled by bob")
    return run


def test_a_cancelled_attempt_is_not_styled_as_an_error(viewer_client, make_run, make_attempt):
    content = page(viewer_client, cancelled_run(make_run, make_attempt))
    assert '<li class="tl-item is-cancelled">' in content
    assert "is-error" not in content and 'class="tl-error"' not in content


def test_a_cancelled_attempt_offers_no_similar_failures(viewer_client, make_run, make_attempt):
    content = page(viewer_client, cancelled_run(make_run, make_attempt))
    assert "Similar failures" not in content
    assert "Stopped by bob’s cancel" in content


# --- finished runs show no live state (defect 7) -------------------------------------------------


def test_a_failed_run_shows_no_empty_progress_bar(viewer_client, make_failed):
    content = page(viewer_client, make_failed())
    assert 'role="progressbar"' not in content


def test_a_failed_run_keeps_the_progress_it_reached(viewer_client, make_failed):
    content = page(viewer_client, make_failed(progress=40, progress_message="40 of 100"))
    assert 'aria-valuenow="40"' in content


def test_a_finished_run_shows_no_stale_heartbeat(viewer_client, make_failed):
    run = make_failed()
    run.heartbeat_at = run.finished_at
    run.save()
    assert "<dt>Heartbeat</dt>" not in page(viewer_client, run)


def test_a_running_run_shows_its_heartbeat(viewer_client, make_run):
    assert "<dt>Heartbeat</dt>" in page(viewer_client, make_run(Status.RUNNING))


# --- a replayed run says so (defect 6) --------------------------------------------------------


def test_an_already_replayed_run_names_its_replay_next_to_the_button(operator_client, make_failed, make_run):
    run = make_failed()
    replay = make_run(Status.QUEUED, replay_of=run)
    content = page(operator_client, run)
    assert '<button type="submit" class="btn">Replay again…</button>' in content
    link = f'<a href="/dashboard/runs/{replay.pk}/" class="mono">{str(replay.pk)[:8]}</a>'
    assert f"Already replayed as {link}" in content


# --- bidi controls in user content show as their escape ------------------------------------------


def test_a_right_to_left_override_shows_escaped_on_the_run_pages(operator_client, make_failed):
    run = make_failed("refund \u202eexe.pdf", kwargs={"file": "invoice\u202efdp.exe"}, worker="host\u202e:1",
                      cancel_requested_by="ev\u202eil")
    run.attempt_set.update(traceback="Traceback: refund \u202eexe.pdf", worker="host\u202e:1")
    for url in (f"/dashboard/runs/{run.pk}/", "/dashboard/runs/", f"/dashboard/runs/{run.pk}/row/"):
        content = operator_client.get(url).content.decode()
        assert "\u202e" not in content, url
        assert "refund \\u202eexe.pdf" in content and "invoice\\u202efdp.exe" in content, url


def test_a_progress_message_with_a_bidi_control_shows_escaped(viewer_client, make_run):
    run = make_run(Status.RUNNING, progress=5, progress_message="page \u202e7")
    for url in (f"/dashboard/runs/{run.pk}/", "/dashboard/runs/", "/dashboard/workers/"):
        content = viewer_client.get(url).content.decode()
        assert "\u202e" not in content and "page \\u202e7" in content, url


def test_the_progress_width_is_a_data_attribute_not_a_style(viewer_client, make_run):
    content = page(viewer_client, make_run(Status.RUNNING, progress=64))
    assert '<span class="progress-fill" data-width="64"></span>' in content
    assert "style=" not in content

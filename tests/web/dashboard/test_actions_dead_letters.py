"""Bulk replay and discard of dead letters (selected or the whole filter), and group replay."""

from __future__ import annotations

from taskboard.models import DeadLetter, Resolution, TaskRun
from tests.conftest import VIEWER_PERMS, make_user
from tests.web.conftest import HTMX

BULK = "/dashboard/dead-letters/bulk/"
# The second step of a bulk action: confirmed, with the reason the dialog asks for.
CONFIRMED = {"confirmed": "1", "reason": "provider fixed"}


def post(client, url, data, **extra):
    return client.post(url, data, **HTMX, **extra)


def ids(*runs):
    return [str(run.dead_letter.pk) for run in runs]


def test_first_step_asks_for_confirmation_with_the_count(operator_client, make_failed):
    runs = [make_failed(), make_failed()]
    response = post(operator_client, BULK, {"action": "replay", "ids": ids(*runs)})
    content = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#modal"
    assert "Replay 2 dead letters?" in content and ">Replay 2</button>" in content
    assert not TaskRun.objects.filter(replay_of__isnull=False).exists()


def test_confirmation_carries_the_selection(operator_client, make_failed):
    run = make_failed()
    content = post(operator_client, BULK, {"action": "replay", "ids": ids(run)}).content.decode()
    assert f'<input type="hidden" name="ids" value="{run.dead_letter.pk}">' in content
    assert '<input type="hidden" name="confirmed" value="1">' in content


def test_confirmed_replay_replays_the_selection(operator_client, make_failed):
    picked, other = make_failed(), make_failed()
    response = post(operator_client, BULK, {"action": "replay", "ids": ids(picked), **CONFIRMED})
    assert response.status_code == 200
    assert TaskRun.objects.filter(replay_of=picked).count() == 1
    assert not TaskRun.objects.filter(replay_of=other).exists()
    assert "Replayed 1 dead letter as new runs." in response.content.decode()


def test_confirmed_answer_updates_the_list_and_closes_the_dialog(operator_client, make_failed):
    picked, other = make_failed(), make_failed()
    content = post(operator_client, BULK, {"action": "replay", "ids": ids(picked), **CONFIRMED}).content.decode()
    assert content.lstrip().startswith('<section id="results"')
    assert f'value="{other.dead_letter.pk}"' in content and f'value="{picked.dead_letter.pk}"' not in content
    assert '<div hx-swap-oob="innerHTML:#modal"></div>' in content


def test_whole_filter_scope_reaches_beyond_the_page(operator_client, make_failed, monkeypatch):
    monkeypatch.setattr("taskboard.readmodels.paging.PAGE_SIZE", 1)
    wanted = [make_failed(task="taskboard.demo.flaky", kwargs={"fail_times": 0}) for _ in range(3)]
    other = make_failed(task="taskboard.demo.fail")
    url = f"{BULK}?task=taskboard.demo.flaky"
    confirm = post(operator_client, url, {"action": "replay", "scope": "filter"}).content.decode()
    assert "Replay 3 dead letters?" in confirm and "task = “taskboard.demo.flaky”" in confirm
    post(operator_client, url, {"action": "replay", "scope": "filter", **CONFIRMED})
    assert TaskRun.objects.filter(replay_of__in=wanted).count() == 3
    assert not TaskRun.objects.filter(replay_of=other).exists()


def test_whole_filter_scope_applies_the_text_filter(operator_client, make_failed):
    wanted, other = make_failed("iban rejected"), make_failed("other")
    post(operator_client, f"{BULK}?q=iban", {"action": "discard", "scope": "filter", **CONFIRMED})
    assert DeadLetter.objects.get(run=wanted).resolution == Resolution.DISCARDED
    assert DeadLetter.objects.get(run=other).resolved_at is None


def test_discard_closes_without_replaying(operator_client, make_failed):
    run = make_failed()
    response = post(operator_client, BULK, {"action": "discard", "ids": ids(run), **CONFIRMED})
    letter = DeadLetter.objects.get(run=run)
    assert (letter.resolution, letter.resolved_by_name) == (Resolution.DISCARDED, "operator")
    assert not TaskRun.objects.filter(replay_of=run).exists()
    assert "Discarded 1 dead letter" in response.content.decode()


def test_viewer_may_not_replay(viewer_client, make_failed):
    run = make_failed()
    assert post(viewer_client, BULK, {"action": "replay", "ids": ids(run)}).status_code == 403
    assert post(viewer_client, BULK, {"action": "replay", "ids": ids(run), **CONFIRMED}).status_code == 403
    assert not TaskRun.objects.filter(replay_of=run).exists()


def test_discard_needs_the_discard_permission(client, make_failed):
    client.force_login(make_user("replayer", perms=(*VIEWER_PERMS, "taskboard.replay_taskrun")))
    run = make_failed()
    response = post(client, BULK, {"action": "discard", "ids": ids(run), **CONFIRMED})
    assert response.status_code == 403
    assert DeadLetter.objects.get(run=run).resolved_at is None


def test_already_resolved_selection_is_a_conflict(operator_client, make_failed, operator):
    run = make_failed()
    DeadLetter.objects.get(run=run).resolve(Resolution.DISCARDED, "alice", operator)
    response = post(operator_client, BULK, {"action": "replay", "ids": ids(run)})
    assert response.status_code == 409


def test_empty_selection_is_bad_input(operator_client, db):
    assert post(operator_client, BULK, {"action": "replay"}).status_code == 400


def test_unknown_action_is_bad_input(operator_client, make_failed):
    assert post(operator_client, BULK, {"action": "burn", "ids": ids(make_failed())}).status_code == 400


def test_plain_form_confirmation_is_a_page(operator_client, make_failed):
    run = make_failed()
    response = operator_client.post(BULK, {"action": "replay", "ids": ids(run)})
    assert response.status_code == 200
    assert "<html" in response.content.decode() and "Replay 1 dead letter?" in response.content.decode()


# --- a failure group's dead letters ---------------------------------------------------------


def group_url(run):
    return f"/dashboard/failures/{run.attempt_set.get().fingerprint}/replay/"


def test_group_replay_confirms_with_the_count(operator_client, make_failed):
    first = make_failed("declined 1")
    make_failed("declined 2")
    make_failed("unrelated")
    content = post(operator_client, group_url(first), {}).content.decode()
    assert "Replay 2 dead letters?" in content
    assert not TaskRun.objects.filter(replay_of__isnull=False).exists()


def test_group_replay_replays_only_the_group(operator_client, make_failed):
    group = [make_failed("declined 1"), make_failed("declined 2")]
    other = make_failed("unrelated")
    response = post(operator_client, group_url(group[0]), {**CONFIRMED})
    assert response["HX-Trigger"] == "taskboard:dead-letters-changed"
    assert TaskRun.objects.filter(replay_of__in=group).count() == 2
    assert not TaskRun.objects.filter(replay_of=other).exists()


def test_group_replay_counts_only_runs_whose_last_attempt_is_in_the_group(operator_client, make_failed,
                                                                          make_attempt):
    run = make_failed("declined 1")
    moved_on = make_failed("declined 2")
    make_attempt(moved_on, number=2, message="another error entirely")
    TaskRun.objects.filter(pk=moved_on.pk).update(attempts=2)
    assert "Replay 1 dead letter?" in post(operator_client, group_url(run), {}).content.decode()


def test_group_without_open_dead_letters_is_a_conflict(operator_client, make_failed, operator):
    run = make_failed()
    DeadLetter.objects.get(run=run).resolve(Resolution.DISCARDED, "alice", operator)
    assert post(operator_client, group_url(run), {}).status_code == 409


def test_group_replay_without_permission_is_forbidden(viewer_client, make_failed):
    run = make_failed()
    assert post(viewer_client, group_url(run), {**CONFIRMED}).status_code == 403
    assert not TaskRun.objects.filter(replay_of=run).exists()

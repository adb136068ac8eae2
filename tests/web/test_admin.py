"""The Django admin: read-only history, cheap changelists, and actions through operations."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from taskboard.models import ApiToken, DeadLetter, Resolution, Status, TaskRun

CHANGELISTS = ["taskrun", "taskattempt", "deadletter", "workernode", "apitoken"]


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def action(client, model, name, objects):
    return client.post(f"/admin/taskboard/{model}/", {"action": name, "_selected_action": [o.pk for o in objects]},
                       follow=True)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize("model", CHANGELISTS)
def test_changelist_loads_within_a_fixed_budget(admin_client, make_failed, django_assert_max_num_queries, model):
    for _ in range(20):
        make_failed()
    with django_assert_max_num_queries(12):
        assert admin_client.get(f"/admin/taskboard/{model}/").status_code == 200


def test_task_filter_lists_known_tasks_without_scanning_the_table(admin_client, make_run):
    make_run()
    content = admin_client.get("/admin/taskboard/taskrun/").content.decode()
    assert "?task=taskboard.demo.fail" in content


def test_changelist_filters_by_status(admin_client, make_run):
    failed, queued = make_run(Status.FAILED), make_run(Status.QUEUED)
    content = admin_client.get("/admin/taskboard/taskrun/?status__exact=failed").content.decode()
    assert str(failed.pk)[:8] in content and str(queued.pk)[:8] not in content


def test_search_by_run_id(admin_client, make_run):
    wanted, other = make_run(), make_run()
    content = admin_client.get(f"/admin/taskboard/taskrun/?q={wanted.pk}").content.decode()
    assert str(wanted.pk)[:8] in content and str(other.pk)[:8] not in content


def test_search_by_last_error(admin_client, make_run):
    wanted, other = make_run(Status.FAILED, last_error="iban rejected"), make_run(Status.FAILED, last_error="x")
    content = admin_client.get("/admin/taskboard/taskrun/?q=iban").content.decode()
    assert str(wanted.pk)[:8] in content and str(other.pk)[:8] not in content


def test_runs_cannot_be_added(admin_client, db):
    assert admin_client.get("/admin/taskboard/taskrun/add/").status_code == 403


def test_run_page_is_read_only_with_attempts_and_a_dashboard_link(admin_client, make_failed):
    run = make_failed("card declined")
    content = admin_client.get(f"/admin/taskboard/taskrun/{run.pk}/change/").content.decode()
    assert 'name="_save"' not in content
    assert "card declined" in content  # the attempt inline
    assert f'href="/dashboard/runs/{run.pk}/"' in content


def test_replay_action(admin_client, make_failed):
    run = make_failed()
    response = action(admin_client, "taskrun", "replay_runs", [run])
    assert TaskRun.objects.filter(replay_of=run).count() == 1
    assert "Replayed as new runs: 1." in messages_of(response)


def test_replay_action_skips_runs_replayed_before(admin_client, make_failed):
    # As the dashboard's bulk replay: a second replay of a run is confirmed on its own page.
    run = make_failed()
    action(admin_client, "taskrun", "replay_runs", [run])
    response = action(admin_client, "taskrun", "replay_runs", [run])
    assert TaskRun.objects.filter(replay_of=run).count() == 1
    assert any(message.startswith(f"Skipped {run.pk}: run {str(run.pk)[:8]} was already replayed")
               for message in messages_of(response))


def test_replay_action_reports_skipped_runs(admin_client, make_run):
    run = make_run(Status.SUCCEEDED)
    response = action(admin_client, "taskrun", "replay_runs", [run])
    assert any(message.startswith(f"Skipped {run.pk}: only failed or cancelled") for message in messages_of(response))


def test_cancel_action(admin_client, make_run):
    run = make_run(Status.QUEUED)
    action(admin_client, "taskrun", "cancel_runs", [run])
    run.refresh_from_db()
    assert (run.status, run.cancel_requested_by) == (Status.CANCELLED, "root")


def test_actions_are_hidden_without_their_permission(viewer_client, make_run):
    make_run()
    content = viewer_client.get("/admin/taskboard/taskrun/").content.decode()
    assert "replay_runs" not in content and "cancel_runs" not in content


def test_operator_sees_the_actions_they_may_run(operator_client, make_run):
    make_run()
    content = operator_client.get("/admin/taskboard/taskrun/").content.decode()
    assert 'value="replay_runs"' in content and 'value="cancel_runs"' in content


def test_operator_action_runs_as_that_user(operator_client, make_run):
    run = make_run(Status.QUEUED)
    action(operator_client, "taskrun", "cancel_runs", [run])
    run.refresh_from_db()
    assert run.cancel_requested_by == "operator"


def test_dead_letter_replay_action(admin_client, make_failed):
    run = make_failed()
    action(admin_client, "deadletter", "replay_letters", [run.dead_letter])
    letter = DeadLetter.objects.get(run=run)
    assert (letter.resolution, letter.replay_run.replay_of_id) == (Resolution.REPLAYED, run.pk)


def test_dead_letter_discard_action(admin_client, make_failed):
    run = make_failed()
    response = action(admin_client, "deadletter", "discard_letters", [run.dead_letter])
    assert DeadLetter.objects.get(run=run).resolution == Resolution.DISCARDED
    assert "Discarded 1 dead letter(s); their runs stay failed." in messages_of(response)


def test_dead_letters_filter_open(admin_client, make_failed, operator):
    open_run, closed = make_failed(), make_failed()
    DeadLetter.objects.get(run=closed).resolve(Resolution.DISCARDED, "x", operator)
    content = admin_client.get("/admin/taskboard/deadletter/?state=open").content.decode()
    assert str(open_run.pk)[:8] in content and str(closed.pk)[:8] not in content


def test_token_revoke_action(admin_client, operator):
    token = ApiToken.objects.create(user=operator, name="ci", prefix="tb_abc", key_hash="0" * 64)
    action(admin_client, "apitoken", "revoke", [token])
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_at <= timezone.now()


def test_tokens_cannot_be_added_in_the_admin(admin_client, db):
    assert admin_client.get("/admin/taskboard/apitoken/add/").status_code == 403


def test_token_hash_is_not_shown(admin_client, operator):
    token = ApiToken.objects.create(user=operator, name="ci", prefix="tb_abc", key_hash="f" * 64)
    assert "f" * 64 not in admin_client.get(f"/admin/taskboard/apitoken/{token.pk}/change/").content.decode()


def test_retry_now_and_run_now_actions(admin_client, make_run):
    from datetime import timedelta

    later = timezone.now() + timedelta(hours=1)
    retrying, scheduled = make_run(Status.RETRYING, run_after=later), make_run(Status.SCHEDULED, run_after=later)
    response = action(admin_client, "taskrun", "retry_runs_now", [retrying, scheduled])
    assert TaskRun.objects.get(pk=retrying.pk).status == Status.QUEUED
    assert TaskRun.objects.get(pk=scheduled.pk).status == Status.SCHEDULED  # not retrying: skipped
    assert any(message.startswith(f"Skipped {scheduled.pk}") for message in messages_of(response))
    action(admin_client, "taskrun", "run_runs_now", [scheduled])
    assert TaskRun.objects.get(pk=scheduled.pk).status == Status.QUEUED


def test_viewers_do_not_see_retry_now_or_run_now(viewer_client, operator_client, make_run):
    make_run()
    assert "retry_runs_now" not in viewer_client.get("/admin/taskboard/taskrun/").content.decode()
    content = operator_client.get("/admin/taskboard/taskrun/").content.decode()
    assert 'value="retry_runs_now"' in content and 'value="run_runs_now"' in content


def test_token_expiry_is_shown_and_editable(admin_client, operator):
    from datetime import timedelta

    from taskboard.operations import tokens

    token, _ = tokens.create_token(operator, "ci", expires_in=timedelta(days=1))
    content = admin_client.get(f"/admin/taskboard/apitoken/{token.pk}/change/").content.decode()
    assert 'name="expires_at_0"' in content

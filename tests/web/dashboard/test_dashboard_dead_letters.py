"""The dead-letter list: open and resolved entries, filters and selection."""

from __future__ import annotations

import re

from taskboard.models import DeadLetter, Resolution
from taskboard.readmodels import paging


def letters(response):
    return [int(pk) for pk in re.findall(r'name="ids" value="(\d+)"', response.content.decode())]


def test_lists_open_entries_newest_first(operator_client, make_failed):
    old, new = make_failed(ago=60), make_failed(ago=1)
    response = operator_client.get("/dashboard/dead-letters/")
    assert letters(response) == [new.dead_letter.pk, old.dead_letter.pk]


def test_shows_reason_and_last_error(viewer_client, make_failed):
    make_failed("card declined for order 9")
    content = viewer_client.get("/dashboard/dead-letters/").content.decode()
    assert "permanent error: PermanentError: card declined for order 9" in content


def test_resolved_entries_are_not_open(operator_client, make_failed, operator):
    run = make_failed()
    DeadLetter.objects.get(run=run).resolve(Resolution.DISCARDED, "alice", operator)
    assert letters(operator_client.get("/dashboard/dead-letters/")) == []


def test_task_filter(operator_client, make_failed):
    wanted = make_failed(task="taskboard.demo.flaky")
    make_failed(task="taskboard.demo.fail")
    assert letters(operator_client.get("/dashboard/dead-letters/?task=taskboard.demo.flaky")) == [
        wanted.dead_letter.pk]


def test_text_filter_searches_reason_and_last_error(operator_client, make_failed):
    wanted = make_failed("iban rejected")
    make_failed("other")
    assert letters(operator_client.get("/dashboard/dead-letters/?q=IBAN")) == [wanted.dead_letter.pk]


def test_text_filter_accepts_a_run_id(operator_client, make_failed):
    wanted = make_failed()
    make_failed()
    assert letters(operator_client.get(f"/dashboard/dead-letters/?q={wanted.pk}")) == [wanted.dead_letter.pk]


def test_resolved_tab_shows_who_what_and_the_new_run(viewer_client, make_failed, make_run, operator):
    run = make_failed()
    new = make_run(replay_of=run)
    DeadLetter.objects.get(run=run).resolve(Resolution.REPLAYED, "alice", operator, new)
    content = viewer_client.get("/dashboard/dead-letters/?state=resolved").content.decode()
    assert "replayed</span>" in content and "by alice" in content
    assert f'<a class="mono" href="/dashboard/runs/{new.pk}/">run {str(new.pk)[:8]}</a>' in content


def test_keyset_pages_do_not_repeat_entries(operator_client, make_failed, monkeypatch):
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    runs = [make_failed(ago=i) for i in range(5)]
    seen, url = [], "/dashboard/dead-letters/"
    while url:
        response = operator_client.get(url)
        seen += letters(response)
        match = re.search(r'href="\?after=([^"&]+)"', response.content.decode())
        url = match and f"/dashboard/dead-letters/?after={match.group(1)}"
    assert seen == [run.dead_letter.pk for run in runs]


def test_select_all_matching_is_offered_with_the_count(operator_client, make_failed):
    for _ in range(3):
        make_failed()
    content = operator_client.get("/dashboard/dead-letters/").content.decode()
    assert "Select all 3 matching this filter" in content
    assert 'name="scope" value="selected" data-scope' in content


def test_viewer_gets_no_selection_or_actions(viewer_client, make_failed):
    make_failed()
    content = viewer_client.get("/dashboard/dead-letters/").content.decode()
    assert 'name="ids"' not in content and ">Replay</button>" not in content and ">Discard</button>" not in content


def test_operator_without_discard_permission_sees_replay_only(client, make_failed, django_user_model):
    from tests.conftest import VIEWER_PERMS, make_user

    user = make_user("replayer", perms=(*VIEWER_PERMS, "taskboard.replay_taskrun"))
    client.force_login(user)
    make_failed()
    content = client.get("/dashboard/dead-letters/").content.decode()
    assert ">Replay</button>" in content and ">Discard</button>" not in content


def test_bidi_controls_in_reason_and_error_show_escaped(viewer_client, make_failed):
    make_failed("payout to \u202e\u2066txt.exe")
    content = viewer_client.get("/dashboard/dead-letters/").content.decode()
    assert "\u202e" not in content and "\u2066" not in content
    assert "payout to \\u202e\\u2066txt.exe" in content

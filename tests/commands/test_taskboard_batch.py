"""``taskboard_enqueue NAME --many FILE``, ``--correlation-id`` and ``taskboard_batch``."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError

from taskboard.bulk import enqueue_many
from taskboard.execution.runner import execute
from taskboard.models import AuditEvent, Batch, Status, TaskRun, Via
from tests import callback_tasks
from tests.commands.conftest import run

pytestmark = pytest.mark.django_db


def lines_file(tmp_path: Path, *lines: str) -> str:
    path = tmp_path / "items.jsonl"
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return str(path)


def test_many_enqueues_one_run_per_line_and_prints_the_count(tmp_path: Path) -> None:
    path = lines_file(tmp_path, '{"kwargs": {"seconds": 1}}', "", '{"args": [2]}', '{"kwargs": {"seconds": 3}}')
    assert run("taskboard_enqueue", "taskboard.demo.sleep", "--many", path).last_line == "3"
    runs = TaskRun.objects.all()
    assert sorted(json.dumps([run.args, run.kwargs]) for run in runs) == [
        '[[2], {}]', '[[], {"seconds": 1}]', '[[], {"seconds": 3}]']
    event = AuditEvent.objects.get()
    assert (event.verb, event.count, event.via) == ("run.enqueue", 3, Via.CLI)


def test_many_reads_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"kwargs": {"seconds": 1}}\n{"kwargs": {"seconds": 2}}\n'))
    assert run("taskboard_enqueue", "taskboard.demo.sleep", "--many", "-").last_line == "2"


@pytest.mark.parametrize(("lines", "message"), [
    (['{"kwargs": {"seconds": 1}}', '{"kwargs": {"seconds": "x"}}'], "line 2: argument 'seconds' must be float or int"),
    (['{"kwargs": {"seconds": 1}}', "", "{seconds: 1}"], "line 3: not valid JSON"),
    (['{"kwargs": {"seconds": 1}}', "[1]"], "line 2: must be a JSON object"),
    (['{"kwarg": {"seconds": 1}}'], "line 1: unknown field 'kwarg'"),
    (['{"kwargs": {}}'], "line 1: arguments do not match"),
])
def test_a_bad_line_is_a_one_line_error_naming_it_and_nothing_is_written(tmp_path: Path, lines: list[str],
                                                                           message: str) -> None:
    with pytest.raises(CommandError) as error:
        run("taskboard_enqueue", "taskboard.demo.sleep", "--many", lines_file(tmp_path, *lines))
    assert message in str(error.value) and "\n" not in str(error.value)
    assert not TaskRun.objects.exists() and not AuditEvent.objects.exists()


def test_many_refuses_per_run_options_and_empty_or_missing_files(tmp_path: Path) -> None:
    path = lines_file(tmp_path, '{"kwargs": {"seconds": 1}}')
    with pytest.raises(CommandError, match="drop --kwargs"):
        run("taskboard_enqueue", "taskboard.demo.sleep", "--many", path, "--kwargs", "{}")
    with pytest.raises(CommandError, match="no items"):
        run("taskboard_enqueue", "taskboard.demo.sleep", "--many", lines_file(tmp_path, ""))
    with pytest.raises(CommandError, match="cannot read"):
        run("taskboard_enqueue", "taskboard.demo.sleep", "--many", str(tmp_path / "missing.jsonl"))
    assert not TaskRun.objects.exists()


def test_correlation_id_option() -> None:
    run_id = run("taskboard_enqueue", "taskboard.demo.noop", "--correlation-id", "deploy-42").last_line
    assert TaskRun.objects.get(pk=run_id).correlation_id == "deploy-42"
    with pytest.raises(CommandError, match="correlation_id must be 1 to 100"):
        run("taskboard_enqueue", "taskboard.demo.noop", "--correlation-id", "x" * 101)


def make_batch(*fails: bool) -> Batch:
    done = enqueue_many(callback_tasks.child, [{"kwargs": {"n": i, "fail": fail}} for i, fail in enumerate(fails)],
                        batch={"name": "cli"})
    assert done.batch is not None
    return done.batch


def test_show_and_list() -> None:
    batch = make_batch(False, False)
    assert f"{batch.pk} cli: open, 0%" in run("taskboard_batch", "show", str(batch.pk)).out
    shown = json.loads(run("taskboard_batch", "show", str(batch.pk), "--json").out)
    assert (shown["total"], shown["waiting"]) == (2, 2)
    listed = json.loads(run("taskboard_batch", "list", "--json").out)
    assert [b["id"] for b in listed["results"]] == [str(batch.pk)]


def test_cancel_and_replay_failed() -> None:
    batch = make_batch(True, False, False)
    first = TaskRun.objects.filter(batch=batch).order_by("kwargs__n").first()
    assert first is not None
    execute(str(first.pk))
    out = run("taskboard_batch", "cancel", str(batch.pk), "--reason", "wrong input").out
    assert "cancelled the waiting children" in out
    assert TaskRun.objects.filter(batch=batch, status=Status.CANCELLED).count() == 2
    out = run("taskboard_batch", "replay-failed", str(batch.pk)).out
    assert "replayed 1 failed children" in out
    assert AuditEvent.objects.filter(verb="batch.cancel", reason="wrong input", via=Via.CLI).count() == 1
    assert AuditEvent.objects.filter(verb="batch.replay_failed").count() == 1


@pytest.mark.parametrize("argv", [
    ["show"], ["show", "not-a-batch"], ["show", "00000000-0000-4000-8000-000000000000"],
    ["list", "00000000-0000-4000-8000-000000000000"],
])
def test_bad_input_is_a_one_line_error(argv: list[str]) -> None:
    with pytest.raises(CommandError) as error:
        run("taskboard_batch", *argv)
    assert "\n" not in str(error.value)


def test_cancelling_a_finished_batch_is_an_error() -> None:
    batch = make_batch(False)
    execute(str(TaskRun.objects.get(batch=batch).pk))
    with pytest.raises(CommandError, match="already finished"):
        run("taskboard_batch", "cancel", str(batch.pk))

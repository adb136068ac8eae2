"""Checking hook and batch callback names: form at decoration, usability at start (E001)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from django.tasks.exceptions import InvalidTask

from taskboard.backend import hooks, registry
from tests import callback_tasks

RUN_DONE: Any = callback_tasks.run_done


@pytest.mark.parametrize("name", ["", "nodots", " tests.callback_tasks.run_done", "a" * 300, 42])
def test_a_hook_must_be_a_dotted_path(name: Any) -> None:
    with pytest.raises(InvalidTask, match="on_dead_letter must be the dotted path"):
        replace(RUN_DONE, on_dead_letter=name)


def test_the_system_check_names_a_task_whose_hook_is_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = replace(RUN_DONE, on_success="tests.callback_tasks.no_such_task")
    good = replace(RUN_DONE, on_success=f"{callback_tasks.HERE}.run_done")
    monkeypatch.setattr(registry, "_tasks", {"broken.task": broken, "good.task": good})
    errors = hooks.registered_hooks()
    assert [(e.id, e.obj) for e in errors] == [("taskboard.E001", "broken.task")]
    assert "on_success" in errors[0].msg


def test_untrusted_callback_names_are_only_looked_up_never_imported() -> None:
    with pytest.raises(InvalidTask, match="not a known task"):
        hooks.callback_task("os.system", "batch_id", trusted=False)
    assert hooks.callback_task(f"{callback_tasks.HERE}.batch_done", "batch_id", trusted=True)

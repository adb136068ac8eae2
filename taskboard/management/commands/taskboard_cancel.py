"""``taskboard_cancel ID…``: cancel runs (a running one is asked to stop).

Every id is checked before anything is cancelled; an unknown or already finished run is
reported and makes the exit status non-zero, after the others were cancelled.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from taskboard import operations
from taskboard.management.commands._cli import OperatorCommand
from taskboard.management.commands._selection import add_reason_argument, apply_to_runs, reason_of, run_ids
from taskboard.models import TaskRun


def _state(run: TaskRun) -> str:
    return "cancel requested (running)" if run.status == "running" else run.status


class Command(OperatorCommand):
    help = "Cancel runs by id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="+", metavar="ID", help="Run ids")
        add_reason_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        apply_to_runs(self, operations.cancel_many, run_ids(options["ids"]), _state, "could not be cancelled",
                      reason_of(options))

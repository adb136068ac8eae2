"""``taskboard_cancel ID…``: cancel runs (a running one is asked to stop).

Every id is checked before anything is cancelled; an unknown or already finished run is
reported and makes the exit status non-zero, after the others were cancelled.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from taskboard import operations
from taskboard.management.commands._selection import apply_to_runs, run_ids
from taskboard.models import TaskRun


def _state(run: TaskRun) -> str:
    return "cancel requested (running)" if run.status == "running" else run.status


class Command(BaseCommand):
    help = "Cancel runs by id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="+", metavar="ID", help="Run ids")

    def handle(self, *args: Any, **options: Any) -> None:
        apply_to_runs(self, operations.cancel, run_ids(options["ids"]), _state, "could not be cancelled")

"""``taskboard_run_now ID…``: start scheduled runs now instead of at their ``run_after``.

The dashboard's and the API's "Run now". A run that is not ``scheduled``, or an unknown id,
is reported and makes the exit status non-zero, after the others were queued.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from taskboard import operations
from taskboard.management.commands._cli import OperatorCommand
from taskboard.management.commands._selection import add_reason_argument, apply_to_runs, reason_of, run_ids


class Command(OperatorCommand):
    help = "Run now: queue scheduled runs at once instead of at their run_after."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="+", metavar="ID", help="Run ids of scheduled runs")
        add_reason_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        apply_to_runs(self, operations.run_now_many, run_ids(options["ids"]), lambda run: "queued",
                      "could not be run now", reason_of(options))

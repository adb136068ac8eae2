"""``taskboard_retry_now ID…``: start the next attempt of retrying runs now.

The dashboard's and the API's "Retry now": a run waiting out its backoff is queued at once
(same attempt count). A run in any other state, or an unknown id, is reported and makes the
exit status non-zero, after the others were queued.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from taskboard import operations
from taskboard.management.commands._cli import OperatorCommand
from taskboard.management.commands._selection import add_reason_argument, apply_to_runs, reason_of, run_ids


class Command(OperatorCommand):
    help = "Retry now: queue retrying runs at once instead of after their backoff."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="+", metavar="ID", help="Run ids of retrying runs")
        add_reason_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        apply_to_runs(self, operations.retry_now_many, run_ids(options["ids"]),
                      lambda run: f"queued (attempt {run.attempts + 1} of {run.max_attempts})",
                      "could not be retried now", reason_of(options))

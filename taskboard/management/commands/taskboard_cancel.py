"""``taskboard_cancel ID…``: cancel runs (a running one is asked to stop).

Every id is checked before anything is cancelled; an unknown or already finished run is
reported and makes the exit status non-zero, after the others were cancelled.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from taskboard import operations
from taskboard.exceptions import OperationError
from taskboard.models import TaskRun


class Command(BaseCommand):
    help = "Cancel runs by id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="+", metavar="ID", help="Run ids")

    def handle(self, *args: Any, **options: Any) -> None:
        ids = []
        for raw in options["ids"]:
            try:
                ids.append(uuid.UUID(raw))
            except ValueError:
                raise CommandError(f"{raw!r} is not a run id (a UUID)") from None
        failed = 0
        for run_id in dict.fromkeys(ids):
            try:
                run = operations.cancel(run_id)
            except TaskRun.DoesNotExist:
                self.stderr.write(f"{run_id}: no such run")
                failed += 1
            except OperationError as exc:
                self.stderr.write(f"{run_id}: {exc}")
                failed += 1
            else:
                state = "cancel requested (running)" if run.status == "running" else run.status
                self.stdout.write(f"{run_id}: {state}")
        if failed:
            raise CommandError(f"{failed} of {len(set(ids))} run(s) could not be cancelled")

"""``taskboard_prune --older-than DAYS [--dry-run]``: delete old finished runs.

Runs that finished more than DAYS ago go, with their attempts; runs with an open dead
letter stay (see ``operations.prune``).
"""

from __future__ import annotations

import math
from typing import Any

from django.core.management.base import CommandError, CommandParser

from taskboard import operations
from taskboard.management.commands._cli import OperatorCommand
from taskboard.management.commands._selection import add_reason_argument, reason_of

MAX_DAYS = 36_500


class Command(OperatorCommand):
    help = "Delete finished runs (and their attempts) older than DAYS; never open dead letters."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=float, required=True, metavar="DAYS",
                            help="Age in days (fractions allowed) since the run finished")
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted")
        add_reason_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["older_than"]
        if not math.isfinite(days) or not 0 <= days <= MAX_DAYS:
            raise CommandError(f"--older-than must be a number of days from 0 to {MAX_DAYS}")
        count = operations.prune(days, dry_run=options["dry_run"], reason=reason_of(options))
        if options["dry_run"]:
            self.stdout.write(f"would delete {count} finished run(s) older than {days:g} day(s)")
        else:
            self.stdout.write(f"deleted {count} finished run(s) older than {days:g} day(s)")

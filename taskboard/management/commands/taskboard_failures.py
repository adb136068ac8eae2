"""``taskboard_failures [list] [--task NAME] [--sort recent|frequent] [--json]`` and
``taskboard_failures replay FINGERPRINT [--dry-run]``: the dashboard's failure groups.

A group is the failed attempts of the last seven days with the same task, exception and
normalised message (``readmodels.failures``, the dashboard's and ``GET /api/failures/``'s).
``replay`` replays the open dead letters whose run failed for good with that failure and
prints how many as the last line; ``--json`` prints the API's list for scripts.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from taskboard import operations
from taskboard.management.commands._cli import OperatorCommand
from taskboard.management.commands._selection import add_reason_argument, reason_of
from taskboard.readmodels import failures
from taskboard.readmodels.representations import failure_group_to_dict, iso

FINGERPRINT = re.compile(r"[0-9a-f]{1,16}")


class Command(OperatorCommand):
    help = "List failure groups (failed attempts by task, exception and message) or replay one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", choices=["list", "replay"], default="list")
        parser.add_argument("fingerprint", nargs="?", help="replay: the group (as listed)")
        parser.add_argument("--task", help="list: only this task's groups")
        parser.add_argument("--sort", choices=["recent", "frequent"], default="recent",
                            help="list: last seen first (recent) or most failures in 24 h first")
        parser.add_argument("--json", action="store_true", help="list: print the API's JSON")
        parser.add_argument("--dry-run", action="store_true", help="replay: only say how many")
        add_reason_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "replay":
            self._replay(options["fingerprint"], options["dry_run"], reason_of(options))
            return
        if options["fingerprint"] is not None:
            raise CommandError("list takes no FINGERPRINT (did you mean: replay FINGERPRINT?)")
        groups = failures.failure_groups(options["task"] or None, options["sort"])
        if options["json"]:
            self.stdout.write(json.dumps({"results": [failure_group_to_dict(g) for g in groups]}, indent=2))
            return
        if not groups:
            self.stdout.write("no failures in the last 7 days")
        for g in groups:
            self.stdout.write(f"{g.fingerprint}  {g.count_24h:>6} in 24h  {g.count_7d:>7} in 7d  "
                              f"last {iso(g.last_seen)}  {g.task}  {g.exception_name}: {g.message[:80]}")

    def _replay(self, fingerprint: str | None, dry_run: bool, reason: str) -> None:
        if fingerprint is None or not FINGERPRINT.fullmatch(fingerprint):
            raise CommandError("replay needs a FINGERPRINT: up to 16 hex digits, as listed")
        group = failures.group_summary(fingerprint)
        if group is None:
            raise CommandError(f"no failures with fingerprint {fingerprint}")
        letters = failures.group_dead_letters(fingerprint, group.task)
        if dry_run:
            self.stdout.write(f"would replay {letters.count()} dead-lettered run(s)")
            return
        with transaction.atomic():
            outcome = operations.replay_dead_letters(letters, reason=reason, filter={"fingerprint": fingerprint})
        for run_id, reason in outcome.skipped:
            self.stderr.write(f"{run_id}: {reason}")
        self.stdout.write(f"replayed {len(outcome.done)} dead-lettered run(s)")

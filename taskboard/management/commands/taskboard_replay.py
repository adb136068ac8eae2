"""``taskboard_replay (ID… | --task NAME | --all) [--dry-run]``: replay dead-lettered runs.

Acts on *open* dead letters only, so a run is never replayed twice by accident. An ID is a
run id (UUID) or a dead letter id (a number, as in ``/api/dead-letters/``). Each replay is
a new run linked by ``replay_of``; the last line says how many were replayed. An ID with
no open dead letter (or a run that cannot be replayed) is reported on stderr and makes the
exit status non-zero; the other IDs are still replayed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from taskboard import operations
from taskboard.management.commands._cli import OperatorCommand
from taskboard.management.commands._selection import (
    add_dead_letter_arguments,
    reason_of,
    selected_letters,
    selection_filter,
)


class Command(OperatorCommand):
    help = "Replay dead-lettered runs by id, by task, or all of them; prints how many."

    def add_arguments(self, parser: CommandParser) -> None:
        add_dead_letter_arguments(parser, "replay")

    def handle(self, *args: Any, **options: Any) -> None:
        reason = reason_of(options)
        letters, missing = selected_letters(self, options, "replay", "dead-lettered run(s)")
        if letters is not None:
            with transaction.atomic():
                outcome = operations.replay_dead_letters(letters, reason=reason, filter=selection_filter(options))
            for run in outcome.done:
                self.stdout.write(f"replayed {run.replay_of_id} as {run.id}")
            for run_id, reason in outcome.skipped:
                self.stderr.write(f"{run_id}: {reason}")
            missing += [run_id for run_id, _ in outcome.skipped]
            self.stdout.write(f"replayed {len(outcome.done)} dead-lettered run(s)")
        if missing:
            raise CommandError(f"{len(missing)} of the given item(s) could not be replayed")

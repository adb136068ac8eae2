"""``taskboard_discard (ID… | --task NAME | --all) [--dry-run]``: close dead letters unreplayed.

The dashboard's and the API's "Discard": the runs stay ``failed`` and nothing new runs; the
dead letters are resolved as discarded (by "system"). An ID is a run id (UUID) or a dead
letter id (a number). The last line says how many were discarded; an ID with no open dead
letter is reported on stderr and makes the exit status non-zero (the others are discarded).
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
    help = "Discard (close without replaying) dead letters by id, by task, or all; prints how many."

    def add_arguments(self, parser: CommandParser) -> None:
        add_dead_letter_arguments(parser, "discard")

    def handle(self, *args: Any, **options: Any) -> None:
        reason = reason_of(options)
        letters, missing = selected_letters(self, options, "discard", "dead letter(s)")
        if letters is not None:
            with transaction.atomic():
                count = operations.discard_dead_letters(letters, reason=reason, filter=selection_filter(options))
            self.stdout.write(f"discarded {count} dead letter(s)")
        if missing:
            raise CommandError(f"{len(missing)} of the given item(s) had no open dead letter")

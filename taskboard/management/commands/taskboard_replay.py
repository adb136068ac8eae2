"""``taskboard_replay (ID… | --task NAME | --all) [--dry-run]``: replay dead-lettered runs.

Acts on *open* dead letters only, so a run is never replayed twice by accident. An ID is a
run id (UUID) or a dead letter id (a number, as in ``/api/dead-letters/``). Each replay is
a new run linked by ``replay_of``; the last line says how many were replayed. An ID with
no open dead letter (or a run that cannot be replayed) is reported on stderr and makes the
exit status non-zero; the other IDs are still replayed.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Q

from taskboard import operations
from taskboard.models import DeadLetter


class Command(BaseCommand):
    help = "Replay dead-lettered runs by id, by task, or all of them; prints how many."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", metavar="ID", help="Run ids (UUID) or dead letter ids (numbers)")
        parser.add_argument("--task", help="Replay every open dead letter of this task")
        parser.add_argument("--all", action="store_true", help="Replay every open dead letter")
        parser.add_argument("--dry-run", action="store_true", help="Only show what would be replayed")

    def handle(self, *args: Any, **options: Any) -> None:
        ids, task, everything = options["ids"], options["task"], options["all"]
        if sum([bool(ids), task is not None, everything]) != 1:
            raise CommandError("give run/dead letter IDs, or --task NAME, or --all (exactly one of them)")
        if ids:
            query = self._ids_query(ids)
            letters = operations.open_dead_letters(q=query)
        else:
            letters = operations.open_dead_letters(task=task)
        letters = letters.select_related("run")
        found = list(letters[: operations.BULK_LIMIT])
        missing = self._missing(ids, found) if ids else []
        for raw in missing:
            self.stderr.write(f"{raw}: no open dead letter")

        if options["dry_run"]:
            for letter in found:
                self.stdout.write(f"would replay {letter.run_id} ({letter.task}): {letter.reason[:100]}")
            self.stdout.write(f"would replay {len(found)} dead-lettered run(s)")
        else:
            with transaction.atomic():
                outcome = operations.replay_dead_letters(letters.filter(pk__in=[f.pk for f in found]))
            for run in outcome.done:
                self.stdout.write(f"replayed {run.replay_of_id} as {run.id}")
            for run_id, reason in outcome.skipped:
                self.stderr.write(f"{run_id}: {reason}")
            missing += [run_id for run_id, _ in outcome.skipped]
            self.stdout.write(f"replayed {len(outcome.done)} dead-lettered run(s)")
        if missing:
            raise CommandError(f"{len(missing)} of the given item(s) could not be replayed")

    @staticmethod
    def _ids_query(ids: list[str]) -> Q:
        run_ids, letter_ids = [], []
        for raw in ids:
            if raw.isdigit() and len(raw) <= 18:
                letter_ids.append(int(raw))
                continue
            try:
                run_ids.append(uuid.UUID(raw))
            except ValueError:
                raise CommandError(f"{raw!r} is neither a run id (UUID) nor a dead letter id (number)") from None
        return Q(run_id__in=run_ids) | Q(pk__in=letter_ids)

    @staticmethod
    def _missing(ids: list[str], found: list[DeadLetter]) -> list[str]:
        runs = {str(letter.run_id) for letter in found}
        letters = {str(letter.pk) for letter in found}
        missing = []
        for raw in dict.fromkeys(ids):
            key = str(int(raw)) if raw.isdigit() else str(uuid.UUID(raw))
            if key not in runs and key not in letters:
                missing.append(raw)
        return missing

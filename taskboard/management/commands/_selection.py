"""What several commands share: run ids from the command line, a verb applied to each run,
and the open dead letters named by ids, by task or all of them.

(A leading underscore: Django does not list this module as a command.)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from taskboard import operations
from taskboard.models import DeadLetter, TaskRun
from taskboard.models.dead_letters import DeadLetterQuerySet
from taskboard.operations.audit import REASON_MAX
from taskboard.operations.inputs import BadInput, check_text


def run_ids(raws: Iterable[str]) -> list[uuid.UUID]:
    """Every id parsed before anything is done; duplicates dropped, order kept."""
    ids = []
    for raw in raws:
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            raise CommandError(f"{raw!r} is not a run id (a UUID)") from None
    return list(dict.fromkeys(ids))


def apply_to_runs(command: BaseCommand, verb: Callable[..., operations.BulkResult], ids: list[uuid.UUID],
                  describe: Callable[[TaskRun], str], failure: str, reason: str = "") -> None:
    """Apply the bulk ``verb`` to the runs (one audit event for the whole command), one line
    each; an unknown run or one in the wrong state is reported on stderr and, after the
    others were done, makes the exit status non-zero."""
    outcome = verb(ids, reason=reason)
    for run in outcome.done:
        command.stdout.write(f"{run.pk}: {describe(run)}")
    for run_id, why in outcome.skipped:
        command.stderr.write(f"{run_id}: {why}")
    if outcome.skipped:
        raise CommandError(f"{len(outcome.skipped)} of {len(ids)} run(s) {failure}")


def add_reason_argument(parser: CommandParser) -> None:
    parser.add_argument("--reason", default="", help="Why (kept in the audit log)")


def reason_of(options: dict[str, Any]) -> str:
    """``--reason``, validated like any outside text."""
    reason: str = options.get("reason") or ""
    try:
        check_text(reason, "--reason")
    except BadInput as exc:
        raise CommandError(str(exc)) from None
    if len(reason) > REASON_MAX:
        raise CommandError(f"--reason is longer than {REASON_MAX} characters")
    return reason


def add_dead_letter_arguments(parser: CommandParser, verb: str) -> None:
    parser.add_argument("ids", nargs="*", metavar="ID", help="Run ids (UUID) or dead letter ids (numbers)")
    parser.add_argument("--task", help=f"{verb.capitalize()} every open dead letter of this task")
    parser.add_argument("--all", action="store_true", help=f"{verb.capitalize()} every open dead letter")
    parser.add_argument("--dry-run", action="store_true", help=f"Only show what would be {verb}ed")
    add_reason_argument(parser)


def selection_filter(options: dict[str, Any]) -> dict[str, Any] | None:
    """What the audit event records as the selection of ``--task NAME`` or ``--all`` (IDs are
    its targets instead)."""
    if options["task"] is not None:
        return {"task": options["task"]}
    return {"all": True} if options["all"] else None


def selected_letters(command: BaseCommand, options: dict[str, Any], verb: str,
                     noun: str) -> tuple[DeadLetterQuerySet | None, list[str]]:
    """The open dead letters the options select, and the given IDs that name none (reported
    on stderr). With ``--dry-run`` they are listed instead (``would <verb> … <noun>``) and the
    query set is None."""
    letters, missing = open_letters(options["ids"], options["task"], options["all"])
    for raw in missing:
        command.stderr.write(f"{raw}: no open dead letter")
    if not options["dry_run"]:
        return letters, missing
    found = list(letters)
    for letter in found:
        command.stdout.write(f"would {verb} {letter.pk} (run {letter.run_id}, {letter.task}): {letter.reason[:100]}")
    command.stdout.write(f"would {verb} {len(found)} {noun}")
    return None, missing


def open_letters(ids: list[str], task: str | None, everything: bool) -> tuple[DeadLetterQuerySet, list[str]]:
    """The open dead letters selected (at most ``BULK_LIMIT``), and the given IDs that name
    none (unknown, or already resolved)."""
    if sum([bool(ids), task is not None, everything]) != 1:
        raise CommandError("give run/dead letter IDs, or --task NAME, or --all (exactly one of them)")
    letters = (operations.open_dead_letters(q=_ids_query(ids)) if ids
               else operations.open_dead_letters(task=task)).select_related("run")
    found = list(letters[: operations.BULK_LIMIT])
    missing = _missing(ids, found) if ids else []
    return letters.filter(pk__in=[f.pk for f in found]), missing


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


def _missing(ids: list[str], found: list[DeadLetter]) -> list[str]:
    runs = {str(letter.run_id) for letter in found}
    letters = {str(letter.pk) for letter in found}
    missing = []
    for raw in dict.fromkeys(ids):
        key = str(int(raw)) if raw.isdigit() else str(uuid.UUID(raw))
        if key not in runs and key not in letters:
            missing.append(raw)
    return missing

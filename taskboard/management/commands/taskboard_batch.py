"""``taskboard_batch list [--json] | show ID [--json] | cancel ID [--reason TEXT] | replay-failed ID
[--reason TEXT]``: batches from the command line.

``show`` prints the counts and progress (``--json``: the JSON of ``GET /api/batches/{id}/``);
``cancel`` and ``replay-failed`` are the ``operations`` verbs (audited as done via the CLI). An
unknown id, a finished batch to cancel or bad input is a one-line error and a non-zero exit.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from taskboard import operations
from taskboard.exceptions import OperationError
from taskboard.management.commands._cli import OperatorCommand
from taskboard.management.commands._selection import reason_of
from taskboard.models import Batch
from taskboard.operations.inputs import BadInput, check_text
from taskboard.readmodels.batches import batch_list_queryset, batch_to_dict

LIST_LIMIT = 50


def describe(batch: dict[str, Any]) -> str:
    state = "finished" if batch["finished_at"] else "cancelling" if batch["cancelled_at"] else "open"
    name = f" {batch['name']}" if batch["name"] else ""
    return (f"{batch['id']}{name}: {state}, {batch['progress']}% — {batch['total']} children: "
            f"{batch['waiting']} waiting, {batch['running']} running, {batch['succeeded']} succeeded, "
            f"{batch['failed']} failed, {batch['cancelled']} cancelled")


class Command(OperatorCommand):
    help = "Show, cancel or replay the failed children of a batch."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "show", "cancel", "replay-failed"])
        parser.add_argument("id", nargs="?", help="the batch id (show, cancel, replay-failed)")
        parser.add_argument("--json", action="store_true", help="list/show: print the API's JSON")
        parser.add_argument("--reason", default="", help="cancel/replay-failed: why (kept in the audit log)")

    def handle(self, *args: Any, **options: Any) -> None:
        action, batch_id = options["action"], options["id"]
        if action == "list":
            if batch_id is not None:
                raise CommandError("list takes no ID")
            rows = [batch_to_dict(batch) for batch in batch_list_queryset()[:LIST_LIMIT]]
            if options["json"]:
                self.stdout.write(json.dumps({"results": rows}, indent=2))
            else:
                for row in rows:
                    self.stdout.write(describe(row))
                if not rows:
                    self.stdout.write("no batches")
            return
        if not batch_id:
            raise CommandError(f"{action} needs the batch ID")
        try:
            check_text(batch_id, "ID")
        except BadInput as exc:
            raise CommandError(str(exc)) from None
        reason = reason_of(options)
        try:
            with transaction.atomic():
                batch = self.apply(action, batch_id, reason)
        except Batch.DoesNotExist as exc:
            raise CommandError(str(exc)) from None
        except OperationError as exc:
            raise CommandError(str(exc)) from None
        data = batch_to_dict(batch)
        self.stdout.write(json.dumps(data, indent=2) if options["json"] else describe(data))

    def apply(self, action: str, batch_id: str, reason: str) -> Batch:
        if action == "show":
            return operations.get_batch(batch_id)
        if action == "cancel":
            batch = operations.cancel_batch(batch_id, reason=reason)
            self.stdout.write(f"cancelled the waiting children of batch {batch.pk}; running ones were asked to stop")
            return batch
        batch, outcome = operations.replay_failed(batch_id, reason=reason)
        self.stdout.write(f"replayed {len(outcome.done)} failed children of batch {batch.pk}")
        for run_id, why in outcome.skipped:
            self.stdout.write(f"  skipped {run_id}: {why}")
        return batch

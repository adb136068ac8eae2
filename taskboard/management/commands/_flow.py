"""What ``taskboard_queue`` and ``taskboard_breaker`` share: ``list [--json]`` or a verb on
one NAME with an optional ``--reason``, validated, with a one-line error and a non-zero exit
on bad input or an unknown name."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from taskboard import operations
from taskboard.management.commands._cli import OperatorCommand
from taskboard.management.commands._selection import reason_of
from taskboard.operations.inputs import BadInput, check_text


class FlowCommand(OperatorCommand):
    noun = ""  # "queue" / "breaker"
    verbs: ClassVar[dict[str, tuple[Callable[..., Any], str]]] = {}  # verb -> (operation, past tense)

    def rows(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def line(self, row: dict[str, Any]) -> str:
        raise NotImplementedError

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", *self.verbs])
        parser.add_argument("name", nargs="?", help=f"the {self.noun} ({', '.join(self.verbs)})")
        parser.add_argument("--json", action="store_true", help="list: print the API's JSON")
        parser.add_argument("--reason", default="", help=f"{'/'.join(self.verbs)}: why (kept in the history)")

    def handle(self, *args: Any, **options: Any) -> None:
        action, name = options["action"], options["name"]
        if action == "list":
            if name is not None:
                raise CommandError(f"list takes no NAME (did you mean: {' NAME | '.join(self.verbs)} NAME?)")
            self._list(options["json"])
            return
        if not name:
            raise CommandError(f"{action} needs the {self.noun}'s NAME")
        try:
            check_text(name, "NAME")
        except BadInput as exc:
            raise CommandError(str(exc)) from None
        reason = reason_of(options)
        operation, done = self.verbs[action]
        try:
            with transaction.atomic():
                operation(name, reason=reason)
        except operations.UnknownName as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{self.noun} {name} {done}")

    def _list(self, as_json: bool) -> None:
        rows = self.rows()
        if as_json:
            self.stdout.write(json.dumps({"results": rows}, indent=2))
            return
        if not rows:
            self.stdout.write(f"no {self.noun}s configured")
        for row in rows:
            self.stdout.write(self.line(row))

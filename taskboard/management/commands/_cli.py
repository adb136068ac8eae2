"""The base of the commands that apply operator verbs: they act ``via`` the CLI.

``OperatorCommand.execute`` runs the command inside ``operations.audit.acting_via("cli")``,
so every audit event it writes says it came from a command (and names the operating-system
account that ran it, as commands act as a trusted caller without a Django user). Commands
that only read, and ``taskboard_worker`` (whose clock acts as "system"), stay plain
``BaseCommand``s.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from taskboard.models import Via
from taskboard.operations.audit import acting_via


class OperatorCommand(BaseCommand):
    def execute(self, *args: Any, **options: Any) -> str | None:
        with acting_via(Via.CLI):
            return super().execute(*args, **options)

"""django-tasks-db as a contender: Django's ``noop.enqueue(key)`` on the database backend
(settings ``bench.peers.settings_dtdb``), executors = W ``manage.py db_worker`` processes
polling every 0.05 s (db_worker runs one task at a time and has no thread or process option,
so W executors are W workers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import django

from bench.peers.contenders import Spec, require
from bench.peers.measure import Contender, versions
from bench.throughput.children import Child
from bench.throughput.common import PYTHON
from bench.throughput.driver import Driver

POLL = "0.05"


class DjangoTasksDb(Contender):
    executors = (f"{{w}} `manage.py db_worker --interval {POLL} --no-startup-delay` processes, "
                 "one task at a time each")
    bulk_note = "no bulk enqueue API (django.tasks enqueues one task per call)"

    def __init__(self, driver: Driver, spec: Spec) -> None:
        super().__init__(driver)
        self.label = spec.label
        from bench.peers.django_tasks import noop

        self.task = noop

    def setup(self) -> None:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)

    def enqueue(self, key: str) -> None:
        self.task.enqueue(key)

    def enqueue_bulk(self, keys: Sequence[str]) -> None:
        raise NotImplementedError(self.bulk_note)

    def start(self, tag: str) -> list[Child]:
        return [self.driver.spawn(f"{tag}-{i}", [
            PYTHON, "manage.py", "db_worker", "--interval", POLL, "--no-startup-delay", "--no-reload",
            "--verbosity", "0", "--worker-id", f"{tag}-{i}"], self.driver.env())
            for i in range(self.driver.workers)]

    def finished_in_records(self) -> int:
        from django_tasks_db.models import DBTaskResult

        return int(DBTaskResult.objects.filter(status="SUCCESSFUL").count())

    def info(self) -> dict[str, Any]:
        return {"versions": versions("django-tasks-db", "Django")}

    def close(self) -> None:
        from django.db import connection

        connection.close()


def build(driver: Driver, spec: Spec) -> Contender:
    require("django_tasks_db")
    django.setup()  # bench.peers.settings_dtdb
    return DjangoTasksDb(driver, spec)

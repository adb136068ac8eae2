from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from taskboard.execution.recording import send_finished_for
from taskboard.transport import cluster


class Command(BaseCommand):
    help = (
        "Run one django-q2 cluster for the queue named by Q_CLUSTER_NAME. "
        "taskboard_worker starts and supervises these; run that instead."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # A run failed by a dead worker's settlement still gets its task_finished.
        cluster.run_cluster(on_settled=send_finished_for)

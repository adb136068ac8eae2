from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from taskboard.transport import cluster


class Command(BaseCommand):
    help = (
        "Run one django-q2 cluster for the queue named by Q_CLUSTER_NAME. "
        "taskboard_worker starts and supervises these; run that instead."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        cluster.run_cluster()

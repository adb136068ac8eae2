"""The Celery contender's app: Redis broker (``BENCH_PEERS_CELERY_BROKER``), no result backend.

Everything else is Celery 5.7's default (prefetch multiplier 4, early acknowledgement); the
worker is started as ``celery -A bench.peers.celery_app worker --pool prefork --concurrency W``.
Imported only in the Celery contender's processes (Celery is a ``bench`` group package).
"""

from __future__ import annotations

import os

from celery import Celery

from bench.peers.marks import mark

app = Celery("bench_peers", broker=os.environ.get("BENCH_PEERS_CELERY_BROKER", "redis://127.0.0.1:6379/7"))
app.conf.update(
    result_backend=None,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="bench.peers.noop")
def noop(key: str) -> None:
    mark(key)

"""The procrastinate contender's app: a psycopg connector to ``BENCH_PEERS_PG_URL``.

The no-op is a plain (sync) function like every other contender's; procrastinate runs sync
tasks in threads of its worker's event loop. Imported only in the procrastinate contender's
processes (procrastinate is a ``bench`` group package); the worker runs as
``python -m procrastinate --app bench.peers.procrastinate_app.app worker --concurrency W``.
"""

from __future__ import annotations

import os

from procrastinate import App, PsycopgConnector

from bench.peers.marks import mark

app = App(connector=PsycopgConnector(conninfo=os.environ.get("BENCH_PEERS_PG_URL", "")))


@app.task(name="bench.peers.noop")
def noop(key: str) -> None:
    mark(key)

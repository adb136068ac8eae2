"""Throughput benchmark of issue 2: taskboard against plain django-q2 on the same DB and broker.

    .venv/bin/python -m bench.throughput [--backend sqlite|postgres|both] [--n 5000]
                                         [--workers 2] [--json out.json]

For each configuration (SQLite + ORM broker; PostgreSQL + Redis), in one run and one process
tree, on one fresh database and broker:

1. taskboard: N ``taskboard.demo.noop.enqueue()`` with no worker running (enqueue runs/s,
   autocommit), then ``manage.py taskboard_worker --workers W`` drains them (drain tasks/s);
   with the pool idle, enqueue→start latency (p50/p95); then retry lateness of a task that
   fails once with a fixed 1.0 s backoff (p50/p95); then the worker is stopped, N runs are
   enqueued inside ``transaction.atomic()`` blocks (enqueue runs/s, atomic) and drained again.
2. plain django-q2, defaults: N ``async_task("bench.noop.noop")``, then ``manage.py qcluster``
   (in round 1 only with ``--rounds``: it slows down sharply when repeated on one database).
3. plain django-q2, tuned to its ceiling (save_limit=-1, no result rows, bulk dequeue, ...).
4. (reference) plain django-q2 tuned but keeping a result row per task (save_limit=0).

Drain is measured identically for all of them: a ``post_execute`` receiver (bench/apps.py) in
the cluster's monitor process marks the time each message is done (result saved, message
acknowledged); drain tasks/s = (N - 1) / (last mark - first mark), so cluster start-up is
excluded. taskboard's figure is also cross-checked from its own rows (first claim → last
finish) and every attempt row is counted.

Internally the command re-runs itself as one driver process per configuration (Django can be
set up once per process and the two configurations have different settings).

Modules: ``cli`` (arguments, the run over configurations), ``orchestrate`` (a fresh database
and one driver process per configuration), ``driver`` (the rounds inside one configuration),
``contender_taskboard`` and ``contender_q2`` (what is measured of each), ``marks`` (drain
figures from the completion marks), ``children`` (the processes started and their stop),
``report`` (the text summary).
"""

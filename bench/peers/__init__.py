"""taskboard side by side with its peers (issue 13): one command, one machine, one run.

    .venv/bin/python -m bench.peers [--n 5000] [--contenders taskboard-pg,celery,...]
                                    [--workers 2] [--json out.json]

Contenders (the peers come from the ``bench`` dependency group: ``make bench-peers``):

- ``taskboard-sqlite``: taskboard, SQLite (WAL) + its ORM broker, ``taskboard_worker --workers 2``
- ``taskboard-pg``: taskboard, PostgreSQL + Redis (db 8), ``taskboard_worker --workers 2``
- ``celery``: Celery 5.7, Redis broker (db 7), no result backend, ``--pool prefork --concurrency 2``
- ``procrastinate``: procrastinate 3.10 on PostgreSQL, one worker with ``--concurrency 2``
- ``django-tasks-db``: django-tasks-db 0.13 on PostgreSQL, two ``db_worker --interval 0.05``

Every contender runs the same no-op, whose body appends a start mark (time, key) to a file
(``bench/peers/marks.py``); every figure comes from those marks, so all are measured at the
same point. Per contender: enqueue/s one by one, bulk enqueue/s where the peer has a bulk API,
drain tasks/s with a pre-filled queue and while the driver enqueues, enqueue→start latency
p50/p95 on an idle pool, each drain's ratio to Celery's; ``measure`` says how.

Each contender gets a fresh database / Redis database and a driver process of its own
(``child``, the only place its peer package is imported); everything it started is stopped by
process group, and its database dropped and Redis database flushed, also on failure.

Modules: ``cli`` (arguments, the run, the report), ``contenders`` (what each needs),
``orchestrate`` (fresh storage, the driver process, cleanup), ``child`` + ``measure`` (the
measurement in the driver process), ``contender_*`` (each peer's enqueue, executors and own
records), ``marks``, ``report``; ``django_tasks``, ``celery_app``, ``procrastinate_app``,
``settings_dtdb`` define the no-op for each. Processes, marks parsing, fresh taskboard
databases and cleanup are ``bench.throughput``'s.
"""

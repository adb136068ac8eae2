"""The django-q2 boundary: the only module that imports ``django_q``.

What crosses the broker is a run id addressed to ``taskboard.runner.execute``. Pushing is
at-least-once and duplicates are harmless (the claim drops them), so every function here
prefers pushing again over losing a run.

``tick()`` is the dispatcher's one-second loop body, safe to run on many hosts at once:
1. due ``scheduled``/``retrying`` runs become ``queued`` and are pushed;
2. runs whose lease expired (their worker died) get a ``lost`` attempt, then retry or fail;
3. queued runs that nobody claimed while their queue had idle workers and an empty broker
   queue are pushed again (the message was lost: Redis drops in-flight messages of a killed
   cluster; the ORM broker hides them for ``retry`` seconds).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from django import db
from django.db import connection, connections, transaction
from django.utils import timezone
from django_q.brokers import Broker, get_broker
from django_q.brokers.orm import ORM
from django_q.brokers.redis_broker import Redis
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signals import pre_execute
from django_q.signing import SignedPackage
from django_q.status import Stat

from taskboard import sqlitelock
from taskboard.conf import conf
from taskboard.models import Status, TaskRun, WorkerNode

logger = structlog.get_logger("taskboard.dispatch")

EXECUTE = "taskboard.runner.execute"

_brokers: dict[tuple[int, str], Broker] = {}


def broker_for(queue: str) -> Broker:
    # One broker per queue and process: Redis otherwise opens a connection per push.
    key = (os.getpid(), queue)
    if key not in _brokers:
        _brokers[key] = get_broker(queue)
    return _brokers[key]


def _package(run_id: str, queue: str) -> str:
    # The dict django_q.tasks.async_task builds, minus the humanhash name it computes.
    message = {
        "id": uuid.uuid4().hex,
        "name": f"run-{run_id}",
        "func": EXECUTE,
        "args": (run_id,),
        "kwargs": {},
        "started": timezone.now(),
        "ack_failure": True,
        "cluster": queue,
    }
    return SignedPackage.dumps(message)


def push(run_id: uuid.UUID | str, queue: str) -> None:
    push_many([run_id], queue)


def push_many(run_ids: Sequence[uuid.UUID | str], queue: str) -> None:
    """Send one message per run id; one round trip per batch where the broker allows."""
    if not run_ids:
        return
    broker = broker_for(queue)
    packages = [_package(str(run_id), queue) for run_id in run_ids]
    if isinstance(broker, ORM):
        now = timezone.now()
        OrmQ.objects.using(Conf.ORM).bulk_create(
            [OrmQ(key=broker.list_key, payload=p, lock=now) for p in packages]
        )
    elif isinstance(broker, Redis):
        broker.connection.rpush(broker.list_key, *packages)
    else:  # pragma: no cover - only ORM and Redis are configured by taskboard
        for package in packages:
            broker.enqueue(package)


class OrmBroker(ORM):
    """django-q2's ORM broker, taking messages the way the Redis broker does: ``dequeue``
    removes up to ``bulk`` of them with one ``DELETE … RETURNING``.

    django-q2's own ORM broker reads a batch, then locks each message with its own write
    transaction and deletes it with another once done: three write transactions per message,
    on SQLite each one a turn at the database's single write lock. Taking the message at
    dequeue makes delivery at-most-once, like Redis; a message lost with a killed cluster is
    recovered by the dispatcher, which re-pushes queued runs nobody claimed
    (``redispatch_unclaimed``). The run row, not the message, is what must not be lost.
    """

    def dequeue(self) -> list[tuple[int, str]] | None:
        if transaction.get_autocommit(using=Conf.ORM):
            db.close_old_connections()  # as django-q2's broker does: the pusher lives long
        conn = connections[Conf.ORM]
        q = conn.ops.quote_name
        table = q(OrmQ._meta.db_table)
        skip = " FOR UPDATE SKIP LOCKED" if conn.features.has_select_for_update_skip_locked else ""
        sql = (f"DELETE FROM {table} WHERE {q('id')} IN (SELECT {q('id')} FROM {table} "
               f"WHERE {q('key')} = %s AND {q('lock')} < %s ORDER BY {q('id')} LIMIT %s{skip}) "
               f"RETURNING {q('id')}, {q('payload')}")
        params = [self.list_key, conn.ops.adapt_datetimefield_value(timezone.now()), max(1, int(Conf.BULK))]
        with sqlitelock.write_turn(conn), conn.cursor() as cursor:
            cursor.execute(sql, params)
            rows = sorted(cursor.fetchall())
        if rows:
            return [(pk, payload) for pk, payload in rows]
        time.sleep(Conf.POLL)  # empty queue: spare the CPU, as django-q2 does
        return None

    def acknowledge(self, task_id: Any) -> None:
        return None  # taken at dequeue

    def fail(self, task_id: Any) -> None:
        return None  # taken at dequeue


_in_cluster_run: str | None = None


def _on_pre_execute(sender: Any, func: Any, task: dict[str, Any], **kwargs: Any) -> None:
    global _in_cluster_run
    args = task.get("args") or ()
    _in_cluster_run = str(args[0]) if task.get("func") == EXECUTE and len(args) == 1 else None


def connect_signals() -> None:
    pre_execute.connect(_on_pre_execute, dispatch_uid="taskboard-delivery")


def delivered_by_cluster(run_id: Any) -> bool:
    """True (once) when a django-q2 worker is executing the message for ``run_id``; False
    when ``execute`` was called directly (tests, sync mode)."""
    global _in_cluster_run
    current, _in_cluster_run = _in_cluster_run, None
    return current is not None and current == str(run_id)


def queue_depth(queue: str) -> int:
    """Messages visible in the broker for ``queue`` (not yet taken by a cluster)."""
    return int(broker_for(queue).queue_size() or 0)


def broker_info() -> str:
    return "redis" if Conf.REDIS else "orm"


def cluster_stats() -> list[dict[str, Any]]:
    """django-q2's own view of its clusters (published through the shared cache, 3 s TTL)."""
    stats = []
    for stat in Stat.get_all(broker=broker_for(Conf.CLUSTER_NAME)) or []:
        stats.append({
            "cluster_id": str(stat.cluster_id),
            "host": stat.host,
            "pid": stat.pid,
            "sentinel": stat.sentinel,
            "workers": list(stat.workers),
            "status": str(stat.status),
            "reincarnations": stat.reincarnations,
            "uptime": stat.uptime() if stat.tob else 0.0,
            "task_q_size": stat.task_q_size,
            "queue": getattr(stat, "cluster_name", None),
        })
    return stats


@dataclass
class TickResult:
    dispatched: int = 0
    lost: int = 0
    redispatched: int = 0


def _lock_batch(queryset: Any, limit: int) -> list[Any]:
    # PostgreSQL: hosts split the work instead of queueing on row locks. SQLite has no row
    # locks (Django drops FOR UPDATE) but serialises write transactions, which is enough.
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True)
    return list(queryset[:limit])


def dispatch_due(now: Any = None, queues: Iterable[str] | None = None) -> int:
    now = now or timezone.now()
    qs = TaskRun.objects.due(now).order_by("-priority", "run_after")
    if queues is not None:
        qs = qs.filter(queue__in=list(queues))
    by_queue: dict[str, list[Any]] = {}
    # A plain read first: on SQLite every transaction takes the database write lock.
    if not qs.exists():
        return 0
    with transaction.atomic():
        rows = _lock_batch(qs.values_list("pk", "queue"), conf.DISPATCH_BATCH)
        if not rows:
            return 0
        TaskRun.objects.filter(pk__in=[pk for pk, _ in rows], status__in=[
            Status.SCHEDULED, Status.RETRYING]).update(status=Status.QUEUED, dispatched_at=now)
        for pk, queue in rows:
            by_queue.setdefault(queue, []).append(pk)
    for queue, ids in by_queue.items():
        push_many(ids, queue)
    return len(rows)


def recover_lost(now: Any = None, queues: Iterable[str] | None = None) -> int:
    now = now or timezone.now()
    qs = TaskRun.objects.stale(now).order_by("lease_expires_at")
    if queues is not None:
        qs = qs.filter(queue__in=list(queues))
    count = 0
    if not qs.exists():
        return 0
    with transaction.atomic():
        runs = _lock_batch(qs, conf.DISPATCH_BATCH)
        for run in runs:
            if run.declare_lost(now):
                count += 1
                logger.warning("attempt lost: lease expired", run_id=str(run.pk), task=run.task,
                               attempt=run.attempts, worker=run.worker, next=run.status)
    return count


def queue_capacity(now: Any = None) -> dict[str, int]:
    """Worker processes per queue across hosts whose taskboard_worker is alive."""
    now = now or timezone.now()
    fresh = now - timedelta(seconds=conf.WORKER_STALE_SECONDS)
    capacity: dict[str, int] = {}
    for pids_by_queue in WorkerNode.objects.filter(
        last_seen__gte=fresh, stopped_at__isnull=True
    ).values_list("cluster_pids", flat=True):
        for queue, pids in (pids_by_queue or {}).items():
            capacity[queue] = capacity.get(queue, 0) + len(pids)
    return capacity


def redispatch_unclaimed(now: Any = None, queues: Iterable[str] | None = None) -> int:
    now = now or timezone.now()
    before = now - timedelta(seconds=conf.REDISPATCH_AFTER)
    capacity = queue_capacity(now)
    total = 0
    for queue in queues if queues is not None else capacity:
        busy = TaskRun.objects.filter(status=Status.RUNNING, queue=queue).count()
        # Busy workers explain a backlog; idle ones with an empty broker queue mean the
        # messages of these runs are gone.
        if busy >= capacity.get(queue, 0) or queue_depth(queue) > 0:
            continue
        ids = list(TaskRun.objects.unclaimed(before).filter(queue=queue)
                   .order_by("-priority", "dispatched_at")
                   .values_list("pk", flat=True)[: conf.DISPATCH_BATCH])
        if not ids:
            continue
        TaskRun.objects.filter(pk__in=ids, status=Status.QUEUED).update(dispatched_at=now)
        push_many(ids, queue)
        logger.warning("re-pushed unclaimed runs", queue=queue, count=len(ids))
        total += len(ids)
    return total


def seconds_until_next_due(queues: Iterable[str] | None = None) -> float | None:
    """Lets the dispatcher wake exactly when the next scheduled/retrying run falls due."""
    qs = TaskRun.objects.all()
    if queues is not None:
        qs = qs.filter(queue__in=list(queues))
    first = qs.next_due_at()
    if first is None:
        return None
    return max(0.0, (first - timezone.now()).total_seconds())


def tick(queues: Iterable[str] | None = None) -> TickResult:
    queues = list(queues) if queues is not None else None
    now = timezone.now()
    return TickResult(
        dispatched=dispatch_due(now, queues),
        lost=recover_lost(now, queues),
        redispatched=redispatch_unclaimed(now, queues),
    )


def run_cluster() -> None:
    """Run one django-q2 cluster in this process until SIGTERM/SIGINT (``taskboard_cluster``).

    Used instead of ``qcluster``, whose main process returns right after starting the
    sentinel and then hangs in multiprocessing's exit handler when SIGTERM arrives during
    that join: waiting here explicitly makes a stop take as long as the running tasks.
    """
    import time

    from django_q.cluster import Cluster

    cluster = Cluster()  # installs SIGTERM/SIGINT handlers that stop the sentinel
    cluster.start()
    while cluster.sentinel is not None and cluster.sentinel.is_alive():
        time.sleep(0.25)

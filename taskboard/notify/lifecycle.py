"""Run lifecycle events for webhook subscriptions, coalesced per process and second.

The receivers listen to ``django.tasks``' signals (``task_enqueued`` → ``run.enqueued``,
``task_started`` → ``run.started``, ``task_finished`` of a success → ``run.succeeded``) and
taskboard's (``run_retrying``, ``run_dead_lettered`` → ``run.failed`` and
``run.dead_lettered``, ``run_cancelled``, ``run_progress``). An event a subscription wants
(its types, its task) is appended to this process's buffer — a dict and a list append on the
worker's path, nothing written. Every ``WEBHOOK_FLUSH_SECONDS`` (1 s) a background thread
turns each subscription's buffered events into one ``WebhookMessage`` (up to ``MESSAGE_MAX``
events) and one ``taskboard.notify.deliver`` run, in one transaction: a subscriber costs about
one delivery run per second per process, whatever the number of runs, so a drain with one
subscriber stays within a few percent of a drain without (``bench/webhooks.py``).

Guarantees, said plainly: once flushed, events are delivered at least once (the delivery run
retries; the same ``webhook-id`` on every retry), signed with the subscription's secret.
Events still in a process's buffer when it is killed outright (at most one flush interval of
them) are lost; a process that exits normally (django-q2's recycle or stop) flushes first.
Events from different processes arrive in separate messages, so order across messages is not
guaranteed: each event carries its ``timestamp``. ``run.enqueued`` is published after the
enqueue's transaction commits. Deliveries' own runs publish nothing (no loop).

Which subscriptions exist is re-read every ``REFRESH_SECONDS`` by the flushing thread of each
process that publishes (one query, on that thread's connection, never on the worker's path);
with none, the receivers return after a few comparisons.
"""

from __future__ import annotations

import atexit
import multiprocessing.util
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from django.db import IntegrityError, connections, transaction
from django.tasks import TaskResultStatus
from django.tasks.signals import task_enqueued, task_finished, task_started
from django.utils import timezone

from taskboard.backend import signals
from taskboard.conf import conf
from taskboard.models import TaskRun, WebhookMessage, WebhookSubscription, sqlitelock
from taskboard.readmodels.representations import iso

logger = structlog.get_logger("taskboard.notify")

REFRESH_SECONDS = 5.0
MESSAGE_MAX = 1000  # events per message (and per delivery run)
BUFFER_MAX = 200_000  # events a process keeps while the database is away; older ones are dropped
DELIVER = "taskboard.notify.deliver"


@dataclass(frozen=True)
class Subscriber:
    id: int
    events: frozenset[str]
    task: str

    def wants(self, event: str, task: str) -> bool:
        return (not self.events or event in self.events) and (not self.task or self.task == task)


class Hub:
    """This process's subscribers, buffer and flushing thread (a forked child starts afresh).

    The subscriber list is read by the flushing thread, never on the path that publishes, so
    publishing costs no query: until the thread's first read, events are kept unsorted and
    sorted to their subscribers once it is known who they are."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[int, list[dict[str, Any]]] = {}
        self.unsorted: list[tuple[str, str, dict[str, Any]]] = []
        self.size = 0
        self.subscribers: list[Subscriber] | None = None  # None: not read yet
        self.loaded_at = float("-inf")
        self.thread: threading.Thread | None = None

    def wanted(self, event: str, task: str) -> bool | None:
        """Does any subscriber want it? None while the subscribers are not known yet."""
        if self.subscribers is None:
            return None
        return any(s.wants(event, task) for s in self.subscribers)

    def refresh(self) -> None:
        """Read the active subscriptions (one query) and sort what waited for them."""
        subscribers = [Subscriber(pk, frozenset(events or ()), task) for pk, events, task in
                       WebhookSubscription.objects.active().values_list("id", "events", "task")]
        with self.lock:
            self.subscribers, self.loaded_at = subscribers, time.monotonic()
            unsorted, self.unsorted = self.unsorted, []
            self.size -= len(unsorted)
            for event, task, item in unsorted:
                self._add(event, task, item)
        # Nobody wants run.enqueued: stop listening to task_enqueued, so an enqueue (a bulk one:
        # a thousand runs) does no work for us.
        _listen_to_enqueues(any(not s.events or "run.enqueued" in s.events for s in subscribers))

    def publish(self, event: str, task: str, data: Callable[[], dict[str, Any]]) -> None:
        if task == DELIVER or self.wanted(event, task) is False:
            return
        item = {"type": event, "timestamp": iso(timezone.now()), "data": data()}
        with self.lock:
            if self.subscribers is None:
                self.unsorted.append((event, task, item))
                self.size += 1
            else:
                self._add(event, task, item)
            if self.size > BUFFER_MAX:
                self._drop_oldest()
            self._start()

    def _add(self, event: str, task: str, item: dict[str, Any]) -> None:
        for sub in self.subscribers or ():
            if sub.wants(event, task):
                self.pending.setdefault(sub.id, []).append(item)
                self.size += 1

    def _drop_oldest(self) -> None:
        if self.unsorted:
            dropped = len(self.unsorted) // 2
            del self.unsorted[:dropped]
            where = "unsorted"
        else:
            biggest = max(self.pending, key=lambda sub: len(self.pending[sub]))
            dropped = len(self.pending[biggest]) // 2
            del self.pending[biggest][:dropped]
            where = str(biggest)
        self.size -= dropped
        logger.error("webhook events dropped: the buffer is full", subscription=where, dropped=dropped)

    def _start(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._loop, name="taskboard-webhooks", daemon=True)
            self.thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(conf.WEBHOOK_FLUSH_SECONDS)
            used = False
            try:
                if time.monotonic() - self.loaded_at >= REFRESH_SECONDS:
                    used = True
                    self.refresh()
                if self.pending:
                    used = True
                    self.flush()
            except Exception:  # a database hiccup: the events wait for the next round
                logger.exception("webhook events not flushed")
            finally:
                if used:
                    # Between rounds this thread holds no connection (as the worker's monitor).
                    connections.close_all()

    def flush(self) -> int:
        """One message and one delivery run per subscription with buffered events; how many
        messages were written."""
        from taskboard.notify.config import alerts_config
        from taskboard.notify.delivery import delivery_task

        with self.lock:
            pending, self.pending = self.pending, {}
            self.size = len(self.unsorted)
        if not pending:
            return 0
        runner = delivery_task(alerts_config())
        written = 0
        try:
            # One write transaction for the round, queued like the worker's own writes on
            # SQLite (so they do not sleep in SQLite's busy handler behind it).
            with sqlitelock.write_turn(transaction.get_connection()), transaction.atomic():
                for sub, events in pending.items():
                    try:
                        with transaction.atomic():
                            for start in range(0, len(events), MESSAGE_MAX):
                                message = WebhookMessage.objects.create(subscription_id=sub,
                                                                        events=events[start:start + MESSAGE_MAX])
                                runner.enqueue(channel="subscription", notification=message.pk)
                                written += 1
                    except IntegrityError:  # the subscription was removed meanwhile
                        continue
        except Exception:
            with self.lock:  # nothing was written: keep them all for the next round
                for sub, events in pending.items():
                    self.pending.setdefault(sub, [])[:0] = events
                    self.size += len(events)
            raise
        return written


_hub: Hub | None = None
_hub_pid: int | None = None


def hub() -> Hub:
    global _hub, _hub_pid
    if _hub is None or _hub_pid != os.getpid():
        _hub, _hub_pid = Hub(), os.getpid()
        # A worker process that exits normally flushes what it buffered (multiprocessing runs
        # its finalizers; atexit covers a plain process).
        multiprocessing.util.Finalize(_hub, _flush_quietly, args=(_hub,), exitpriority=5)
        atexit.register(_flush_quietly, _hub)
    return _hub


def _flush_quietly(target: Hub) -> None:
    try:
        target.flush()
    except Exception:  # noqa: BLE001 - exiting anyway
        logger.warning("webhook events lost at exit", exc_info=True)


# --- receivers ------------------------------------------------------------------------------------

def _result_data(result: Any) -> dict[str, Any]:
    return {"id": str(result.id), "task": result.task.module_path, "queue": result.task.queue_name,
            "attempt": result.attempts}


def _run_data(run: TaskRun, **extra: Any) -> dict[str, Any]:
    return {"id": str(run.pk), "task": run.task, "queue": run.queue, "status": run.status,
            "attempt": run.attempts, **extra}


def on_enqueued(sender: Any, task_result: Any, **kwargs: Any) -> None:
    task = task_result.task.module_path
    if task != DELIVER and hub().wanted("run.enqueued", task) is not False:
        transaction.on_commit(lambda: hub().publish("run.enqueued", task, lambda: _result_data(task_result)))


def on_started(sender: Any, task_result: Any, **kwargs: Any) -> None:
    hub().publish("run.started", task_result.task.module_path, lambda: _result_data(task_result))


def on_finished(sender: Any, task_result: Any, **kwargs: Any) -> None:
    # A failure or a cancel has taskboard's own, more precise signal (below).
    if task_result.status == TaskResultStatus.SUCCESSFUL:
        hub().publish("run.succeeded", task_result.task.module_path, lambda: _result_data(task_result))


def on_retrying(sender: Any, run: TaskRun, **kwargs: Any) -> None:
    hub().publish("run.retrying", run.task,
                  lambda: _run_data(run, retry_at=iso(run.run_after), error=run.last_error))


def on_dead_lettered(sender: Any, run: TaskRun, **kwargs: Any) -> None:
    for event in ("run.failed", "run.dead_lettered"):
        hub().publish(event, run.task, lambda: _run_data(run, error=run.last_error))


def on_cancelled(sender: Any, run: TaskRun, **kwargs: Any) -> None:
    hub().publish("run.cancelled", run.task, lambda: _run_data(run, by=run.cancel_requested_by))


def on_progress(sender: Any, run: TaskRun, percent: int, message: str, **kwargs: Any) -> None:
    hub().publish("run.progress", run.task, lambda: _run_data(run, progress=percent, message=message))


RECEIVERS = ("enqueued", "started", "finished", "retrying", "dead_lettered", "cancelled", "progress")
_connected = {"on": False}


def _listen_to_enqueues(wanted: bool) -> None:
    if wanted and _connected["on"]:
        task_enqueued.connect(on_enqueued, dispatch_uid="taskboard.notify.enqueued")
    else:
        task_enqueued.disconnect(dispatch_uid="taskboard.notify.enqueued")


def disconnect() -> None:
    _connected["on"] = False
    for signal in (task_enqueued, task_started, task_finished, signals.run_retrying, signals.run_dead_lettered,
                   signals.run_cancelled, signals.run_progress):
        for name in RECEIVERS:
            signal.disconnect(dispatch_uid=f"taskboard.notify.{name}")


def connect() -> None:
    """At app ready, in every process (unless ``TASKBOARD["WEBHOOKS"]`` is off)."""
    _connected["on"] = True
    task_enqueued.connect(on_enqueued, dispatch_uid="taskboard.notify.enqueued")
    task_started.connect(on_started, dispatch_uid="taskboard.notify.started")
    task_finished.connect(on_finished, dispatch_uid="taskboard.notify.finished")
    signals.run_retrying.connect(on_retrying, dispatch_uid="taskboard.notify.retrying")
    signals.run_dead_lettered.connect(on_dead_lettered, dispatch_uid="taskboard.notify.dead_lettered")
    signals.run_cancelled.connect(on_cancelled, dispatch_uid="taskboard.notify.cancelled")
    signals.run_progress.connect(on_progress, dispatch_uid="taskboard.notify.progress")

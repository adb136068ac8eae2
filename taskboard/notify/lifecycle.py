"""Run lifecycle events for webhook subscriptions, coalesced per process and second.

The receivers listen to ``django.tasks``' signals (``task_enqueued`` → ``run.enqueued``,
``task_started`` → ``run.started``, ``task_finished`` of a success → ``run.succeeded``) and
taskboard's (``run_retrying``, ``run_dead_lettered`` → ``run.failed`` and
``run.dead_lettered``, ``run_cancelled``, ``run_progress``). An event a subscription wants
(its types, its task) is appended to this process's buffer as a tuple of the run's fields as
they are then — a dict look-up and a list append on the worker's path, nothing written, no
JSON. Every ``WEBHOOK_FLUSH_SECONDS`` (1 s) a background thread writes the buffered events'
JSON, once, into one ``WebhookMessage`` per subscription (up to ``messages.MESSAGE_MAX``
events) and one ``taskboard.notify.deliver`` run, in one transaction; the delivery sends that
JSON text as stored. A subscriber costs about one delivery run per second per process and a
few microseconds per event (``bench/webhooks_cost.py``, ``bench/webhooks.py``).

Guarantees, said plainly: once flushed, events are delivered at least once (the delivery run
retries; the same ``webhook-id`` on every retry), signed with the subscription's secret.
Events still in a process's buffer when it is killed outright (at most one flush interval of
them) are lost; a process that exits normally (django-q2's recycle or stop) flushes first.
Events from different processes arrive in separate messages, so order across messages is not
guaranteed: each event carries its ``timestamp``. ``run.enqueued`` is published after the
enqueue's transaction commits. Deliveries' own runs publish nothing (no loop).

Which subscriptions exist is re-read every ``REFRESH_SECONDS`` by the flushing thread of each
process that publishes (one query, on that thread's connection, never on the worker's path);
with none, the receivers return after a dict look-up.
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

from taskboard.backend import signals
from taskboard.backend.task import TaskboardTask
from taskboard.conf import conf
from taskboard.models import TaskRun, WebhookSubscription
from taskboard.notify.messages import Fields, ResultFields, event_text, write
from taskboard.readmodels.representations import iso

logger = structlog.get_logger("taskboard.notify")

REFRESH_SECONDS = 5.0
BUFFER_MAX = 200_000  # events a process keeps while the database is away; older ones are dropped
DELIVER = "taskboard.notify.deliver"

# A buffered event: the subscribers it goes to (None: not known yet), its type, its task, the
# time in microseconds and its fields (messages.Fields). Its JSON is written when it is flushed.
Buffered = tuple[tuple[int, ...] | None, str, str, int, Fields]


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
    publishing costs no query. Who gets an event is worked out once per event type and task
    (``routes``); until the first read of the subscribers, events wait unrouted and are routed
    when flushed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.buffer: list[Buffered] = []
        # The subscribers and who wants what, swapped together: None until first read.
        self.known: tuple[list[Subscriber], dict[tuple[str, str], tuple[int, ...]]] | None = None
        self.loaded_at = float("-inf")
        self.thread: threading.Thread | None = None

    @property
    def subscribers(self) -> list[Subscriber] | None:
        return None if self.known is None else self.known[0]

    def route(self, event: str, task: str) -> tuple[int, ...] | None:
        """The subscribers that want it (empty: nobody); None while they are not known yet."""
        known = self.known
        if known is None:
            return None
        subscribers, routes = known
        found = routes.get((event, task))
        if found is None:
            found = routes[(event, task)] = tuple(s.id for s in subscribers if s.wants(event, task))
        return found

    def refresh(self) -> None:
        """Read the active subscriptions (one query)."""
        subscribers = [Subscriber(pk, frozenset(events or ()), task) for pk, events, task in
                       WebhookSubscription.objects.active().values_list("id", "events", "task")]
        self.known, self.loaded_at = (subscribers, {}), time.monotonic()
        # Nobody wants run.enqueued: stop listening to task_enqueued, so an enqueue (a bulk one:
        # a thousand runs) does no work for us.
        _listen_to_enqueues(any(not s.events or "run.enqueued" in s.events for s in subscribers))

    def publish(self, event: str, task: str, fields: Fields | Callable[[], Fields]) -> None:
        """Buffer an event if anyone wants it; ``fields`` (or the function that makes them, only
        called then) as they are now. The worker's path: a dict look-up and a list append."""
        if task == DELIVER:
            return
        routes = self.route(event, task)
        if routes == ():
            return
        item = (routes, event, task, time.time_ns() // 1000, fields() if callable(fields) else fields)
        with self.lock:
            self.buffer.append(item)
            if len(self.buffer) > BUFFER_MAX:
                self._drop_oldest()
        if self.thread is None or not self.thread.is_alive():
            self._start()

    def buffered(self) -> int:
        return len(self.buffer)

    def _drop_oldest(self) -> None:
        dropped = len(self.buffer) // 2
        del self.buffer[:dropped]
        logger.error("webhook events dropped: the buffer is full", dropped=dropped)

    def _start(self) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, name="taskboard-webhooks", daemon=True)
                self.thread.start()

    def _loop(self) -> None:
        connected = False
        while True:
            time.sleep(conf.WEBHOOK_FLUSH_SECONDS)
            written = 0
            try:
                if time.monotonic() - self.loaded_at >= REFRESH_SECONDS:
                    connected = True
                    self.refresh()
                if self.buffer:
                    connected = True
                    written = self.flush()
            except Exception:  # a database hiccup: the events wait for the next round
                logger.exception("webhook events not flushed")
                written = 0
            finally:
                if connected and not written:
                    # While events keep coming this thread keeps its connection (a new one
                    # each second cost more than the flush); once a round has nothing to
                    # send, or failed, it holds none, as the worker's monitor.
                    connections.close_all()
                    connected = False

    def flush(self) -> int:
        """One message and one delivery run per subscription with buffered events; how many
        messages were written."""
        from taskboard.notify.config import alerts_config
        from taskboard.notify.delivery import delivery_task

        if self.known is None and self.buffer:
            self.refresh()  # events published before the first read: route them now
        with self.lock:
            taken, self.buffer = self.buffer, []
        if not taken:
            return 0
        try:
            written = self._write(taken, delivery_task(alerts_config()))
        except Exception as exc:
            with self.lock:  # nothing was written: keep them all for the next round
                self.buffer[:0] = taken
            if isinstance(exc, IntegrityError):  # a subscription removed: read them again
                self.loaded_at = float("-inf")
            raise
        return written

    def _write(self, taken: list[Buffered], runner: TaskboardTask) -> int:
        live = {s.id for s in self.subscribers or ()}  # not those removed since the event
        texts: dict[int, list[str]] = {}
        for routes, event, task, micros, fields in taken:
            if routes is None:
                routes = self.route(event, task) or ()
            text = None
            for sub in routes:
                if sub in live:
                    text = text or event_text(event, task, micros, fields)
                    texts.setdefault(sub, []).append(text)
        return write(texts, runner)


_hub: Hub | None = None


def hub() -> Hub:
    global _hub
    if _hub is None:
        _hub = Hub()
        # A worker process that exits normally flushes what it buffered (multiprocessing runs
        # its finalizers; atexit covers a plain process).
        multiprocessing.util.Finalize(_hub, _flush_quietly, args=(_hub,), exitpriority=5)
        atexit.register(_flush_quietly, _hub)
    return _hub


def _forget_hub() -> None:
    # A forked child starts with no hub (no events, no thread) instead of checking its pid on
    # every event.
    global _hub
    _hub = None


os.register_at_fork(after_in_child=_forget_hub)


def _flush_quietly(target: Hub) -> None:
    if _hub is not target:  # a hub inherited from the parent, not this process's
        return
    try:
        target.flush()
    except Exception:  # noqa: BLE001 - exiting anyway
        logger.warning("webhook events lost at exit", exc_info=True)


# --- receivers ------------------------------------------------------------------------------------

def _result_fields(result: Any) -> ResultFields:
    return str(result.id), result.task.queue_name, int(result.attempts)


def _run_data(run: TaskRun, **extra: Any) -> dict[str, Any]:
    return {"id": str(run.pk), "task": run.task, "queue": run.queue, "status": run.status,
            "attempt": run.attempts, **extra}


def on_enqueued(sender: Any, task_result: Any, **kwargs: Any) -> None:
    task = task_result.task.module_path
    if task != DELIVER and hub().route("run.enqueued", task) != ():
        fields = _result_fields(task_result)
        transaction.on_commit(lambda: hub().publish("run.enqueued", task, fields))


def on_started(sender: Any, task_result: Any, **kwargs: Any) -> None:
    task = task_result.task
    (_hub or hub()).publish("run.started", task.module_path, lambda: _result_fields(task_result))


def on_finished(sender: Any, task_result: Any, **kwargs: Any) -> None:
    # A failure or a cancel has taskboard's own, more precise signal (below).
    if task_result.status == TaskResultStatus.SUCCESSFUL:
        (_hub or hub()).publish("run.succeeded", task_result.task.module_path, lambda: _result_fields(task_result))


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

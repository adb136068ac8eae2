"""What a run's end sets off besides its own row: its task's hooks and its batch's count.

``run_ended(run)`` is called by the ``TaskRun`` transitions that end a run — ``succeed``
(``commit_success``), ``finish_cancelled``, ``fail_to_dead_letter`` and ``cancel_waiting`` —
inside the transaction that writes the outcome, and only when that outcome's conditional
UPDATE applied. So:

- a duplicate, late or stale outcome (a redelivered message, a worker that lost its lease, the
  clock declaring a run lost that just finished) matches no row and sets off nothing;
- a crash before the commit loses the outcome and its effects together (the run is recovered
  by its lease and ends again later, setting them off then), a crash after it loses neither;
- so each effect happens exactly once per run. The callback runs it creates are pushed to the
  broker after the commit; a push lost with a crash is repeated by the clock
  (``redispatch_unclaimed``), like any other queued run's.

Only runs that carry effects (``TaskRun.has_effects``: a batch, or hooks stored at enqueue)
come here; a plain run's success stays on the worker's group-committed raw SQL.

Hooks (task options ``on_success``, ``on_failure``, ``on_dead_letter``) are enqueued with
``run_id=<id>``: ``on_success`` when the run succeeded, ``on_failure`` when it ended as
``django.tasks`` FAILED (``failed`` or ``cancelled``), ``on_dead_letter`` when it failed with
a dead letter. A callback run carries no hooks of its own, so hooks cannot chain into a loop.

Enqueueing a run needs the task registry and the task's options, which live in ``backend``
(models may not import it): the backend installs the function at app ready
(``install_enqueuer``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

from taskboard.models.choices import Status

if TYPE_CHECKING:
    from taskboard.models.runs import TaskRun

# (task name, kwargs, correlation id, what caused it) -> the new run's id. Creates the run in
# the caller's transaction and never raises for a callback that cannot be enqueued (it is
# recorded as a failed run with a dead letter instead: an outcome must not be undone by it).
type Enqueuer = Callable[[str, dict[str, Any], str, str], uuid.UUID]

_enqueuer: Enqueuer | None = None

# The hook options that fire for each way a run ends.
HOOKS: dict[str, tuple[str, ...]] = {
    Status.SUCCEEDED: ("on_success",),
    Status.FAILED: ("on_failure", "on_dead_letter"),
    Status.CANCELLED: ("on_failure",),
}
HOOK_OPTIONS = ("on_success", "on_failure", "on_dead_letter")


def install_enqueuer(enqueuer: Enqueuer) -> None:
    global _enqueuer
    _enqueuer = enqueuer


def enqueue_callback(task: str, kwargs: dict[str, Any], *, correlation_id: str, cause: str) -> uuid.UUID:
    if _enqueuer is None:
        raise ImproperlyConfigured("no callback enqueuer: taskboard's AppConfig.ready() has not run")
    return _enqueuer(task, kwargs, correlation_id, cause)


def run_ended(run: TaskRun) -> None:
    """``run`` has just ended (its row says so in this transaction): set off its effects."""
    if run.hooks:
        run_hooks(run)
    if run.batch_id is not None:
        from taskboard.models.batches import Batch

        Batch.objects.child_finished(run.batch_id, run.status, now=run.finished_at)


def run_hooks(run: TaskRun) -> None:
    """Enqueue the hooks of ``run`` that its final status calls for."""
    hooks = run.hooks or {}
    for option in HOOKS.get(run.status, ()):
        name = hooks.get(option)
        if name:
            enqueue_callback(name, {"run_id": str(run.pk)}, correlation_id=run.correlation_id or str(run.pk),
                             cause=f"{option} of run {run.pk}")

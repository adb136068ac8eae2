"""Operator verbs, shared verbatim by the dashboard, the admin, the JSON API and the commands.

One module per verb (``enqueue``, ``cancel``, ``replay``, ``discard``, ``prune``,
``retry_now``, ``run_now`` — the last two share ``waiting``; ``enqueue_many`` (bulk, by name);
``batches`` for cancelling a batch and replaying its failed children; ``silence`` for
silencing an alert; ``webhooks`` for adding and removing webhook subscriptions; ``pause`` for pausing and
resuming queues and tasks, ``breakers`` for forcing circuit breakers, ``schedules`` for
adding, pausing, resuming, running and removing schedules), with the
permission rule in ``permissions``, what verbs act on in ``lookups``, the loop of the bulk
verbs in ``bulk``, API tokens in ``tokens`` (verified ones cached briefly: ``token_cache``)
and the parsing of operator input (API bodies,
command options) in ``inputs``. Each verb checks the actor's permission (``user=None`` means
a trusted local caller such as a management command), applies a state transition on the
models, writes its ``audit`` event in the same transaction, and returns what changed.
Errors are ``NotAllowed`` (403), ``OperationError`` (409),
``UnknownName`` (404: no such queue, task or breaker) or ``InvalidTask`` subclasses (400).

May import: models, backend (the registry and ``create_run``), flow (pauses, breakers),
schedules (definitions, firing), exceptions. Never ``web``.
Callers use ``from taskboard import operations; operations.cancel(...)``: the names below
are the public surface.
"""

from taskboard.operations.batches import cancel_batch, get_batch, replay_failed
from taskboard.operations.breakers import close_breaker, open_breaker
from taskboard.operations.bulk import BULK_LIMIT, BulkResult
from taskboard.operations.cancel import cancel, cancel_many
from taskboard.operations.discard import discard_dead_letters
from taskboard.operations.enqueue import enqueue
from taskboard.operations.enqueue_many import enqueue_many
from taskboard.operations.lookups import UnknownName, get_run, open_dead_letters
from taskboard.operations.pause import pause_queue, pause_task, resume_queue, resume_task
from taskboard.operations.permissions import (
    PERM_BREAKER,
    PERM_CANCEL,
    PERM_DISCARD,
    PERM_ENQUEUE,
    PERM_PAUSE,
    PERM_PRUNE,
    PERM_REPLAY,
    PERM_RETRY_NOW,
    PERM_RUN_NOW,
    PERM_SCHEDULE,
    PERM_SILENCE,
    PERM_VIEW,
    PERM_WEBHOOKS,
    Actor,
    Operator,
    actor_name,
    require,
)
from taskboard.operations.prune import prune
from taskboard.operations.replay import replay, replay_dead_letters, replay_many
from taskboard.operations.retry_now import retry_now, retry_now_many
from taskboard.operations.run_now import run_now, run_now_many
from taskboard.operations.schedules import (
    add_schedule,
    get_schedule,
    pause_schedule,
    remove_schedule,
    resume_schedule,
    run_schedule,
)
from taskboard.operations.silence import silence_alert
from taskboard.operations.webhooks import add_webhook, remove_webhook

__all__ = [
    "BULK_LIMIT",
    "PERM_BREAKER",
    "PERM_CANCEL",
    "PERM_DISCARD",
    "PERM_ENQUEUE",
    "PERM_PAUSE",
    "PERM_PRUNE",
    "PERM_REPLAY",
    "PERM_RETRY_NOW",
    "PERM_RUN_NOW",
    "PERM_SCHEDULE",
    "PERM_SILENCE",
    "PERM_WEBHOOKS",
    "PERM_VIEW",
    "Actor",
    "BulkResult",
    "UnknownName",
    "Operator",
    "actor_name",
    "add_schedule",
    "get_schedule",
    "pause_schedule",
    "remove_schedule",
    "resume_schedule",
    "run_schedule",
    "silence_alert",
    "add_webhook",
    "remove_webhook",
    "cancel",
    "cancel_batch",
    "cancel_many",
    "close_breaker",
    "discard_dead_letters",
    "enqueue",
    "enqueue_many",
    "get_batch",
    "get_run",
    "open_breaker",
    "open_dead_letters",
    "pause_queue",
    "pause_task",
    "prune",
    "replay",
    "replay_dead_letters",
    "replay_failed",
    "replay_many",
    "require",
    "resume_queue",
    "resume_task",
    "retry_now",
    "retry_now_many",
    "run_now",
    "run_now_many",
]

"""Operator verbs, shared verbatim by the dashboard, the admin, the JSON API and the commands.

One module per verb (``enqueue``, ``cancel``, ``replay``, ``discard``, ``prune``,
``retry_now``, ``run_now`` — the last two share ``waiting``), with the
permission rule in ``permissions``, what verbs act on in ``lookups``, the loop of the bulk
verbs in ``bulk``, API tokens in ``tokens`` and the parsing of operator input (API bodies,
command options) in ``inputs``. Each verb checks the actor's permission (``user=None`` means
a trusted local caller such as a management command), applies a state transition on the
models and returns what changed. Errors are ``NotAllowed`` (403), ``OperationError`` (409) or
``InvalidTask`` subclasses (400).

May import: models, backend (the registry and ``create_run``), exceptions. Never ``web``.
Callers use ``from taskboard import operations; operations.cancel(...)``: the names below
are the public surface.
"""

from taskboard.operations.bulk import BULK_LIMIT, BulkResult
from taskboard.operations.cancel import cancel, cancel_many
from taskboard.operations.discard import discard_dead_letters
from taskboard.operations.enqueue import enqueue
from taskboard.operations.lookups import get_run, open_dead_letters
from taskboard.operations.permissions import (
    PERM_CANCEL,
    PERM_DISCARD,
    PERM_ENQUEUE,
    PERM_REPLAY,
    PERM_RETRY_NOW,
    PERM_RUN_NOW,
    PERM_VIEW,
    Actor,
    Operator,
    actor_name,
    require,
)
from taskboard.operations.prune import prune
from taskboard.operations.replay import replay, replay_dead_letters, replay_many
from taskboard.operations.retry_now import retry_now, retry_now_many
from taskboard.operations.run_now import run_now, run_now_many

__all__ = [
    "BULK_LIMIT",
    "PERM_CANCEL",
    "PERM_DISCARD",
    "PERM_ENQUEUE",
    "PERM_REPLAY",
    "PERM_RETRY_NOW",
    "PERM_RUN_NOW",
    "PERM_VIEW",
    "Actor",
    "BulkResult",
    "Operator",
    "actor_name",
    "cancel",
    "cancel_many",
    "discard_dead_letters",
    "enqueue",
    "get_run",
    "open_dead_letters",
    "prune",
    "replay",
    "replay_dead_letters",
    "replay_many",
    "require",
    "retry_now",
    "retry_now_many",
    "run_now",
    "run_now_many",
]

"""The source of truth, one module per aggregate.

``runs`` (TaskRun and its transitions; ``run_queries`` its querysets and the claim),
``attempts``, ``dead_letters``, ``nodes`` (worker supervisors), ``tokens`` (API tokens), ``flow`` (pauses, admission
locks, rate windows, circuit breakers), ``schedules``, ``batches``, ``alerts``, ``audit``; ``choices`` holds the statuses and outcomes,
``backoff`` the retry delay a run carries, ``fingerprints`` how failures group, and ``sql``
the vendor SQL of the hot path (``sqlitelock`` queues SQLite's writers). Imports only Django
and ``taskboard.conf``: every other package builds on this one.
"""

from taskboard.models.attempts import TaskAttempt
from taskboard.models.audit import AuditEvent, AuditRun, Via
from taskboard.models.batches import Batch
from taskboard.models.backoff import Backoff
from taskboard.models.choices import (
    ERROR_OUTCOMES,
    FINISHED,
    OPEN,
    REPLAYABLE,
    RETRYABLE_OUTCOMES,
    WAITING,
    HoldReason,
    Outcome,
    Status,
    should_retry,
)
from taskboard.models.dead_letters import DeadLetter, DeadLetterQuerySet, Resolution
from taskboard.models.fingerprints import fingerprint, normalise_message
from taskboard.models.flow import (
    Breaker,
    BreakerCall,
    BreakerState,
    BreakerTransition,
    FlowKey,
    Pause,
    PauseScope,
    RateStart,
)
from taskboard.models.nodes import WorkerNode
from taskboard.models.runs import TaskRun, TaskRunQuerySet
from taskboard.models.tokens import ApiToken

__all__ = [
    "ERROR_OUTCOMES", "FINISHED", "OPEN", "REPLAYABLE", "RETRYABLE_OUTCOMES", "WAITING",
    "ApiToken", "AuditEvent", "AuditRun", "Backoff", "Batch", "Breaker", "BreakerCall", "BreakerState", "BreakerTransition",
    "DeadLetter", "DeadLetterQuerySet", "FlowKey", "HoldReason", "Outcome", "Pause", "PauseScope",
    "RateStart", "Resolution", "Status",
    "TaskAttempt", "TaskRun", "TaskRunQuerySet", "Via", "WorkerNode", "fingerprint", "normalise_message",
    "should_retry",
]

"""The source of truth, one module per aggregate.

``runs`` (TaskRun and its transitions; ``run_queries`` its querysets and the claim),
``attempts``, ``dead_letters``, ``nodes`` (worker supervisors), ``tokens`` (API tokens),
``flow`` (pauses, admission locks, rate windows, circuit breakers), ``schedules`` (and
their fire times, unique per schedule and time), ``batches`` (counted by their children's
outcomes), ``alerts``, ``audit``; ``outcomes`` what a run's end sets off in the outcome's
transaction (hooks, its batch's count and callbacks);
``pruning`` what old history may be deleted, in batches; ``choices`` holds the statuses and outcomes,
``backoff`` the retry delay a run carries, ``fingerprints`` how failures group, and ``sql``
the vendor SQL of the hot path (``sqlitelock`` queues SQLite's writers). Imports only Django
and ``taskboard.conf``: every other package builds on this one.
"""

from taskboard.models.alerts import (
    Alert,
    AlertLease,
    AlertQuerySet,
    AlertRule,
    AlertState,
    Notification,
    NotificationEvent,
    RuleName,
)
from taskboard.models.attempts import TaskAttempt
from taskboard.models.audit import AuditEvent, AuditRun, Via
from taskboard.models.backoff import Backoff
from taskboard.models.batches import Batch
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
from taskboard.models.schedules import (
    FireOutcome,
    MisfirePolicy,
    OverlapPolicy,
    Schedule,
    ScheduleFire,
    ScheduleQuerySet,
    ScheduleSource,
)
from taskboard.models.subscriptions import EVENT_TYPES, WebhookMessage, WebhookSubscription
from taskboard.models.tokens import ApiToken

__all__ = [
    "Alert", "AlertLease", "AlertQuerySet", "AlertRule", "AlertState", "Notification", "NotificationEvent",
    "RuleName", "EVENT_TYPES", "WebhookMessage", "WebhookSubscription",
    "ERROR_OUTCOMES", "FINISHED", "OPEN", "REPLAYABLE", "RETRYABLE_OUTCOMES", "WAITING",
    "ApiToken", "AuditEvent", "AuditRun", "Backoff", "Batch", "Breaker", "BreakerCall", "BreakerState",
    "BreakerTransition",
    "DeadLetter", "DeadLetterQuerySet", "FlowKey", "HoldReason", "Outcome", "Pause", "PauseScope",
    "RateStart", "Resolution", "Status",
    "FireOutcome", "MisfirePolicy", "OverlapPolicy", "Schedule", "ScheduleFire", "ScheduleQuerySet",
    "ScheduleSource",
    "TaskAttempt", "TaskRun", "TaskRunQuerySet", "Via", "WorkerNode", "fingerprint", "normalise_message",
    "should_retry",
]

"""Pushing run ids to a queue's django-q2 broker, one round trip per batch where it allows."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence

from django.utils import timezone
from django_q.brokers import Broker, get_broker
from django_q.brokers.orm import ORM
from django_q.brokers.redis_broker import Redis
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import SignedPackage

# The function every message names. A message of an older release naming another path fails
# in django-q2 and leaves its run queued; the clock re-pushes it (``redispatch_unclaimed``).
EXECUTE = "taskboard.execution.runner.execute"

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

"""Pushing run ids to a queue's django-q2 broker, one round trip per batch where it allows."""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from collections.abc import Sequence
from typing import Any

from django.core.signing import TimestampSigner, b64_encode
from django.db import connections
from django.utils import timezone
from django.utils.encoding import force_bytes
from django_q.brokers import Broker, get_broker
from django_q.brokers.orm import ORM
from django_q.brokers.redis_broker import Redis
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import PickleSerializer

# The function every message names. A message of an older release naming another path fails
# in django-q2 and leaves its run queued; the clock re-pushes it (``redispatch_unclaimed``).
EXECUTE = "taskboard.execution.runner.execute"

_brokers: dict[tuple[int, str], Broker] = {}

# Messages per INSERT into the ORM broker's table (3 parameters each).
ORM_ROWS = 1000


def broker_for(queue: str) -> Broker:
    # One broker per queue and process: Redis otherwise opens a connection per push.
    key = (os.getpid(), queue)
    if key not in _brokers:
        _brokers[key] = get_broker(queue)
    return _brokers[key]


def _package(run_id: str, queue: str, now: Any = None) -> str:
    # The dict django_q.tasks.async_task builds, minus the humanhash name it computes.
    message: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "name": f"run-{run_id}",
        "func": EXECUTE,
        "args": (run_id,),
        "kwargs": {},
        "started": now or timezone.now(),
        "ack_failure": True,
        "cluster": queue,
    }
    # What SignedPackage.dumps does, with one signer per key instead of one per message (see
    # _Signer; the cluster's SignedPackage.loads reads it).
    return _signer().sign_object(message, serializer=PickleSerializer, compress=Conf.COMPRESSED)


class _Signer(TimestampSigner):
    """Django's ``TimestampSigner`` with its HMAC key derived once: ``Signer.signature`` derives
    it (``salted_hmac``: a SHA-256 of salt and secret) on every call, a third of the cost of
    signing a message. Same bytes out (``tests/transport`` checks that django-q2 reads them)."""

    def __init__(self, key: str, salt: str) -> None:
        super().__init__(key=key, salt=salt, algorithm="sha256")
        derived = hashlib.sha256(force_bytes(self.salt) + b"signer" + force_bytes(self.key)).digest()
        self._mac = hmac.new(derived, digestmod=hashlib.sha256)

    def signature(self, value: str | bytes, key: Any = None) -> str:
        if key is not None and key != self.key:
            return super().signature(value, key)
        mac = self._mac.copy()
        mac.update(force_bytes(value))
        return b64_encode(mac.digest()).decode()


_signers: dict[tuple[str, str], _Signer] = {}


def _signer() -> _Signer:
    key = (str(Conf.SECRET_KEY), str(Conf.PREFIX))
    signer = _signers.get(key)
    if signer is None:
        signer = _signers[key] = _Signer(key=Conf.SECRET_KEY, salt=Conf.PREFIX)
    return signer


def push(run_id: uuid.UUID | str, queue: str) -> None:
    push_many([run_id], queue)


def push_many(run_ids: Sequence[uuid.UUID | str], queue: str) -> None:
    """Send one message per run id; one round trip per batch where the broker allows."""
    if not run_ids:
        return
    broker = broker_for(queue)
    now = timezone.now()
    packages = [_package(str(run_id), queue, now) for run_id in run_ids]
    if isinstance(broker, ORM):
        _orm_insert(broker.list_key, packages)
    elif isinstance(broker, Redis):
        broker.connection.rpush(broker.list_key, *packages)
    else:  # pragma: no cover - only ORM and Redis are configured by taskboard
        for package in packages:
            broker.enqueue(package)


def _orm_insert(key: str, packages: list[str]) -> None:
    """One multi-row INSERT into the ORM broker's table (no model instances, no compiler:
    ``enqueue_many`` pushes a thousand messages at a time). A single statement needs no
    transaction around it."""
    conn = connections[Conf.ORM]
    q = conn.ops.quote_name
    lock = conn.ops.adapt_datetimefield_value(timezone.now())
    for start in range(0, len(packages), ORM_ROWS):
        chunk = packages[start:start + ORM_ROWS]
        values = ", ".join(["(%s, %s, %s)"] * len(chunk))
        with conn.cursor() as cursor:
            cursor.execute(f"INSERT INTO {q(OrmQ._meta.db_table)} ({q('key')}, {q('payload')}, {q('lock')}) "
                           f"VALUES {values}", [value for package in chunk for value in (key, package, lock)])

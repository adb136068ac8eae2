"""Pushing run ids to a queue's django-q2 broker, one round trip per batch where it allows."""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import threading
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import redis
from django.core.signing import TimestampSigner, b64_encode
from django.db import DEFAULT_DB_ALIAS, connections
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
    return _packages([run_id], queue, now or timezone.now())[0]


def _packages(run_ids: Sequence[str], queue: str, now: Any) -> list[str]:
    """The message of each run id: what ``SignedPackage.dumps`` makes of ``_message``, with one
    signer per key (see _Signer) and, for a batch, one signature timestamp (the same second);
    the cluster's ``SignedPackage.loads`` reads them."""
    signer = _signer()
    if Conf.COMPRESSED:
        return [signer.sign_object(_message(run_id, queue, now, uuid.uuid4().hex), serializer=PickleSerializer,
                                   compress=True) for run_id in run_ids]
    sep, stamp = signer.sep, signer.timestamp()
    packages = []
    for data in _pickles(run_ids, queue, now):
        # Signer.sign_object and TimestampSigner.sign, inlined.
        value = f"{b64_encode(data).decode()}{sep}{stamp}"
        packages.append(f"{value}{sep}{signer.signature(value)}")
    return packages


def _message(run_id: str, queue: str, now: Any, message_id: str) -> dict[str, Any]:
    # The dict django_q.tasks.async_task builds, minus the humanhash name it computes.
    return {"id": message_id, "name": f"run-{run_id}", "func": EXECUTE, "args": (run_id,), "kwargs": {},
            "started": now, "ack_failure": True, "cluster": queue}


# From this many messages on, a batch is pickled through a template.
TEMPLATE_MIN = 8
_PICKLE = pickle.HIGHEST_PROTOCOL


def _pickles(run_ids: Sequence[str], queue: str, now: Any) -> Iterator[bytes]:
    """Each run's pickled message. The messages of a batch differ only in their two ids, so a
    batch fills them into the bytes of one pickled message (``_template``): pickling each dict
    (its datetime's time zone through ``copyreg``) cost as much as signing it."""
    batch = len(run_ids) >= TEMPLATE_MIN
    templates: dict[int, tuple[bytes, ...] | None] = {}  # per byte length of the run id
    for run_id, message_id in zip(run_ids, _message_ids(len(run_ids)), strict=True):
        encoded = run_id.encode()
        if batch and len(encoded) not in templates:
            templates[len(encoded)] = _template(len(encoded), queue, now)
        parts = templates.get(len(encoded))
        if parts is None:
            yield pickle.dumps(_message(run_id, queue, now, message_id), protocol=_PICKLE)
        else:
            yield b"".join((parts[0], message_id.encode(), parts[1], encoded, parts[2], encoded, parts[3]))


def _message_ids(count: int) -> list[str]:
    """``uuid.uuid4().hex`` ``count`` times, from one read of random bytes."""
    data = bytearray(os.urandom(16 * count))
    data[6::16] = bytes(byte & 0x0F | 0x40 for byte in data[6::16])  # version 4
    data[8::16] = bytes(byte & 0x3F | 0x80 for byte in data[8::16])  # RFC 4122 variant
    text = data.hex()
    return [text[i:i + 32] for i in range(0, 32 * count, 32)]


def _template(size: int, queue: str, now: Any) -> tuple[bytes, ...] | None:
    """The pickled message of a run id of ``size`` bytes, split where the message id and the
    run id (twice) go; None when it does not split so, or a message filled in does not load
    as the one pickled for it (each message is then pickled)."""
    message_id, run_id = "\x01" * 32, "\x02" * size  # lengths fix the bytes around them
    pieces = pickle.dumps(_message(run_id, queue, now, message_id), protocol=_PICKLE).split(message_id.encode())
    rest = pieces[-1].split(run_id.encode())
    if len(pieces) != 2 or len(rest) != 3:
        return None
    parts = (pieces[0], *rest)
    sample_id, sample_run = "a" * 32, "0" * size
    filled = b"".join((parts[0], sample_id.encode(), parts[1], sample_run.encode(), parts[2], sample_run.encode(),
                       parts[3]))
    if pickle.loads(filled) != _message(sample_run, queue, now, sample_id):  # noqa: S301 - our own bytes
        return None
    return parts


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
    packages = _packages([str(run_id) for run_id in run_ids], queue, now)
    if isinstance(broker, ORM):
        _orm_insert(broker.list_key, packages)
    elif isinstance(broker, Redis):
        _rpush(broker, queue, packages)
    else:  # pragma: no cover - only ORM and Redis are configured by taskboard
        for package in packages:
            broker.enqueue(package)


def message_statement(run_id: uuid.UUID | str, queue: str, *, now: Any = None,
                      lock: Any = None) -> tuple[str, list[Any]] | None:
    """The INSERT of ``run_id``'s message when ``queue``'s broker is a table of the default
    database (the ORM broker), to run in the transaction that writes the run; else None
    (push after commit).

    The message then commits with the run or not at all, like a push after commit, in one
    write transaction instead of two (on SQLite each is a turn at the database's one write
    lock). A cluster cannot take it before the commit: uncommitted rows are invisible to its
    ``DELETE … RETURNING``, and its ``lock`` (now) is in the past once they are visible.
    ``now`` and ``lock``: the time and the same adapted for the database, if known."""
    if Conf.ORM != DEFAULT_DB_ALIAS or not isinstance(broker_for(queue), ORM):
        return None
    conn = connections[DEFAULT_DB_ALIAS]
    sql = _ORM_ONE.get(conn.vendor)
    if sql is None:
        q = conn.ops.quote_name
        sql = _ORM_ONE[conn.vendor] = (f"INSERT INTO {q(OrmQ._meta.db_table)} ({q('key')}, {q('payload')}, "
                                       f"{q('lock')}) VALUES (%s, %s, %s)")
    if now is None:
        now, lock = timezone.now(), None
    return sql, [broker_for(queue).list_key, _package(str(run_id), queue, now),
                 conn.ops.adapt_datetimefield_value(now) if lock is None else lock]


_ORM_ONE: dict[str, str] = {}

# This thread's own connection per (process, queue): see _rpush.
_local = threading.local()


class _Line:
    """A thread's own connection to one queue's Redis, and the push whose reply it has not
    read yet."""

    __slots__ = ("connection", "unread")

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.unread: list[str] = []


def _rpush(broker: Redis, queue: str, packages: list[str]) -> None:
    """``RPUSH`` on a connection of this thread's own, without waiting for its reply.

    Through the client, a push cost about twice the round trip itself (pool checkout with a
    readiness poll, retry wrapper, reply callbacks). And the reply only says the list grew:
    the command is on its way once sent, so a push reads the previous push's reply instead of
    waiting for its own, and an enqueue loop does one round trip per run (its INSERT), not
    two. Waiting on the second cost 8-11 % of the drain while a driver enqueues on 2 busy
    cores (bench.peers).

    A connection error, or an error reply to the previous push, re-sends what may not have
    arrived through the client, which retries (a message sent twice is dropped at the claim
    like any duplicate delivery); a push lost anyway leaves its run queued, and the
    dispatcher re-pushes queued runs nobody claimed (``redispatch_unclaimed``), as for a
    push that failed after its run committed.
    """
    lines = _local.__dict__.setdefault("redis", {})
    key = (os.getpid(), queue)  # a forked child opens its own
    line = lines.get(key)
    if line is None:
        pool = broker.connection.connection_pool
        line = lines[key] = _Line(pool.connection_class(**pool.connection_kwargs))
    again = _settle(line)
    if not again:
        try:
            # No health check: a PING now would read the reply of a push in flight.
            line.connection.send_packed_command(line.connection.pack_command("RPUSH", broker.list_key, *packages),
                                                check_health=False)
            line.unread = packages
            return
        except (redis.ConnectionError, redis.TimeoutError):
            line.connection.disconnect()
    broker.connection.rpush(broker.list_key, *again, *packages)


def _settle(line: _Line) -> list[str]:
    """Read the reply of ``line``'s push in flight, if any; the packages to send again when
    it was an error or the connection failed (then dropped)."""
    unread, line.unread = line.unread, []
    if unread:
        try:
            line.connection.read_response()
        except redis.ResponseError:  # e.g. OOM: that push stored nothing
            return unread
        except (redis.ConnectionError, redis.TimeoutError):
            line.connection.disconnect()
            return unread
    return []


def settle_pushes() -> None:
    """Wait for the replies of this thread's pushes in flight: afterwards every message it
    pushed is in Redis, as others see it (``queue_depth``)."""
    for (pid, queue), line in list(_local.__dict__.get("redis", {}).items()):
        if pid == os.getpid() and (again := _settle(line)):
            broker = broker_for(queue)
            broker.connection.rpush(broker.list_key, *again)


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

"""taskboard's ORM broker: django-q2's, but a message is taken when a cluster dequeues it."""

from __future__ import annotations

import time
from typing import Any

from django import db
from django.db import connections, transaction
from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ

from taskboard.models import sqlitelock


class OrmBroker(ORM):
    """django-q2's ORM broker, taking messages the way the Redis broker does: ``dequeue``
    removes up to ``bulk`` of them with one ``DELETE … RETURNING``.

    django-q2's own ORM broker reads a batch, then locks each message with its own write
    transaction and deletes it with another once done: three write transactions per message,
    on SQLite each one a turn at the database's single write lock. Taking the message at
    dequeue makes delivery at-most-once, like Redis; a message lost with a killed cluster is
    recovered by the dispatcher, which re-pushes queued runs nobody claimed
    (``redispatch_unclaimed``). The run row, not the message, is what must not be lost.
    """

    def dequeue(self) -> list[tuple[int, str]] | None:
        if transaction.get_autocommit(using=Conf.ORM):
            db.close_old_connections()  # as django-q2's broker does: the pusher lives long
        conn = connections[Conf.ORM]
        q = conn.ops.quote_name
        table = q(OrmQ._meta.db_table)
        skip = " FOR UPDATE SKIP LOCKED" if conn.features.has_select_for_update_skip_locked else ""
        sql = (f"DELETE FROM {table} WHERE {q('id')} IN (SELECT {q('id')} FROM {table} "
               f"WHERE {q('key')} = %s AND {q('lock')} < %s ORDER BY {q('id')} LIMIT %s{skip}) "
               f"RETURNING {q('id')}, {q('payload')}")
        params = [self.list_key, conn.ops.adapt_datetimefield_value(timezone.now()), max(1, int(Conf.BULK))]
        with sqlitelock.write_turn(conn), conn.cursor() as cursor:
            cursor.execute(sql, params)
            rows = sorted(cursor.fetchall())
        if rows:
            return [(pk, payload) for pk, payload in rows]
        time.sleep(Conf.POLL)  # empty queue: spare the CPU, as django-q2 does
        return None

    def acknowledge(self, task_id: Any) -> None:
        return None  # taken at dequeue

    def fail(self, task_id: Any) -> None:
        return None  # taken at dequeue


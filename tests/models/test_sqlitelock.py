"""The SQLite writers' queue: a flock taken outside transactions only."""

import fcntl
import os

import pytest
from django.db import connection, transaction

from taskboard.models import sqlitelock

pytestmark = pytest.mark.django_db(transaction=True)


def other_process_can_lock(path: str) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # a separate open file description: flock treats it as another holder


def test_write_turn_holds_the_lock_file_next_to_the_database():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    path = f"{connection.settings_dict['NAME']}-writers.lock"
    with sqlitelock.write_turn(connection):
        assert not other_process_can_lock(path)
    assert other_process_can_lock(path)


def test_write_turn_is_not_taken_inside_a_transaction():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    path = f"{connection.settings_dict['NAME']}-writers.lock"
    with transaction.atomic(), sqlitelock.write_turn(connection):
        assert other_process_can_lock(path)



def test_threads_of_one_process_take_turns():
    """A flock is held by the open file, which a process's threads share: a threaded server's
    requests must still queue one behind the other."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    import threading

    from django.db import connections

    started, entered = threading.Event(), threading.Event()

    def other_thread() -> None:
        other = connections["default"]  # this thread's own connection to the same file
        started.set()
        with sqlitelock.write_turn(other):
            entered.set()
        other.close()

    with sqlitelock.write_turn(connection):
        thread = threading.Thread(target=other_thread)
        thread.start()
        started.wait()
        thread.join(0.2)  # it had every chance to get in
        assert not entered.is_set()
    thread.join()
    assert entered.is_set()

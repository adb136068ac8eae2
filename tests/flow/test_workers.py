"""Flow control across two real ``taskboard_worker`` hosts (SQLite + ORM broker, or
PostgreSQL + Redis with DATABASE_URL/TASKBOARD_BROKER_URL)."""

from __future__ import annotations

import os
import signal
import tempfile
import threading
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count

from taskboard.demo import per_user
from taskboard.flow import breakers, pauses
from taskboard.models import Breaker, BreakerCall, Status, TaskRun
from tests import sample_tasks
from tests.execution.workers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.workers]


class Sampler(threading.Thread):
    """Reads the running runs per concurrency key every 50 ms; remembers the maximum."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.most = 0
        self.samples = 0
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                counts = (TaskRun.objects.filter(status=Status.RUNNING).exclude(concurrency_key="")
                          .values("concurrency_key").annotate(n=Count("pk")).values_list("n", flat=True))
                self.most = max([self.most, *counts])
                self.samples += 1
                self.stop.wait(0.05)
        finally:
            connection.close()


def test_per_user_limit_holds_across_two_hosts(start_worker):
    start_worker(workers=3)
    start_worker(workers=3)
    ids = [per_user.enqueue(user_id=user, seconds=0.2).id for _ in range(20) for user in (1, 2)]
    sampler = Sampler()
    sampler.start()
    try:
        wait_for(lambda: TaskRun.objects.filter(pk__in=ids, status=Status.SUCCEEDED).count() == 40,
                 timeout=180, interval=0.2, message="all 40 per_user runs to finish")
    finally:
        sampler.stop.set()
        sampler.join()
    assert sampler.samples > 10
    assert sampler.most == 2  # the limit was used, never exceeded
    assert set(TaskRun.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}


def test_open_breaker_holds_runs_without_attempts_and_close_releases_them(start_worker):
    start_worker()
    start_worker()
    failing = [sample_tasks.guarded.enqueue(ok=False).id for _ in range(4)]
    wait_for(lambda: Breaker.objects.filter(name="demo-payments", state="open").exists(),
             timeout=60, message="the breaker to open")
    later = [sample_tasks.guarded.enqueue(ok=True).id for _ in range(3)]
    wait_for(lambda: TaskRun.objects.filter(pk__in=later, status=Status.HELD, attempts=0,
                                            hold_reason="breaker").count() == 3,
             timeout=60, message="later runs held by the breaker")
    # The failing runs' retries are held as well, with no attempt spent while open.
    wait_for(lambda: TaskRun.objects.filter(pk__in=failing, status=Status.HELD).count() == 4,
             timeout=60, message="retries held")
    # (Retries with no backoff may fail several times before the breaker trips, so some runs
    # have 2 attempts and some none.) No run was dead-lettered, and every attempt is a call
    # the breaker counted: none was spent while it was open.
    attempts = list(TaskRun.objects.filter(pk__in=failing).values_list("attempts", flat=True))
    assert max(attempts) < 5
    assert sum(attempts) == BreakerCall.objects.filter(breaker="demo-payments", failed=True).count()
    for run in TaskRun.objects.filter(pk__in=failing):
        run.cancel_waiting("test")
    breakers.force_close("demo-payments", reason="gateway back", actor="test")
    wait_for(lambda: TaskRun.objects.filter(pk__in=later, status=Status.SUCCEEDED).count() == 3,
             timeout=60, message="released runs to succeed")


def test_pause_holds_and_resume_releases(start_worker):
    start_worker()
    start_worker()
    pauses.pause("queue", "default", actor="test")
    ids = [sample_tasks.add.enqueue(i, i).id for i in range(5)]
    wait_for(lambda: TaskRun.objects.filter(pk__in=ids, status=Status.HELD, hold_key="queue:default").count() == 5,
             timeout=60, message="runs held by the pause")
    assert not TaskRun.objects.filter(pk__in=ids, attempts__gt=0).exists()
    pauses.resume("queue", "default", actor="test")
    wait_for(lambda: TaskRun.objects.filter(pk__in=ids, status=Status.SUCCEEDED).count() == 5,
             timeout=60, message="runs to succeed after resume")


def test_killed_worker_frees_its_slot(start_worker):
    start_worker(workers=2)
    start_worker(workers=2)
    ready = Path(tempfile.mkdtemp()) / "ready"
    ready.touch()
    holder = sample_tasks.one_per_account.enqueue(account=1, path=str(ready) + ".never")
    run = wait_for(lambda: TaskRun.objects.filter(pk=holder.id, status=Status.RUNNING).first(),
                   timeout=60, message="the slot holder to start")
    waiting = sample_tasks.one_per_account.enqueue(account=1, path=str(ready)).id
    wait_for(lambda: TaskRun.objects.filter(pk=waiting, status=Status.HELD).exists(),
             timeout=60, message="the second run to be held")
    os.kill(int(run.worker.rsplit(":", 1)[1]), signal.SIGKILL)
    wait_for(lambda: TaskRun.objects.filter(pk=waiting, status=Status.SUCCEEDED).exists(),
             timeout=60, message="the held run to start once the slot is freed")
    assert TaskRun.objects.get(pk=holder.id).status == Status.FAILED

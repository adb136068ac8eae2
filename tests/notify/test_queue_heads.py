"""``readmodels.queue_heads``: the alert rules' cheaper read of depth and oldest wait gives the
figures of ``queues.queue_stats`` (the one definition), whatever the mix of priorities,
delayed and retried runs; and ``queue_wait`` fires on the exact oldest wait."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from taskboard.models import Status
from taskboard.readmodels import queue_heads, queues
from tests.factories import make_run, make_worker
from tests.notify.conftest import at
from tests.notify.test_rules import firing, only

pytestmark = pytest.mark.django_db


def cheap_stats(now):
    """queue -> (depth, oldest wait) as the alert rules read them."""
    heads = queue_heads.queue_heads()
    oldest = queue_heads.oldest_ready({q: h.first_enqueued for q, h in heads.items() if h.first_enqueued})
    return {q: (h.depth, queues.wait_seconds(oldest.get(q), now)) for q, h in heads.items()}


def stats(now):
    return {q: (s.depth, s.oldest_wait_seconds) for q, s in queues.queue_stats(now).items()}


@pytest.mark.parametrize("seed", range(8))
def test_depth_and_oldest_wait_are_queue_stats_own(seed):
    rng = random.Random(seed)
    now = timezone.now()
    moments = [now - timedelta(minutes=m) for m in (1, 5, 30, 90, 600)]  # ties on purpose
    for _ in range(rng.randint(1, 25)):
        enqueued = rng.choice(moments)
        later = enqueued + timedelta(minutes=rng.randint(1, 700))  # delayed or retried: ready later
        run_after = rng.choice([None, None, enqueued - timedelta(minutes=1), later])
        make_run(Status.QUEUED, queue=rng.choice(["default", "reports", "mail"]), priority=rng.choice([-10, 0, 5]),
                 enqueued_at=enqueued, run_after=run_after)
    make_run(Status.SUCCEEDED, queue="reports", enqueued_at=now - timedelta(days=1))  # not queued: not counted
    assert cheap_stats(now) == stats(now)


def test_a_delayed_earliest_run_is_not_taken_for_the_oldest():
    now = timezone.now()
    make_run(Status.QUEUED, enqueued_at=now - timedelta(hours=2), run_after=now - timedelta(minutes=1))  # retried
    make_run(Status.QUEUED, enqueued_at=now - timedelta(minutes=20), priority=5)
    make_run(Status.QUEUED, enqueued_at=now - timedelta(minutes=10))
    assert cheap_stats(now)["default"] == (3, pytest.approx(1200, abs=1))


def test_a_queue_that_emptied_since_its_heads_were_read_is_left_out():
    run = make_run(Status.QUEUED, queue="reports", ago=600)
    heads = queue_heads.queue_heads()
    run.status = Status.SUCCEEDED
    run.save()
    assert queue_heads.oldest_ready({"reports": heads["reports"].first_enqueued}) == {}
    assert queue_heads.oldest_ready({}) == {}


def test_configured_queues_are_there_when_empty():
    assert queue_heads.queue_heads() == {"default": queue_heads.QueueHead(0, None)}


def test_queue_wait_fires_on_the_oldest_ready_run_not_the_earliest_enqueued(settings):
    only(settings, "queue_wait")
    make_worker()
    now = timezone.now()
    make_run(Status.QUEUED, enqueued_at=now - timedelta(hours=3), run_after=now - timedelta(seconds=30))
    make_run(Status.QUEUED, enqueued_at=now - timedelta(minutes=7))
    at(now)
    [alert] = firing("queue_wait").values()
    assert alert.count == 2
    assert alert.summary == "queue default: the oldest ready run has waited 7 min (SLO 5 min)"

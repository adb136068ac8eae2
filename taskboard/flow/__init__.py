"""Flow control: concurrency limits, rate limits, circuit breakers, pauses, priority —
decided against rows, so they hold with any number of worker hosts.

Modules: ``config`` (breaker and queue-limit settings, validated), ``keys`` (key templates),
``rates`` and ``circuit`` (pure: the rate window and the breaker state machine), ``locks``
(per-key serialisation), ``admission`` (claim or hold), ``release`` (held → queued),
``handoff`` (a finishing worker claims the next held run of its key), ``breakers`` and
``pauses`` (persisted state and the verbs operations call), ``status`` (read
functions for the surface). Imports ``models``, ``conf``, ``exceptions`` and ``transport``
(to push released runs); imported by ``backend``, ``execution``, ``service``, ``operations``
and ``readmodels``.

How a run starts
----------------
A run without constraints (no concurrency/rate key, no breaker, a queue without a global
limit) is claimed by the hot path's single conditional UPDATE, which also carries
``NOT EXISTS (pause of its queue or task)`` — no extra round trip. Every other run, and a plain
run that finds a pause, is handled by ``admission.claim_or_hold`` in one transaction: lock the
run's keys, re-read it, count, then claim it or hold it (``held``, reason/key/since; the
message is dropped; no attempt is consumed). A run is never failed or retried by flow control.

Why admission cannot over-admit
-------------------------------
* PostgreSQL: each constrained admission locks one ``FlowKey`` row per key it depends on
  (``SELECT … FOR UPDATE``, sorted, rows created with ``ON CONFLICT DO NOTHING``) *before*
  counting. Two admissions of the same key are therefore serial: the second one waits for the
  first to commit, and under READ COMMITTED its counting statements take a fresh snapshot
  after that, so they see the first one's ``running`` row (or its ``RateStart`` row, or its
  probe count on the ``Breaker`` row). The claim is in the same transaction as the count, so
  nothing can start between them. Leaving ``running`` only lowers a count, so it needs no
  lock for safety (release takes the lock only to avoid a lost wake-up, see below).
* SQLite: every admission is a write transaction, opened ``IMMEDIATE`` (the database write
  lock is taken at BEGIN) behind the writers' ``flock``; SQLite allows one writer at a time,
  so count-then-claim is atomic with respect to every other claim in every process.
* Any number of hosts: the state is only rows; nothing is cached in a process.

The slot is the row being ``running`` with its key: a worker killed while holding one frees it
when lease recovery (or the cluster's guard) records the attempt ``lost``; the clock's sweep
then releases the next held run. Decreasing ``running`` can never over-admit.

Release
-------
Held runs go back to ``queued`` (and are pushed), higher priority first, then oldest, as soon
as the obstacle goes: right after the outcome of a run with a concurrency key / limited queue /
breaker commits, in the worker that recorded it (slot reuse is one push + one claim), and in the
clock (``release.sweep``: rate windows, breakers moving on time, pauses lifted, lost slots),
which reads the distinct held obstacles from the ``run_held`` partial index (at most
``SWEEP_KEYS`` per tick) and does one bounded count per obstacle — an idle cluster with 10,000
runs held behind a few keys does a handful of indexed queries per second. A release locks the
key as admission does, so a hold committed concurrently is seen by the release or the hold saw
the freed slot. Released runs are admitted again when claimed (never over-admission; at worst a
re-hold). A queued run of a full key is not held at enqueue: it is held at its claim.

Slot hand-off (``handoff``): a cluster worker whose run freed a concurrency slot claims the
key's next held run for itself inside the release transaction (``held`` → ``running``, under the
key's lock, after counting the key's running and queued runs) when that run needs no other check
(no rate key, no breaker, not paused, the worker's queue, no queue limit), and runs it next: the
slot's idle time is one transaction instead of a push, a message and a second admission.

Circuit breakers (``circuit``): failure rate over a time window with a minimum number of calls;
only retryable, timeout and lost outcomes are failures — a permanent error means the dependency
answered and the task is wrong, so it counts as a successful call; a cancel is no call. The
window restarts on every transition. Open for ``open_for`` seconds, doubling on consecutive
trips up to ``max_open_for`` (default 32 × open_for, at most 1 h); then half-open, admitting
``half_open_probes`` runs; any failure re-opens, that many successes close and release. Calls
are written in the outcome's own transaction (the success path as statements riding on the
group commit). Forced open (by hand) stays open until closed by hand.

Priority
--------
Brokers are FIFO and clusters prefetch, so a message is treated as a *token* for its queue: the
hot path claims the queue's highest-priority queued run without constraints when its priority
is higher than the message's own run, else the message's run; a message whose run was already
taken claims the queue's best queued run. Every queued run still has exactly one message
standing for it, so counts are conserved and duplicates stay harmless. Bound: when a claim
happens, no unconstrained queued run of the queue has a higher priority than the one claimed —
prefetch does not defeat priority at all; the inversion is limited to runs already claimed
(at most one per worker process). Constrained runs are ordered by priority when released
(held → queued), not when claimed.
"""

"""Throughput benchmark of issue 2: taskboard against plain django-q2 on the same DB and broker.

    .venv/bin/python -m bench.throughput [--backend sqlite|postgres|both] [--n 5000]
                                         [--workers 2] [--json out.json]

For each configuration (SQLite + ORM broker; PostgreSQL + Redis), in one run and one process
tree, on one fresh database and broker:

1. taskboard: N ``taskboard.demo.noop.enqueue()`` with no worker running (enqueue runs/s,
   autocommit), then ``manage.py taskboard_worker --workers W`` drains them (drain tasks/s);
   with the pool idle, enqueue→start latency (p50/p95); then retry lateness of a task that
   fails once with a fixed 1.0 s backoff (p50/p95); then the worker is stopped, N runs are
   enqueued inside ``transaction.atomic()`` blocks (enqueue runs/s, atomic) and drained again.
2. plain django-q2, defaults: N ``async_task("bench.noop.noop")``, then ``manage.py qcluster``
   (in round 1 only with ``--rounds``: it slows down sharply when repeated on one database).
3. plain django-q2, tuned to its ceiling (save_limit=-1, no result rows, bulk dequeue, ...).
4. (reference) plain django-q2 tuned but keeping a result row per task (save_limit=0).

Drain is measured identically for all of them: a ``post_execute`` receiver (bench/apps.py) in
the cluster's monitor process marks the time each message is done (result saved, message
acknowledged); drain tasks/s = (N - 1) / (last mark - first mark), so cluster start-up is
excluded. taskboard's figure is also cross-checked from its own rows (first claim → last
finish) and every attempt row is counted.

Internally the command re-runs itself as one driver process per configuration (Django can be
set up once per process and the two configurations have different settings).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "bench" / "results"
PYTHON = sys.executable

# Environment variables that would silently change a contender's configuration.
_SCRUB = ("DATABASE_URL", "TASKBOARD_BROKER_URL", "TASKBOARD_SQLITE_PATH", "TASKBOARD_WORKERS",
          "Q_CLUSTER_NAME", "DJANGO_SETTINGS_MODULE", "BENCH_MARK_FILE", "BENCH_Q2_PROFILE",
          "BENCH_Q2_WORKERS")

CONFIG_TITLES = {
    "sqlite": "SQLite (WAL) + ORM broker",
    "postgres": "PostgreSQL + Redis broker",
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    data = sorted(values)
    k = (len(data) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


# --- processes ------------------------------------------------------------------------------


def _die_with_parent() -> None:
    # If the bench driver is killed outright, what it started gets SIGTERM.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Group:
    """A child started in its own session/process group, stopped by signalling that group."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self.log_file = open(log_path, "xb")  # noqa: SIM115 - closed in stop()
        self.started = time.time()
        self.proc = subprocess.Popen(
            argv, cwd=BASE_DIR, env=env, stdin=subprocess.DEVNULL, stdout=self.log_file,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent,
        )
        log(f"started {name} (pid/pgid {self.proc.pid}, log {log_path})")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, grace: float = 15.0) -> None:
        # taskboard_worker starts each cluster in a process group of its own: note those
        # groups now, to make sure they are gone after the stop.
        child_groups = descendant_groups(self.proc.pid) - {self.proc.pid}
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log(f"{self.name} did not stop within {grace:g}s; SIGKILL to its group")
        self._signal(signal.SIGKILL)  # whatever is left in the group (daemon children)
        self.proc.wait()
        self.log_file.close()
        deadline = time.monotonic() + 5.0
        while child_groups and time.monotonic() < deadline:
            child_groups = {g for g in child_groups if group_alive(g)}
            time.sleep(0.1)
        for pgid in child_groups:
            log(f"{self.name}: process group {pgid} it started outlived it; SIGKILL to it")
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _proc_stat(pid: int) -> tuple[int, int] | None:
    """(ppid, pgid) of a live process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[2])


def descendant_groups(root: int) -> set[int]:
    """Process groups of ``root`` and of all its descendants."""
    parents: dict[int, list[int]] = {}
    groups: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _proc_stat(int(entry.name))) is not None:
            parents.setdefault(st[0], []).append(int(entry.name))
            groups[int(entry.name)] = st[1]
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in groups:
            found.add(groups[pid])
        todo.extend(parents.get(pid, []))
    return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def token_processes(token: str) -> list[int]:
    """Pids of live processes carrying this run's BENCH_RUN_TOKEN (i.e. started by this run)."""
    found = []
    needle = f"BENCH_RUN_TOKEN={token}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def reap_token_processes(token: str, exclude: set[int]) -> list[int]:
    """Last resort: SIGKILL processes of this run that outlived their group's stop.

    (taskboard_worker puts each cluster in a process group of its own; it stops them itself
    on SIGTERM, so normally nothing is found here.)
    """
    leftover = [pid for pid in token_processes(token) if pid not in exclude]
    for pid in leftover:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return leftover


# --- completion marks -----------------------------------------------------------------------


class _Stalled(Exception):
    pass



def read_marks(path: Path) -> list[tuple[float, str, str, bool]]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    marks = []
    for line in text.splitlines():
        parts = line.split(" ")
        if len(parts) == 4:
            marks.append((float(parts[0]), parts[1], parts[2], parts[3] == "1"))
    return marks


def wait_for(what: str, done: Callable[[], bool], timeout: float, group: Group | None = None,
             interval: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if group is not None and not group.alive():
            raise RuntimeError(f"{group.name} exited with {group.proc.returncode} while waiting "
                               f"for {what}; see {group.log_path}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def drain_from_marks(marks: list[tuple[float, str, str, bool]], n: int,
                     names: set[str] | None, spawned: float) -> dict[str, Any]:
    """First completion of each wanted message → tasks/s between the first and the last."""
    first_seen: dict[str, float] = {}
    extra = 0
    for t, msg_id, name, _ok in marks:
        key = name if names is not None else msg_id
        if names is not None and name not in names:
            continue
        if key in first_seen:
            extra += 1  # a duplicate delivery (taskboard drops it at the claim)
            continue
        first_seen[key] = t
    times = sorted(first_seen.values())
    if len(times) < n:
        raise RuntimeError(f"only {len(times)} of {n} messages completed")
    span = times[-1] - times[0]
    return {
        "tasks": n,
        "seconds": span,
        "tasks_per_s": (n - 1) / span if span > 0 else math.inf,
        "startup_s": times[0] - spawned,
        "wall_tasks_per_s": n / (times[-1] - spawned),
        "duplicate_deliveries": extra,
    }


def enqueue_spaced(task: Any, samples: int, gap: float) -> list[str]:
    """Enqueue ``samples`` runs of ``task``, ``gap`` seconds apart (an idle pool's view)."""
    ids = []
    for _ in range(samples):
        ids.append(task.enqueue().id)
        time.sleep(gap)
    return ids


# --- the driver: one configuration, Django set up with bench.settings ----------------------


class Driver:
    def __init__(self, args: argparse.Namespace, base_env: dict[str, str], workdir: Path) -> None:
        self.args = args
        self.n = args.n
        self.workers = args.workers
        self.base_env = base_env
        self.workdir = workdir
        self.groups: list[Group] = []

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(self.base_env)
        env.update(extra)
        return env

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Group:
        group = Group(name, argv, env, self.workdir / f"{name}.log")
        self.groups.append(group)
        return group

    def stop(self, group: Group, grace: float = 15.0) -> None:
        group.stop(grace)
        self.groups.remove(group)
        log(f"stopped {group.name}")

    def stop_all(self) -> None:
        for group in list(self.groups):
            self.stop(group, grace=5.0)

    # --- taskboard --------------------------------------------------------------------------

    def start_taskboard(self, tag: str) -> tuple[Group, Path]:
        mark = self.workdir / f"marks-{tag}.txt"
        group = self.spawn(
            tag, [PYTHON, "manage.py", "taskboard_worker", "--workers", str(self.workers)],
            self.env(DJANGO_SETTINGS_MODULE=self.args.taskboard_settings, BENCH_MARK_FILE=str(mark)),
        )
        return group, mark

    def taskboard_drain(self, group: Group, mark: Path, run_ids: list[str]) -> dict[str, Any]:
        from django.db.models import Count, Max, Min, Q

        from taskboard.models import TaskAttempt, TaskRun

        names = {f"run-{run_id}" for run_id in run_ids}

        def finished() -> bool:
            return len({m[2] for m in read_marks(mark)} & names) >= len(names)

        wait_for("taskboard drain", finished, self.args.timeout, group)
        result = drain_from_marks(read_marks(mark), len(run_ids), names, group.started)
        runs = TaskRun.objects.filter(pk__in=run_ids)
        agg = runs.aggregate(first=Min("started_at"), last=Max("finished_at"),
                             ok=Count("pk", filter=Q(status="succeeded")))
        span = (agg["last"] - agg["first"]).total_seconds()
        attempts = TaskAttempt.objects.filter(run_id__in=run_ids)
        result.update({
            "db_first_claim_to_last_finish_s": span,
            "db_tasks_per_s": (len(run_ids) - 1) / span if span > 0 else math.inf,
            "runs_succeeded": agg["ok"],
            "attempt_rows": attempts.count(),
            "attempt_rows_succeeded": attempts.filter(outcome="succeeded").count(),
            "loadavg_1m_after": os.getloadavg()[0],
        })
        return result

    def latency(self, samples: int, gap: float) -> dict[str, Any]:
        from taskboard.demo import noop
        from taskboard.models import TaskRun

        ids = enqueue_spaced(noop, samples, gap)
        wait_for("latency runs", lambda: TaskRun.objects.filter(
            pk__in=ids, status="succeeded").count() == samples, 60)
        lat = [(s - e).total_seconds() for e, s in
               TaskRun.objects.filter(pk__in=ids).values_list("enqueued_at", "started_at")]
        return {"samples": samples, "gap_s": gap, "p50_ms": percentile(lat, 50) * 1000,
                "p95_ms": percentile(lat, 95) * 1000, "max_ms": max(lat) * 1000}

    def retry_lateness(self, samples: int, gap: float) -> dict[str, Any]:
        from bench.tasks import fail_once
        from taskboard.models import TaskAttempt, TaskRun

        ids = enqueue_spaced(fail_once, samples, gap)
        wait_for("retried runs", lambda: TaskRun.objects.filter(
            pk__in=ids, status__in=["succeeded", "failed"]).count() == samples, 120)
        runs = {str(r.pk): r for r in TaskRun.objects.filter(pk__in=ids)}
        first = {str(a.run_id): a for a in TaskAttempt.objects.filter(run_id__in=ids, number=1)}
        second = {str(a.run_id): a for a in TaskAttempt.objects.filter(run_id__in=ids, number=2)}
        late, late_vs_finish, delays = [], [], []
        for run_id, run in runs.items():
            a1, a2 = first.get(run_id), second.get(run_id)
            if a1 is None or a2 is None or run.run_after is None:
                continue
            # The due time settle_failure computed (now + 1.0 s backoff): attempt 1's
            # retry_at where the model has it, else the run's run_after (same value).
            # Attempt 2's started_at is its claim time.
            due = getattr(a1, "retry_at", None) or run.run_after
            late.append((a2.started_at - due).total_seconds())
            delays.append((due - a1.finished_at).total_seconds())
            late_vs_finish.append((a2.started_at - a1.finished_at).total_seconds() - 1.0)
        statuses = {s: TaskRun.objects.filter(pk__in=ids, status=s).count()
                    for s in ("succeeded", "failed")}
        return {
            "samples": len(late), "gap_s": gap, "backoff_s": 1.0, "statuses": statuses,
            "p50_ms": percentile(late, 50) * 1000, "p95_ms": percentile(late, 95) * 1000,
            "max_ms": max(late) * 1000, "min_ms": min(late) * 1000,
            "vs_attempt1_finish_plus_1s_p95_ms": percentile(late_vs_finish, 95) * 1000,
            "recorded_delay_p50_ms": percentile(delays, 50) * 1000,
        }

    def run_taskboard(self, tag: str, full: bool) -> dict[str, Any]:
        from django.db import transaction

        from taskboard.demo import noop

        out: dict[str, Any] = {}
        log(f"taskboard: enqueue {self.n} noop runs, one at a time (autocommit), no worker")
        began = time.perf_counter()
        ids = [noop.enqueue().id for _ in range(self.n)]
        seconds = time.perf_counter() - began
        out["enqueue_single"] = {"runs": self.n, "seconds": seconds, "runs_per_s": self.n / seconds}

        group, mark = self.start_taskboard(tag)
        try:
            out["drain"] = self.taskboard_drain(group, mark, ids)
            log(f"taskboard drain: {out['drain']['tasks_per_s']:.1f} tasks/s")
            if not full:
                return out
            time.sleep(1.0)  # let the pool go idle
            log(f"taskboard: enqueue→start latency, {self.args.latency_samples} samples")
            out["latency"] = self.latency(self.args.latency_samples, 0.05)
            log(f"taskboard: retry lateness, {self.args.retry_samples} runs failing once")
            out["retry"] = self.retry_lateness(self.args.retry_samples, 0.05)
        finally:
            self.stop(group)

        batch = self.args.atomic_batch
        log(f"taskboard: enqueue {self.n} noop runs in transaction.atomic() blocks of {batch}")
        ids = []
        began = time.perf_counter()
        for start in range(0, self.n, batch):
            with transaction.atomic():
                ids.extend(noop.enqueue().id for _ in range(min(batch, self.n - start)))
        seconds = time.perf_counter() - began
        out["enqueue_atomic"] = {"runs": self.n, "batch": batch, "seconds": seconds,
                                 "runs_per_s": self.n / seconds}
        group, mark = self.start_taskboard(f"{tag}-atomic")
        try:
            out["drain_2"] = self.taskboard_drain(group, mark, ids)
            log(f"taskboard drain (2nd batch): {out['drain_2']['tasks_per_s']:.1f} tasks/s")
        finally:
            self.stop(group)
        return out

    # --- plain django-q2 --------------------------------------------------------------------

    def run_q2(self, profile: str, tag: str) -> dict[str, Any]:
        env = self.env(DJANGO_SETTINGS_MODULE="bench.q2_plain_settings",
                       BENCH_Q2_PROFILE=profile, BENCH_Q2_WORKERS=str(self.workers))
        log(f"django-q2 {profile}: enqueue {self.n} async_task calls (subprocess)")
        done = subprocess.run([PYTHON, "-m", "bench.q2_enqueue", str(self.n)], cwd=BASE_DIR,
                              env=env, capture_output=True, text=True, timeout=self.args.timeout)
        if done.returncode != 0:
            raise RuntimeError(f"q2_enqueue failed:\n{done.stderr[-3000:]}")
        enq = json.loads(done.stdout.strip().splitlines()[-1])
        out: dict[str, Any] = {"enqueue": {"runs": enq["n"], "seconds": enq["seconds"],
                                           "runs_per_s": enq["n"] / enq["seconds"]}}
        out["settings"] = self.q2_settings(env)
        mark = self.workdir / f"marks-{tag}.txt"
        group = self.spawn(tag, [PYTHON, "manage.py", "qcluster"],
                           dict(env, BENCH_MARK_FILE=str(mark)))
        try:
            stalled = self.wait_for_marks(f"django-q2 {profile} drain", mark, group)
            if stalled is None:
                out["drain"] = drain_from_marks(read_marks(mark), self.n, None, group.started)
            else:
                out["drain"] = stalled
            time.sleep(0.5)
        finally:
            self.stop(group, grace=10.0)
        marks = read_marks(mark)
        out["drain"]["failed"] = sum(1 for m in marks if not m[3])
        out["drain"]["result_save_errors"] = group.log_path.read_text(
            errors="replace").count("Could not save task result")
        out["drain"]["left_in_broker"] = self.q2_left(env)
        out["drain"]["loadavg_1m_after"] = os.getloadavg()[0]
        log(f"django-q2 {profile} drain: {out['drain']['tasks_per_s']:.1f} tasks/s")
        return out

    def wait_for_marks(self, what: str, mark: Path, group: Group) -> dict[str, Any] | None:
        """Wait for N marks; None when they came. A contender that completes nothing for
        ``--stall`` seconds (plain django-q2 with its defaults jams now and then on SQLite)
        gives a partial sample instead of ending the whole benchmark."""
        last_count, last_change = 0, time.monotonic()

        def progressing() -> bool:
            nonlocal last_count, last_change
            count = len(read_marks(mark))
            if count != last_count:
                last_count, last_change = count, time.monotonic()
            if time.monotonic() - last_change > self.args.stall:
                raise _Stalled
            return count >= self.n

        try:
            wait_for(what, progressing, self.args.timeout, group)
            return None
        except _Stalled:
            marks = sorted(m[0] for m in read_marks(mark))
            span = marks[-1] - marks[0] if len(marks) > 1 else 0.0
            log(f"{what}: STALLED after {len(marks)} of {self.n} messages (nothing done for "
                f"{self.args.stall:g} s); counting the completed part only")
            return {"tasks": len(marks), "seconds": span, "stalled": True,
                    "tasks_per_s": (len(marks) - 1) / span if span > 0 else 0.0}

    def q2_settings(self, env: dict[str, str]) -> dict[str, Any]:
        code = ("import django,json;django.setup();from django.conf import settings;"
                "print(json.dumps(settings.Q_CLUSTER))")
        done = subprocess.run([PYTHON, "-c", code], cwd=BASE_DIR, env=env, capture_output=True,
                              text=True, timeout=60)
        return json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {}

    def q2_left(self, env: dict[str, str]) -> int | None:
        code = ("import django;django.setup();from django_q.brokers import get_broker;"
                "b=get_broker();print(b.queue_size() + (b.lock_size() or 0))")
        done = subprocess.run([PYTHON, "-c", code], cwd=BASE_DIR, env=env, capture_output=True,
                              text=True, timeout=60)
        try:
            return int(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return None

    def run(self) -> dict[str, Any]:
        import django

        django.setup()
        from django.db import connection

        result: dict[str, Any] = {
            "n": self.n, "workers": self.workers, "cpus": os.cpu_count(),
            "database": connection.vendor, "broker": "redis" if self.base_env.get(
                "TASKBOARD_BROKER_URL") else "orm", "loadavg_start": os.getloadavg(),
            "taskboard_settings": self.args.taskboard_settings,
        }
        rounds: dict[str, list[dict[str, Any]]] = {c: [] for c in self.args.contenders}
        try:
            for number in range(1, self.args.rounds + 1):
                for contender in self.args.contenders:
                    if contender == "q2-defaults" and number > 1:
                        # One round only: ~70 s per drain, and on a database that already
                        # holds its 250 pruned results it slows to a few tasks/s.
                        continue
                    tag = f"{contender}-r{number}"
                    if contender == "taskboard":
                        full = number == 1 and not self.args.drain_only
                        sample = self.run_taskboard(tag, full)
                    else:
                        sample = self.run_q2(contender.removeprefix("q2-"), tag)
                    connection.close()
                    rounds[contender].append(sample)
        finally:
            self.stop_all()
            connection.close()
        for contender, samples in rounds.items():
            # Round 1 carries the extras (enqueue, latency, retries); the headline drain is
            # the median over rounds, interleaved so that load from elsewhere hits all alike.
            drains = [s["drain"]["tasks_per_s"] for s in samples]
            result[contender] = dict(samples[0], drain_samples=drains,
                                     drain_tasks_per_s=statistics.median(drains),
                                     stalled_rounds=[n for n, s in enumerate(samples, 1)
                                                     if s["drain"].get("stalled")])
        if "taskboard" in result:
            tb = result["taskboard"]["drain_tasks_per_s"]
            for contender in ("q2-defaults", "q2-tuned", "q2-saveall"):
                if contender in result:
                    result[f"ratio_vs_{contender}"] = tb / result[contender]["drain_tasks_per_s"]
        return result


# --- the orchestrator: prepares each configuration and runs a driver for it ----------------


def prepare(backend: str, args: argparse.Namespace, workdir: Path, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(BENCH_RUN_TOKEN=token, TASKBOARD_WORKERS=str(args.workers), TASKBOARD_DEMO="0",
               DJANGO_SETTINGS_MODULE="bench.settings", PYTHONUNBUFFERED="1")
    if backend == "sqlite":
        path = workdir / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        env["TASKBOARD_SQLITE_PATH"] = str(path)
    else:
        import psycopg
        import redis

        with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.pg_db}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{args.pg_db}"')
        base = args.pg_admin_url.rsplit("/", 1)[0]
        env["DATABASE_URL"] = f"{base}/{args.pg_db}"
        redis.Redis.from_url(args.redis_url).flushdb()
        env["TASKBOARD_BROKER_URL"] = args.redis_url
    log(f"{backend}: migrate")
    done = subprocess.run([PYTHON, "manage.py", "migrate", "--noinput"], cwd=BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return env


def cleanup(backend: str, args: argparse.Namespace, workdir: Path) -> None:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{workdir / 'bench.sqlite3'}{suffix}").unlink(missing_ok=True)
        return
    import psycopg
    import redis

    try:
        with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.pg_db}" WITH (FORCE)')
    except Exception as exc:  # noqa: BLE001 - cleanup reports, never masks the result
        log(f"could not drop {args.pg_db}: {exc}")
    try:
        redis.Redis.from_url(args.redis_url).flushdb()
    except Exception as exc:  # noqa: BLE001
        log(f"could not flush {args.redis_url}: {exc}")


def run_config(backend: str, args: argparse.Namespace, workdir: Path, token: str) -> dict[str, Any]:
    workdir = workdir / backend  # marks and logs of one configuration only
    workdir.mkdir()
    env = prepare(backend, args, workdir, token)
    out = workdir / f"result-{backend}.json"
    argv = [PYTHON, "-m", "bench.throughput", "--driver", backend, "--driver-out", str(out),
            "--workdir", str(workdir)] + passthrough(args)
    try:
        driver = subprocess.run(argv, cwd=BASE_DIR, env=env, timeout=args.timeout * (3 * args.rounds + 3))
        if driver.returncode != 0:
            raise RuntimeError(f"{backend} driver exited with {driver.returncode}")
        return json.loads(out.read_text())
    finally:
        leftover = reap_token_processes(token, {os.getpid()})
        if leftover:
            log(f"killed {len(leftover)} leftover process(es) of this run: {leftover}")
        if not args.keep:
            cleanup(backend, args, workdir)


def passthrough(args: argparse.Namespace) -> list[str]:
    return ["--n", str(args.n), "--workers", str(args.workers), "--timeout", str(args.timeout),
            "--stall", str(args.stall),
            "--rounds", str(args.rounds), "--contenders", ",".join(args.contenders),
            "--taskboard-settings", args.taskboard_settings,
            *(["--drain-only"] if args.drain_only else []),
            "--latency-samples", str(args.latency_samples), "--retry-samples",
            str(args.retry_samples), "--atomic-batch", str(args.atomic_batch)]


# --- report ---------------------------------------------------------------------------------

LABELS = {"taskboard": "taskboard", "q2-defaults": "django-q2 defaults",
          "q2-tuned": "django-q2 tuned", "q2-saveall": "django-q2 tuned, all results kept"}


def _samples(c: dict[str, Any]) -> str:
    samples, stalled = c["drain_samples"], set(c.get("stalled_rounds", ()))
    if len(samples) < 2 and not stalled:
        return ""
    # "*": the round stalled; its rate counts only the messages completed before it did.
    return " [" + ", ".join(f"{x:.0f}{'*' if n in stalled else ''}" for n, x in enumerate(samples, 1)) + "]"


def format_report(backend: str, r: dict[str, Any]) -> str:
    rounds = max(len(r[c]["drain_samples"]) for c in LABELS if c in r)
    lines = [
        f"== {CONFIG_TITLES[backend]} — {r['n']} no-op tasks, {r['workers']} workers, "
        f"{r['cpus']} CPUs, load avg at start {r['loadavg_start'][0]:.1f} ==",
        "drain (tasks/s: first → last message done, seen by the cluster's monitor"
        + (f"; median of {rounds} interleaved rounds" if rounds > 1 else "") + ")",
    ]
    tb, qd, qt = r.get("taskboard"), r.get("q2-defaults"), r.get("q2-tuned")
    qs = r.get("q2-saveall")
    if tb:
        d = tb["drain"]
        lines.append(
            f"  taskboard                {tb['drain_tasks_per_s']:8.1f}{_samples(tb)}   (its rows: "
            f"first claim→last finish {d['db_tasks_per_s']:.1f}/s; attempt rows "
            f"{d['attempt_rows_succeeded']}/{d['tasks']}; duplicate deliveries "
            f"{d['duplicate_deliveries']})")
        if "drain_2" in tb:
            d2 = tb["drain_2"]
            lines.append(f"  taskboard, atomic batch  {d2['tasks_per_s']:8.1f}   (the runs enqueued "
                         f"in atomic blocks; attempt rows {d2['attempt_rows_succeeded']}/{d2['tasks']})")
    if qd:
        lines.append(
            f"  django-q2 defaults       {qd['drain_tasks_per_s']:8.1f}{_samples(qd)}   (result-save "
            f"errors {qd['drain']['result_save_errors']}, failed {qd['drain']['failed']}, "
            f"left in broker {qd['drain']['left_in_broker']})")
    if qt:
        lines.append(f"  django-q2 tuned          {qt['drain_tasks_per_s']:8.1f}{_samples(qt)}   "
                     f"({tuned_summary(qt['settings'])})")
    if qs:
        lines.append(f"  django-q2 tuned+results  {qs['drain_tasks_per_s']:8.1f}{_samples(qs)}   "
                     f"(reference: save_limit=0, a result row per task; save errors "
                     f"{qs['drain']['result_save_errors']})")
    if "ratio_vs_q2-defaults" in r:
        lines.append(f"  taskboard / q2 defaults  {r['ratio_vs_q2-defaults']:8.2f}x")
    if "ratio_vs_q2-tuned" in r:
        ratio = r["ratio_vs_q2-tuned"]
        lines.append(f"  taskboard / q2 tuned     {ratio:8.2f}x   target >= 0.80x: "
                     f"{'MET' if ratio >= 0.8 else 'MISSED'}")
    if "ratio_vs_q2-saveall" in r:
        lines.append(f"  taskboard / q2 tuned+results {r['ratio_vs_q2-saveall']:4.2f}x   (reference)")
    if any(r[c].get("stalled_rounds") for c in LABELS if c in r):
        lines.append("  * a round that stalled (nothing completed for --stall seconds): its rate "
                     "counts the messages completed before that")
    lines.append("enqueue (runs/s, one thread, no worker running)")
    if tb:
        lines.append(f"  taskboard noop.enqueue(), autocommit            "
                     f"{tb['enqueue_single']['runs_per_s']:8.1f}")
        if "enqueue_atomic" in tb:
            lines.append(f"  taskboard, transaction.atomic() blocks of {tb['enqueue_atomic']['batch']:<6d}"
                         f"{tb['enqueue_atomic']['runs_per_s']:8.1f}")
    if qd:
        lines.append(f"  django-q2 async_task (defaults)                 "
                     f"{qd['enqueue']['runs_per_s']:8.1f}")
    if qt:
        lines.append(f"  django-q2 async_task, reused broker (tuned)     "
                     f"{qt['enqueue']['runs_per_s']:8.1f}")
    if tb and "latency" in tb:
        lat, ret = tb["latency"], tb["retry"]
        lines.append(
            f"enqueue→start latency, idle pool ({lat['samples']} runs, {lat['gap_s'] * 1000:.0f} ms "
            f"apart): p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms, max {lat['max_ms']:.0f} ms")
        lines.append(
            f"retry lateness vs due time ({ret['samples']} runs, fixed 1.0 s backoff): "
            f"p50 {ret['p50_ms']:.0f} ms, p95 {ret['p95_ms']:.0f} ms, max {ret['max_ms']:.0f} ms; "
            f"target p95 <= 1 s: {'MET' if ret['p95_ms'] <= 1000 else 'MISSED'}")
    return "\n".join(lines)


def tuned_summary(settings: dict[str, Any]) -> str:
    keys = ("save_limit", "bulk", "queue_limit", "recycle", "poll")
    return ", ".join(f"{k}={settings[k]}" for k in keys if k in settings)


def results_tree_text(tree: dict[str, Any]) -> str:
    return tree["head"] + (f" + uncommitted {', '.join(tree['modified'])}" if tree["modified"] else "")


def source_tree() -> dict[str, Any]:
    """Which taskboard was measured: HEAD and the files that differ from it (read-only git)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=BASE_DIR, capture_output=True, text=True,
                                  timeout=20).stdout
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"head": git("rev-parse", "--short", "HEAD").strip(),
            "modified": [line[3:] for line in git("status", "--porcelain").splitlines()
                         if line[3:] and not line[3:].startswith("bench/")]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--n", type=int, default=5000, help="no-op tasks per contender")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", help="write raw results here (a bare name goes to bench/results/)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="drain every contender this many times, interleaved; report medians")
    parser.add_argument("--contenders", default="taskboard,q2-defaults,q2-tuned,q2-saveall",
                        help="comma list of taskboard, q2-defaults, q2-tuned, q2-saveall")
    parser.add_argument("--drain-only", action="store_true",
                        help="taskboard: skip the atomic enqueue, latency and retry measurements")
    parser.add_argument("--taskboard-settings", default="bench.settings",
                        help="DJANGO_SETTINGS_MODULE of taskboard's workers (to try a candidate)")
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--retry-samples", type=int, default=100)
    parser.add_argument("--atomic-batch", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds allowed for one drain")
    parser.add_argument("--stall", type=float, default=60.0,
                        help="plain django-q2: end a drain that completes nothing for this long")
    parser.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--pg-db", default="taskboard_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--keep", action="store_true",
                        help="keep the benchmark database (default: drop it; logs stay in the work directory)")
    parser.add_argument("--driver", help=argparse.SUPPRESS)
    parser.add_argument("--driver-out", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.n < 2 or args.workers < 1 or args.rounds < 1:
        parser.error("--n must be >= 2, --workers and --rounds >= 1")
    args.contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    if not args.contenders or set(args.contenders) - set(LABELS):
        parser.error(f"--contenders: choose from {', '.join(LABELS)}")

    if args.driver:  # internal: one configuration, in a process of its own
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        driver = Driver(args, dict(os.environ), Path(args.workdir))
        result = driver.run()
        Path(args.driver_out).write_text(json.dumps(result, indent=2, default=str))
        return 0

    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    workdir = Path(tempfile.mkdtemp(prefix="taskboard-bench-"))
    token = uuid.uuid4().hex
    log(f"work directory (logs, marks): {workdir}")
    log(f"taskboard source: {results_tree_text(source_tree())}")
    results: dict[str, Any] = {
        "command": "python -m bench.throughput " + " ".join(sys.argv[1:] if argv is None else argv),
        "tree": source_tree(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count(),
        "configurations": {},
    }
    reports = []
    for backend in backends:
        log(f"=== configuration: {CONFIG_TITLES[backend]} ===")
        r = run_config(backend, args, workdir, token)
        results["configurations"][backend] = r
        reports.append(format_report(backend, r))
        print("\n" + reports[-1] + "\n", flush=True)
    if len(reports) > 1:
        print("\n===== summary =====\n" + "\n\n".join(reports), flush=True)
    print(f"\ntaskboard source measured: {results_tree_text(results['tree'])}", flush=True)
    results["tree_at_end"] = source_tree()
    if results["tree_at_end"] != results["tree"]:
        log(f"WARNING: taskboard's source changed during the run: {results['tree']} -> "
            f"{results['tree_at_end']}")
    if args.json:
        path = Path(args.json)
        if path.parent == Path("."):
            RESULTS_DIR.mkdir(parents=True, exist_ok=True)
            path = RESULTS_DIR / path
        path.write_text(json.dumps(results, indent=2, default=str))
        log(f"raw results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

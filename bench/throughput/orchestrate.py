"""The orchestrator: a fresh database and broker per configuration, and one driver process
(``python -m bench.throughput --driver …``) that measures it."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from bench.throughput.children import reap_token_processes
from bench.throughput.common import BASE_DIR, PYTHON, log

# Environment variables that would silently change a contender's configuration.
_SCRUB = ("DATABASE_URL", "TASKBOARD_BROKER_URL", "TASKBOARD_SQLITE_PATH", "TASKBOARD_WORKERS",
          "Q_CLUSTER_NAME", "DJANGO_SETTINGS_MODULE", "BENCH_MARK_FILE", "BENCH_Q2_PROFILE",
          "BENCH_Q2_WORKERS")


def prepare(backend: str, args: argparse.Namespace, workdir: Path, token: str) -> dict[str, str]:
    """A migrated, empty database (and flushed broker); the environment of its processes."""
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
        result: dict[str, Any] = json.loads(out.read_text())
        return result
    finally:
        leftover = reap_token_processes(token, {os.getpid()})
        if leftover:
            log(f"killed {len(leftover)} leftover process(es) of this run: {leftover}")
        if not args.keep:
            cleanup(backend, args, workdir)


def passthrough(args: argparse.Namespace) -> list[str]:
    """The driver's arguments: the options that shape a measurement."""
    return ["--n", str(args.n), "--workers", str(args.workers), "--timeout", str(args.timeout),
            "--stall", str(args.stall),
            "--rounds", str(args.rounds), "--contenders", ",".join(args.contenders),
            "--taskboard-settings", args.taskboard_settings,
            *(["--drain-only"] if args.drain_only else []),
            "--latency-samples", str(args.latency_samples), "--retry-samples",
            str(args.retry_samples), "--atomic-batch", str(args.atomic_batch)]

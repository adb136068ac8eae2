"""One contender at a time: a fresh database and broker, its driver process
(``python -m bench.peers.child``), then everything it started is stopped and its database
dropped, its Redis database flushed — also when the driver failed."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from bench.peers.contenders import Spec
from bench.peers.marks import ENV
from bench.throughput.children import reap_token_processes
from bench.throughput.common import BASE_DIR, PYTHON, log
from bench.throughput.orchestrate import cleanup, prepare

# Variables that would silently point a contender elsewhere (or change its configuration).
_SCRUB_PREFIXES = ("DATABASE_URL", "TASKBOARD_", "DJANGO_SETTINGS_MODULE", "BENCH_", "Q_CLUSTER",
                   "CELERY", "PROCRASTINATE_")


def _throughput_args(spec: Spec, args: argparse.Namespace) -> argparse.Namespace:
    """What bench.throughput's prepare/cleanup read: its database, broker and worker count."""
    return argparse.Namespace(pg_admin_url=args.pg_admin_url, pg_db=spec.pg_db,
                              redis_url=_redis_url(spec, args), workers=args.workers)


def _redis_url(spec: Spec, args: argparse.Namespace) -> str:
    return f"{args.redis_base}/{spec.redis_db}"


def _pg_url(spec: Spec, args: argparse.Namespace) -> str:
    return f"{args.pg_admin_url.rsplit('/', 1)[0]}/{spec.pg_db}"


def _fresh(spec: Spec, args: argparse.Namespace) -> None:
    import psycopg
    import redis

    if spec.pg_db:
        with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{spec.pg_db}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{spec.pg_db}"')
    if spec.redis_db is not None:
        redis.Redis.from_url(_redis_url(spec, args)).flushdb()


def _drop(spec: Spec, args: argparse.Namespace) -> None:
    import psycopg
    import redis

    try:
        if spec.pg_db:
            with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{spec.pg_db}" WITH (FORCE)')
        if spec.redis_db is not None:
            redis.Redis.from_url(_redis_url(spec, args)).flushdb()
    except Exception as exc:  # noqa: BLE001 - cleanup reports, never masks the result
        log(f"{spec.name}: cleanup failed: {exc}")


def environment(spec: Spec, args: argparse.Namespace, workdir: Path, token: str) -> dict[str, str]:
    """The contender's fresh database and broker, and the environment of all its processes."""
    if spec.backend is not None:  # taskboard: bench.throughput's configuration, migrated
        env = prepare(spec.backend, _throughput_args(spec, args), workdir, token)
    else:
        _fresh(spec, args)
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB_PREFIXES)}
        env.update(BENCH_RUN_TOKEN=token, PYTHONUNBUFFERED="1")
        if spec.pg_db:
            env.update(DATABASE_URL=_pg_url(spec, args), BENCH_PEERS_PG_URL=_pg_url(spec, args),
                       DJANGO_SETTINGS_MODULE="bench.peers.settings_dtdb")
        if spec.redis_db is not None:
            env["BENCH_PEERS_CELERY_BROKER"] = _redis_url(spec, args)
    env[ENV] = str(workdir / "marks.txt")
    return env


def run_contender(spec: Spec, args: argparse.Namespace, workdir: Path, token: str) -> dict[str, Any]:
    workdir = workdir / spec.name  # its marks and its processes' logs
    workdir.mkdir()
    out = workdir / "result.json"
    try:
        env = environment(spec, args, workdir, token)
        argv = [PYTHON, "-m", "bench.peers.child", spec.name, "--out", str(out), "--workdir", str(workdir),
                "--n", str(args.n), "--workers", str(args.workers), "--latency-samples",
                str(args.latency_samples), "--bulk-size", str(args.bulk_size), "--timeout", str(args.timeout)]
        driver = subprocess.run(argv, cwd=BASE_DIR, env=env, timeout=args.timeout * 4 + 600)
        if driver.returncode != 0:
            raise RuntimeError(f"{spec.name}: driver exited with {driver.returncode} (logs in {workdir})")
        result: dict[str, Any] = json.loads(out.read_text())
        return result
    finally:
        leftover = reap_token_processes(token, {os.getpid()})
        if leftover:
            log(f"{spec.name}: killed {len(leftover)} leftover process(es): {leftover}")
        if spec.backend is not None:
            cleanup(spec.backend, _throughput_args(spec, args), workdir)
        else:
            _drop(spec, args)

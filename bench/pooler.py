"""The award benchmark through a transaction pooler: `badges serve` → PgBouncer → PostgreSQL.

What a deployment on Supabase's transaction pooler (port 6543) looks like, on one machine:
an embedded PostgreSQL (pgserver) in a temporary folder, migrated with the v1 catalog synced;
Debian's PgBouncer in transaction mode in front of it (tests/pgbouncer.py: installed when
missing and running as root); `badges serve` with WORKERS x THREADS whose DATABASE_URL is the
pooler, the client rate limit off. Then CLIENTS concurrent clients, each its own process with
one keep-alive connection, POST {"action": "award", "badge_id": "social_sharer"} with a
development JWT of a fresh user for every request (so every answer should say awarded: true)
for SECONDS, after an untimed warm-up. Everything is stopped and removed at the end.

Prints requests/s, p50/p99 latency and the errors (any non-200 answer or connection error),
then counts the social_sharer rows of badges.awards, which must equal the awarded: true
answers; exit status 1 when they differ or anything failed. --json PATH writes
{award_rps, p50_ms, p99_ms, errors, awards_in_db, awarded_answers, pool_mode,
default_pool_size, max_client_conn, workers, threads, …}.

    .venv/bin/python bench/pooler.py [--workers 2] [--threads 8] [--clients 16] [--seconds 10]
        [--db-pool-size 4] [--default-pool-size 8] [--max-client-conn 100] [--json PATH]
        [--quick]

--quick: 2 s with 8 clients and no warm-up, a seconds-long run for checks.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))  # for tests.pgbouncer, shared with the tests

import psycopg  # noqa: E402
from tests.pgbouncer import PgBouncer, Unavailable, free_port  # noqa: E402

from badges import devdb, devtokens  # noqa: E402
from badges.catalog import load_catalog  # noqa: E402
from badges.migrate import migrate  # noqa: E402
from badges.settings import DEV_JWT_SECRET, OPTIONAL_VARIABLES  # noqa: E402
from badges.store.db import BadgesDb  # noqa: E402
from badges.store.postgres import PostgresStore  # noqa: E402

PATH = "/functions/v1/badges"
AWARD = json.dumps({"action": "award", "badge_id": "social_sharer"}).encode()
# The developer's own settings must not change what is measured.
FOREIGN = (
    "DATABASE_URL",
    "BADGES_STORE",
    "SUPABASE_URL",
    "SUPABASE_SERVICE_ROLE_KEY",
    "SUPABASE_JWKS_URL",
    "SUPABASE_JWT_ISSUER",
    "BADGES_CATALOG",
    *OPTIONAL_VARIABLES.values(),
)


def client(port: int, start_at: float, deadline: float) -> dict[str, Any]:
    """One client process: awards of fresh users on a keep-alive connection until deadline."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    awarded = 0
    while time.monotonic() < start_at:
        time.sleep(0.001)
    while time.monotonic() < deadline:
        token = devtokens.user_token(uuid.uuid4(), DEV_JWT_SECRET)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        began = time.perf_counter()
        try:
            conn.request("POST", PATH, AWARD, headers)
            response = conn.getresponse()
            raw = response.read()
            status, key = response.status, answer_key(response.status, raw)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()  # an error; the next request reconnects
            status, raw, key = 0, b"", f"0 {type(exc).__name__}"  # "0 RemoteDisconnected"
        latencies.append(time.perf_counter() - began)
        statuses[key] += 1
        if status == 200:
            try:
                awarded += json.loads(raw).get("awarded") is True
            except (ValueError, AttributeError):
                statuses["200 unreadable"] += 1
    conn.close()
    return {"latencies": latencies, "statuses": statuses, "awarded": awarded}


def answer_key(status: int, raw: bytes) -> str:
    """How an answer is counted: "200", or an error with its code ("503 unavailable")."""
    if status == 200:
        return "200"
    try:
        return f"{status} {json.loads(raw)['error']['code']}"
    except (ValueError, KeyError, TypeError):
        return str(status)


def run_load(port: int, clients: int, seconds: float) -> dict[str, Any]:
    """CLIENTS processes for SECONDS; their answers merged."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    start_at = time.monotonic() + 0.5
    with context.Pool(clients) as pool:
        results = pool.starmap(client, [(port, start_at, start_at + seconds)] * clients)
    latencies = [x for r in results for x in r["latencies"]]
    statuses: Counter[str] = sum((r["statuses"] for r in results), Counter())
    return {
        "requests": len(latencies),
        "latencies": latencies,
        "statuses": statuses,
        "awarded": sum(r["awarded"] for r in results),
        "errors": sum(n for s, n in statuses.items() if s != "200"),
    }


def percentile(values: list[float], q: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0] * 1e3
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1e3


def serve(port: int, database_url: str, folder: Path, args: argparse.Namespace) -> Any:
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN}
    env.update(
        PORT=str(port),
        BADGES_HOST="127.0.0.1",
        BADGES_DATA_DIR=str(folder / "unused"),  # DATABASE_URL is set: no embedded database
        DATABASE_URL=database_url,
        WORKERS=str(args.workers),
        THREADS=str(args.threads),
        BADGES_DB_POOL_SIZE=str(args.db_pool_size),
        BADGES_RATE_LIMIT_PER_MINUTE="0",  # the figure is the function's, not the limiter's
        SUPABASE_JWT_SECRET=DEV_JWT_SECRET,
    )
    script = Path(sys.executable).with_name("badges")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "badges.cli"]
    log = folder / "serve.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([*command, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return proc
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    stop_serving(proc)
    raise RuntimeError("badges serve did not start: " + log.read_text(errors="replace")[-3000:])


def stop_serving(proc: Any) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def prepare(url: str) -> None:
    """Migrations and the v1 catalog, directly (not through the pooler: see the README)."""
    migrate(url)
    store = PostgresStore(url, pool_size=1)
    try:
        BadgesDb(store).sync_catalog(load_catalog().sync_payload())
    finally:
        store.close()


def awards_in_db(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "select count(*) from badges.awards where badge_id = 'social_sharer'"
        ).fetchone()
    return int(row[0]) if row else 0


def measure(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="badges-bench-pooler-"))
    server = devdb.start(folder / "pg", cleanup="delete")
    bouncer: PgBouncer | None = None
    proc = None
    try:
        direct = server.get_uri()
        prepare(direct)
        bouncer = PgBouncer(
            direct,
            default_pool_size=args.default_pool_size,
            max_client_conn=args.max_client_conn,
        ).start()
        port = free_port()
        proc = serve(port, direct if args.direct else bouncer.url(), folder, args)
        warmup: dict[str, Any] = {"errors": 0, "awarded": 0, "statuses": Counter()}
        if args.warmup > 0:
            warmup = run_load(port, args.clients, args.warmup)
        with bouncer.watch() as watch:
            load = run_load(port, args.clients, args.seconds)
        stop_serving(proc)
        in_db = awards_in_db(direct)
        settings = bouncer.settings()
        log = (folder / "serve.log").read_text(errors="replace")
    finally:
        if proc is not None:
            stop_serving(proc)
        if bouncer is not None:
            bouncer.stop()
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "award_rps": round(load["requests"] / args.seconds, 1),
        "p50_ms": round(percentile(load["latencies"], 50), 2),
        "p99_ms": round(percentile(load["latencies"], 99), 2),
        "errors": load["errors"] + warmup["errors"],
        "awards_in_db": in_db,
        "awarded_answers": load["awarded"] + warmup["awarded"],
        "pool_mode": "none (direct)" if args.direct else settings["pool_mode"],
        "default_pool_size": settings["default_pool_size"],
        "max_client_conn": settings["max_client_conn"],
        "query_wait_timeout_s": settings["query_wait_timeout"],
        "workers": args.workers,
        "threads": args.threads,
        "db_pool_size_per_worker": args.db_pool_size,
        **(dict.fromkeys(watch.figures()) if args.direct else watch.figures()),
        "clients": args.clients,
        "seconds": args.seconds,
        "requests": load["requests"],
        "statuses": dict(load["statuses"] + warmup["statuses"]),
        "cpus": os.cpu_count(),
        # What the server logged (warnings and errors), when anything failed: for the diagnosis.
        "server_log_tail": log[-3000:] if load["errors"] + warmup["errors"] else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="WORKERS of badges serve")
    parser.add_argument("--threads", type=int, default=8, help="THREADS per worker")
    parser.add_argument(
        "--db-pool-size", type=int, default=4, help="BADGES_DB_POOL_SIZE, per worker"
    )
    parser.add_argument(
        "--default-pool-size",
        type=int,
        default=8,
        help="PgBouncer's server connections for the database",
    )
    parser.add_argument("--max-client-conn", type=int, default=100, help="PgBouncer's clients")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds, not timed")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--quick", action="store_true", help="2 s, 8 clients, no warm-up")
    parser.add_argument(
        "--direct", action="store_true", help="the same run without the pooler, to compare"
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.clients, args.warmup = 2.0, 8, 0.0

    print(
        (
            "award without a pooler (--direct):"
            if args.direct
            else "award through PgBouncer (transaction mode, default_pool_size "
            f"{args.default_pool_size}):"
        )
        + f" {args.workers} worker(s) x {args.threads} threads, BADGES_DB_POOL_SIZE "
        f"{args.db_pool_size}, {args.clients} clients for {args.seconds:g} s; "
        f"{os.cpu_count()} cores shared by clients, server, pooler and database",
        flush=True,
    )
    try:
        figures = measure(args)
    except Unavailable as exc:
        print(f"pooler benchmark not run: {exc}", file=sys.stderr)
        sys.exit(2)
    ok = figures["errors"] == 0 and figures["awards_in_db"] == figures["awarded_answers"]
    print(
        f"award {figures['award_rps']:.0f} req/s (p50 {figures['p50_ms']:.1f} ms, p99 "
        f"{figures['p99_ms']:.1f} ms); errors {figures['errors']}; awards in the database "
        f"{figures['awards_in_db']}, awarded answers {figures['awarded_answers']}: "
        f"{'consistent' if ok else 'MISMATCH'}"
        + (f" (answers: {figures['statuses']})" if figures["errors"] else "")
        + (
            ""
            if args.direct
            else f"; server connections at most {figures['server_connections_max']} for up to "
            f"{figures['pooler_clients_max']} pooler clients (longest wait for one "
            f"{figures['pooler_wait_max_ms']:.1f} ms)"
        )
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if figures["server_log_tail"]:  # why the errors happened, for whoever reads the output
        print("server log, last lines:\n" + figures["server_log_tail"], file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

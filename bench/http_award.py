"""`award` against the CORS preflight on the same server: requests/s, latency, the ratio.

Starts `badges serve` (the venv's `badges` console script) on its own embedded database in a
temporary folder, removed at the end, with the client rate limit off
(BADGES_RATE_LIMIT_PER_MINUTE=0) and the given WORKERS x THREADS (unset: what `badges serve`
chooses). Then CLIENTS concurrent clients, each its own process (multiprocessing: the load does
not share a GIL) with one keep-alive http.client connection, alternate two phases for ROUNDS
rounds of SECONDS each:

  options  OPTIONS /functions/v1/badges: the CORS preflight, answered 204 without the database
  award    POST {"action": "award", "badge_id": "social_sharer"} with a development JWT of a
           fresh user for every request (tokens minted between rounds), so every answer is a
           new award (awarded: true)

Prints requests/s (median over rounds) and p50/p99 latency per phase, the ratio award/options
and the errors (any non-2xx answer or connection error); then counts the social_sharer rows of
badges.awards, which must equal the answers that said awarded: true.

Also where the CPU went, per phase (medians over rounds): the CPU time (user + system) per
request of the server (gunicorn's arbiter and workers), of its database (the postmaster and
every process under it, reaped ones included) and of the clients, and how many of the machine's
cores were busy. On 2 cores they say which of the three bounds a phase: a preflight is bound by
one worker's interpreter, an award by the cores the three share.

    .venv/bin/python bench/http_award.py [--workers W] [--threads T] [--clients 16]
        [--seconds 10] [--rounds 3] [--json PATH] [--quick]

--quick: 1 round of 1 s with 4 clients, for the test that runs the script.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import serving

from badges import devtokens
from badges.settings import DEV_JWT_SECRET

PHASES = ("options", "award")
AWARD_BODY = json.dumps({"action": "award", "badge_id": "social_sharer"}).encode()
PREFLIGHT = {
    "Origin": "http://localhost:3000",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}
# The states of psutil.cpu_times() in which a core works (Linux names; absent ones count 0).
BUSY_STATES = ("user", "nice", "system", "irq", "softirq", "steal")
CLIENT = "python http.client, one process (multiprocessing) and keep-alive connection per client"


@dataclass
class Tally:
    """What the clients saw in one phase of one round (or in a warm-up)."""

    phase: str
    count: int = 0
    errors: int = 0
    awarded: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    started: float = math.inf
    ended: float = 0.0

    def merge(self, other: Tally) -> None:
        self.count += other.count
        self.errors += other.errors
        self.awarded += other.awarded
        self.latencies += other.latencies
        self.statuses.update(other.statuses)
        self.started = min(self.started, other.started)
        self.ended = max(self.ended, other.ended)

    @property
    def rate(self) -> float:
        wall = self.ended - self.started
        return self.count / wall if wall > 0 else 0.0


class Client:
    """One client process: a keep-alive connection and a stock of fresh users' tokens."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.tokens: list[str] = []

    def mint(self, count: int) -> None:
        while len(self.tokens) < count:
            self.tokens.append(devtokens.user_token(uuid.uuid4(), DEV_JWT_SECRET))

    def run(self, phase: str, start_at: float, deadline: float) -> Tally:
        tally = Tally(phase)
        # A new connection for each phase: the server closes a keep-alive connection left idle
        # (gunicorn's keepalive, 2 s), which would fail the first request of the next phase.
        self.conn.close()
        while time.monotonic() < start_at:
            time.sleep(0.001)
        tally.started = time.monotonic()
        while time.monotonic() < deadline:
            began = time.perf_counter()
            status, awarded = self.options() if phase == "options" else self.award()
            tally.latencies.append(time.perf_counter() - began)
            tally.count += 1
            tally.statuses[str(status)] += 1
            tally.errors += not 200 <= status < 300
            tally.awarded += awarded
        tally.ended = time.monotonic()
        return tally

    def options(self) -> tuple[int, bool]:
        return self.send("OPTIONS", None, PREFLIGHT)[0], False

    def award(self) -> tuple[int, bool]:
        if not self.tokens:
            self.mint(1)  # the stock ran out: mint inside the timed loop
        headers = {
            "Authorization": f"Bearer {self.tokens.pop()}",
            "Content-Type": "application/json",
        }
        status, raw = self.send("POST", AWARD_BODY, headers)
        if status != 200:
            return status, False
        try:
            return status, json.loads(raw).get("awarded") is True
        except (ValueError, AttributeError):
            return status, False

    def send(self, method: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        try:
            self.conn.request(method, serving.PATH, body, headers)
            response = self.conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # counted as an error; the next request reconnects
            return 0, b""


@dataclass(frozen=True)
class CpuReading:
    """Cumulative CPU seconds (user + system) of each group, and of the whole machine."""

    at: float
    server: float
    database: float
    clients: float
    machine_busy: float


class Meter:
    """Reads the CPU time of the server, its database and the clients (psutil, which comes with
    pgserver). A group's time is that of its live processes, plus, for the database, what the
    postmaster has reaped (a backend or autovacuum worker that ended during a phase)."""

    def __init__(self, server: subprocess.Popen[bytes], database: int, clients: list[int]) -> None:
        import psutil

        self._psutil = psutil
        self.proc = server  # its workers, looked up at each reading (gunicorn may restart one)
        self.server = psutil.Process(server.pid)
        self.postmaster = psutil.Process(database)
        self.clients = [psutil.Process(pid) for pid in clients]

    def read(self) -> CpuReading:
        machine = self._psutil.cpu_times()
        reaped = self.postmaster.cpu_times()
        return CpuReading(
            at=time.monotonic(),
            server=self._live([self.server, *self._workers()]),
            database=self._live([self.postmaster, *self.postmaster.children(recursive=True)])
            + reaped.children_user
            + reaped.children_system,
            clients=self._live(self.clients),
            # guest time is already in user: the busy states, not sum(machine)
            machine_busy=sum(getattr(machine, state, 0.0) for state in BUSY_STATES),
        )

    def _workers(self) -> list[Any]:
        return [self._psutil.Process(pid) for pid in serving.workers_of(self.proc)]

    def _live(self, processes: list[Any]) -> float:
        total = 0.0
        for process in processes:
            try:
                times = process.cpu_times()
            except self._psutil.NoSuchProcess:
                continue  # ended: its time is its parent's children_* (counted for the database)
            total += times.user + times.system
        return total


@dataclass(frozen=True)
class CpuUse:
    """One phase of one round: CPU milliseconds per request of each group, cores busy."""

    server_ms: float
    database_ms: float
    clients_ms: float
    cores_busy: float

    @classmethod
    def between(cls, before: CpuReading, after: CpuReading, requests: int) -> CpuUse:
        per = 1e3 / max(requests, 1)
        return cls(
            server_ms=(after.server - before.server) * per,
            database_ms=(after.database - before.database) * per,
            clients_ms=(after.clients - before.clients) * per,
            cores_busy=(after.machine_busy - before.machine_busy) / max(after.at - before.at, 1e-9),
        )


def cpu_medians(uses: list[CpuUse]) -> dict[str, float]:
    return {
        name: round(statistics.median(getattr(use, name) for use in uses), 3)
        for name in ("server_ms", "database_ms", "clients_ms", "cores_busy")
    }


def client_process(port: int, pipe: Connection) -> None:
    """Serve the coordinator's commands: ("mint", n), ("run", phase, start, deadline), None."""
    client = Client(port)
    while (command := pipe.recv()) is not None:
        if command[0] == "mint":
            client.mint(command[1])
            pipe.send("ready")
        else:
            pipe.send(client.run(*command[1:]))
    client.conn.close()


class Load:
    """The client processes and the phases they run together."""

    def __init__(self, port: int, clients: int) -> None:
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.pipes: list[Connection] = []
        self.processes = []
        for _ in range(clients):
            ours, theirs = context.Pipe()
            process = context.Process(target=client_process, args=(port, theirs), daemon=True)
            process.start()
            self.pipes.append(ours)
            self.processes.append(process)

    def mint(self, per_client: int) -> None:
        for pipe in self.pipes:
            pipe.send(("mint", per_client))
        for pipe in self.pipes:
            pipe.recv()

    def run(self, phase: str, seconds: float) -> Tally:
        start_at = time.monotonic() + 0.1
        for pipe in self.pipes:
            pipe.send(("run", phase, start_at, start_at + seconds))
        total = Tally(phase)
        for pipe in self.pipes:
            total.merge(pipe.recv())
        return total

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send(None)
        for process in self.processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile in milliseconds (0 without values)."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0] * 1e3
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1e3


def awards_in_db(folder: Path) -> int:
    import psycopg

    url = serving.database_url(folder)
    if url is None:
        raise RuntimeError("the embedded database is not running")
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "select count(*) from badges.awards where badge_id = 'social_sharer'"
        ).fetchone()
    return int(row[0]) if row else 0


def concurrency(workers: int | None, threads: int | None) -> tuple[int, int]:
    """What the server runs with: the given values, else `badges serve`'s defaults."""
    if workers is not None and threads is not None:
        return workers, threads
    from badges.cli import serve_concurrency

    env = {k: str(v) for k, v in (("WORKERS", workers), ("THREADS", threads)) if v is not None}
    return serve_concurrency(env)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="badges-bench-award-"))
    port = serving.free_port()
    workers, threads = concurrency(args.workers, args.threads)
    proc = serving.serve(port, folder, workers, threads)
    load = Load(port, args.clients)
    meter = Meter(proc, serving.postmaster_pid(folder), [p.pid or 0 for p in load.processes])
    try:
        rounds: dict[str, list[Tally]] = {phase: [] for phase in PHASES}
        cpu: dict[str, list[CpuUse]] = {phase: [] for phase in PHASES}
        warmup = Tally("award")
        if args.warmup > 0:  # connections, the database pool, caches: not timed
            load.run("options", args.warmup)
            load.mint(50)
            warmup.merge(load.run("award", args.warmup))
        stock = 50
        for number in range(1, args.rounds + 1):
            for phase in PHASES:
                if phase == "award":
                    load.mint(stock)
                before = meter.read()
                tally = load.run(phase, args.seconds)
                use = CpuUse.between(before, meter.read(), tally.count)
                rounds[phase].append(tally)
                cpu[phase].append(use)
                if phase == "award":
                    stock = math.ceil(1.5 * tally.count / args.clients) + 10
                print(
                    f"  round {number} {phase:<7} {tally.rate:8.0f} req/s  "
                    f"p50 {percentile(tally.latencies, 50):6.1f} ms  "
                    f"p99 {percentile(tally.latencies, 99):6.1f} ms  errors {tally.errors}  "
                    f"CPU per request: server {use.server_ms:.2f} ms, database "
                    f"{use.database_ms:.2f} ms, clients {use.clients_ms:.2f} ms; "
                    f"{use.cores_busy:.2f} cores busy",
                    flush=True,
                )
    finally:
        load.close()
        try:
            in_db = awards_in_db(folder)
        finally:
            serving.stop(proc, folder)

    merged = {phase: Tally(phase) for phase in PHASES}
    for phase in PHASES:
        for tally in rounds[phase]:
            merged[phase].merge(tally)
    rps = {phase: statistics.median(t.rate for t in rounds[phase]) for phase in PHASES}
    return {
        "options_rps": round(rps["options"], 1),
        "award_rps": round(rps["award"], 1),
        "ratio": round(rps["award"] / rps["options"], 3) if rps["options"] else 0.0,
        "options_p50_ms": round(percentile(merged["options"].latencies, 50), 2),
        "options_p99_ms": round(percentile(merged["options"].latencies, 99), 2),
        "award_p50_ms": round(percentile(merged["award"].latencies, 50), 2),
        "award_p99_ms": round(percentile(merged["award"].latencies, 99), 2),
        "errors": merged["options"].errors + merged["award"].errors + warmup.errors,
        "awards_in_db": in_db,
        "awarded_answers": merged["award"].awarded + warmup.awarded,
        "workers": workers,
        "threads": threads,
        "client": f"{CLIENT}; {args.clients} clients",
        "clients": args.clients,
        "rounds": args.rounds,
        "seconds": args.seconds,
        "cpus": os.cpu_count(),
        "options_rps_rounds": [round(t.rate, 1) for t in rounds["options"]],
        "award_rps_rounds": [round(t.rate, 1) for t in rounds["award"]],
        "statuses": dict(merged["options"].statuses + merged["award"].statuses + warmup.statuses),
        "cpu": {phase: cpu_medians(cpu[phase]) for phase in PHASES},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, help="WORKERS (default: badges serve's choice)")
    parser.add_argument("--threads", type=int, help="THREADS (default: badges serve's choice)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds per phase, not timed")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--quick", action="store_true", help="1 round of 1 s, 4 clients")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.clients, args.warmup = 1, 1.0, 4, 0.0

    print(
        f"award vs OPTIONS on `badges serve`: {args.clients} clients, {args.rounds} rounds of "
        f"{args.seconds:g} s per phase; {os.cpu_count()} cores shared by clients, server and "
        "database",
        flush=True,
    )
    figures = measure(args)
    ok = figures["errors"] == 0 and figures["awards_in_db"] == figures["awarded_answers"]
    print(
        f"{figures['workers']} worker(s) x {figures['threads']} threads, client: "
        f"{figures['client']}\n"
        f"options {figures['options_rps']:.0f} req/s (p50 {figures['options_p50_ms']:.1f} ms, "
        f"p99 {figures['options_p99_ms']:.1f} ms); award {figures['award_rps']:.0f} req/s "
        f"(p50 {figures['award_p50_ms']:.1f} ms, p99 {figures['award_p99_ms']:.1f} ms); "
        f"award/options {figures['ratio']:.2f}; errors {figures['errors']}; "
        f"awards in the database {figures['awards_in_db']}, awarded answers "
        f"{figures['awarded_answers']}: {'consistent' if ok else 'MISMATCH'}"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

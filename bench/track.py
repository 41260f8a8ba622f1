"""`track` throughput (events/s) of the served function over loopback HTTP, with a read-back.

Starts `badges serve` with the Dev-Space catalog on its own embedded database (a temporary
folder, removed at the end) with the client rate limit off (BADGES_RATE_LIMIT_PER_MINUTE=0), so
the figure is the engine's and not the limit's, unless --url points at a running server. Then
two phases of concurrent clients on keep-alive connections:

  user     each client its own user token, tracking `interaction` (user-trackable) for itself
  service  a service token tracking `project_created` for users drawn from a pool, each event
           with an idempotency key; a share of the calls resend an accepted key (a retry),
           which must answer duplicate=true and count nothing

Prints events/s, latency percentiles, errors and the badges awarded per phase, then reads the
state back (level_status and list over HTTP; the database itself when this script started the
server) and checks it against what the answers said.

    .venv/bin/python bench/track.py [--clients 16] [--requests 4000] [--phase both] [--url …]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from badges import devtokens
from badges.catalog import CATALOGS_DIR
from badges.settings import DEV_JWT_SECRET

DEVSPACE = CATALOGS_DIR / "devspace.toml"
PATH = "/functions/v1/badges"
USER_METRIC = "interaction"
SERVICE_METRIC = "project_created"
# The levels whose steps show the two metrics' totals (Dev-Space catalog).
LEVEL_FOR = {USER_METRIC: "regular", SERVICE_METRIC: "newcomer"}


class Connection(http.client.HTTPConnection):
    """A keep-alive HTTP/1.1 connection that counts how often it had to (re)connect."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit(f"{url}: this benchmark talks to loopback addresses only")
        super().__init__(parts.hostname, parts.port, timeout=timeout)
        self.opened = 0

    def connect(self) -> None:
        self.opened += 1
        super().connect()

    def post(self, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            self.request("POST", PATH, json.dumps(body), headers)
            response = self.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.close()  # the next request opens a new connection
            return 0, {}
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = {}
        return response.status, answer if isinstance(answer, dict) else {}


@dataclass
class Phase:
    """What the clients of one phase saw, merged under a lock."""

    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    awarded: Counter[uuid.UUID] = field(default_factory=Counter)
    awarded_ids: Counter[str] = field(default_factory=Counter)
    accepted: dict[uuid.UUID, set[str]] = field(default_factory=lambda: defaultdict(set))
    counted: Counter[uuid.UUID] = field(default_factory=Counter)  # events the answers counted
    duplicates: int = 0
    retries: int = 0
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != "200")


def user_client(url: str, count: int, deadline: float, phase: Phase, timeout: float) -> None:
    """One user tracking USER_METRIC for itself, `count` times, without idempotency keys."""
    user = uuid.uuid4()
    token = devtokens.user_token(user, DEV_JWT_SECRET)
    conn = Connection(url, timeout)
    body = {"action": "track", "metric": USER_METRIC}
    with phase.lock:
        phase.counted[user] += 0  # a client whose every call failed still gets read back
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        start = time.perf_counter()
        status, answer = conn.post(token, body)
        elapsed = time.perf_counter() - start
        with phase.lock:
            phase.latencies.append(elapsed)
            phase.statuses[str(status)] += 1
            if status == 200:
                phase.counted[user] += 1
                phase.awarded[user] += len(answer.get("awarded", []))
                phase.awarded_ids.update(answer.get("awarded", []))
    conn.close()
    with phase.lock:
        phase.connections += conn.opened


def service_client(
    url: str,
    count: int,
    deadline: float,
    phase: Phase,
    timeout: float,
    pool: list[uuid.UUID],
    retry_share: float,
) -> None:
    """A service tracking SERVICE_METRIC for random users of `pool`, each event keyed; a share
    of the calls resend an accepted (user, key) pair, as a client retrying after a lost answer."""
    token = devtokens.service_token(DEV_JWT_SECRET)
    conn = Connection(url, timeout)
    sent: list[tuple[uuid.UUID, str]] = []
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        retry = bool(sent) and random.random() < retry_share
        user, key = random.choice(sent) if retry else (random.choice(pool), uuid.uuid4().hex)
        body = {
            "action": "track",
            "metric": SERVICE_METRIC,
            "user_id": str(user),
            "idempotency_key": f"bench:{key}",
        }
        start = time.perf_counter()
        status, answer = conn.post(token, body)
        elapsed = time.perf_counter() - start
        with phase.lock:
            phase.latencies.append(elapsed)
            phase.statuses[str(status)] += 1
            phase.retries += retry
            if status != 200:
                continue
            if answer.get("duplicate"):
                phase.duplicates += 1
            else:
                phase.counted[user] += 1
                phase.awarded[user] += len(answer.get("awarded", []))
                phase.awarded_ids.update(answer.get("awarded", []))
            phase.accepted[user].add(key)
        if not retry:
            sent.append((user, key))
    conn.close()
    with phase.lock:
        phase.connections += conn.opened


def run_phase(
    name: str, url: str, args: argparse.Namespace, pool: list[uuid.UUID]
) -> tuple[Phase, float]:
    phase = Phase(name)
    deadline = time.monotonic() + args.max_seconds
    shares = [
        args.requests // args.clients + (i < args.requests % args.clients)
        for i in range(args.clients)
    ]
    threads = []
    for share in shares:
        if name == "user":
            target_args: tuple[Any, ...] = (url, share, deadline, phase, args.timeout)
            threads.append(threading.Thread(target=user_client, args=target_args))
        else:
            target_args = (url, share, deadline, phase, args.timeout, pool, args.retry_share)
            threads.append(threading.Thread(target=service_client, args=target_args))
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return phase, time.perf_counter() - start


def report(phase: Phase, wall: float, clients: int, args: argparse.Namespace) -> None:
    total = len(phase.latencies)
    print(
        f"  {total} requests from {clients} clients in {wall:.2f} s: {total / wall:.0f} req/s, "
        f"{sum(phase.counted.values()) / wall:.0f} events/s counted"
    )
    if total < args.requests:
        print(f"  stopped at --max-seconds {args.max_seconds}: {args.requests - total} not sent")
    lat = sorted(phase.latencies)
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else lat * 99
    print(f"  latency ms: p50 {q[49] * 1e3:.1f}  p95 {q[94] * 1e3:.1f}  p99 {q[98] * 1e3:.1f}")
    breakdown = ", ".join(f"{s or 'no answer'}: {n}" for s, n in sorted(phase.statuses.items()))
    print(f"  errors: {phase.errors}  (statuses {breakdown})")
    print(f"  connections opened: {phase.connections} (keep-alive: one per client unless dropped)")
    if phase.name == "service":
        print(
            f"  retries (resent keys): {phase.retries}, answered duplicate: {phase.duplicates}, "
            f"events counted: {sum(phase.counted.values())}"
        )
    ids = ", ".join(f"{b} {n}" for b, n in sorted(phase.awarded_ids.items())) or "none"
    print(f"  badges awarded during the run: {sum(phase.awarded.values())} ({ids})")


def thresholds(url: str, metric: str, timeout: float) -> dict[str, int]:
    """The visible metric badges of `metric` and their thresholds, from the `catalog` action."""
    conn = Connection(url, timeout)
    status, answer = conn.post(devtokens.service_token(DEV_JWT_SECRET), {"action": "catalog"})
    conn.close()
    if status != 200:
        raise SystemExit(f"catalog answered {status}: {answer}")
    return {
        b["id"]: b["threshold"]
        for b in answer["badges"]
        if b["rule"] == "metric" and b["metric"] == metric
    }


def read_back(url: str, phase: Phase, metric: str, timeout: float) -> bool:
    """Each user's total from level_status and metric badges from list, over HTTP, against the
    events the answers counted and the badges they said were awarded."""
    service = devtokens.service_token(DEV_JWT_SECRET)
    goals = thresholds(url, metric, timeout)
    conn = Connection(url, timeout)
    bad: list[str] = []
    for user, counted in phase.counted.items():
        expected = counted if phase.name == "user" else len(phase.accepted[user])
        status, status_answer = conn.post(
            service, {"action": "level_status", "level": LEVEL_FOR[metric], "user_id": str(user)}
        )
        steps = {s["metric"]: s["current"] for s in status_answer.get("steps", [])}
        status2, listed = conn.post(service, {"action": "list", "user_id": str(user)})
        earned = {b["id"] for b in listed.get("badges", []) if b["earned"] and b["id"] in goals}
        due = {b for b, t in goals.items() if t <= expected}
        if status != 200 or status2 != 200:
            bad.append(f"{user}: level_status {status}, list {status2}")
        elif steps.get(metric) != expected or counted != expected:
            bad.append(
                f"{user}: total {steps.get(metric)}, answers counted {counted}, accepted {expected}"
            )
        elif earned != due or phase.awarded[user] != len(due):
            bad.append(
                f"{user}: earned {sorted(earned)}, due {sorted(due)}, "
                f"answers awarded {phase.awarded[user]}"
            )
    conn.close()
    print(
        f"  read-back over HTTP: {len(phase.counted) - len(bad)}/{len(phase.counted)} users "
        f"consistent (level_status {LEVEL_FOR[metric]} {metric} total = events counted; "
        f"list's earned {metric} badges = thresholds reached = badges the answers awarded)"
    )
    for line in bad[:5]:
        print(f"    MISMATCH {line}")
    return not bad


def read_database(database_url: str, phases: list[Phase]) -> bool:
    """The rows themselves: one event row per counted event, one award and one notification
    per badge the answers awarded, for exactly the users of the run."""
    import psycopg

    users = [str(u) for p in phases for u in p.counted]
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "select (select count(*) from badges.metric_events where user_id = any(%(u)s::uuid[])),"
            " (select count(*) from badges.awards where user_id = any(%(u)s::uuid[])),"
            " (select count(*) from badges.notifications where user_id = any(%(u)s::uuid[])),"
            " (select coalesce(sum(total), 0) from badges.metric_totals"
            "  where user_id = any(%(u)s::uuid[]))",
            {"u": users},
        ).fetchone()
    assert row is not None
    events, awards, notes, totals = (int(v) for v in row)
    counted = sum(sum(p.counted.values()) for p in phases)
    awarded = sum(sum(p.awarded.values()) for p in phases)
    ok = events == counted == totals and awards == awarded == notes
    print(
        f"database: {events} event rows and totals summing to {totals} "
        f"(events counted by the answers: {counted}); {awards} awards, {notes} notifications "
        f"(awarded by the answers: {awarded}): {'consistent' if ok else 'MISMATCH'}"
    )
    return ok


def serve(port: int, folder: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PORT": str(port),
        "BADGES_DATA_DIR": str(folder / "pg"),
        "BADGES_CATALOG": str(DEVSPACE),
        "BADGES_RATE_LIMIT_PER_MINUTE": "0",
        "SUPABASE_JWT_SECRET": DEV_JWT_SECRET,
    }
    for name in ("DATABASE_URL", "BADGES_STORE", "SUPABASE_URL", "SUPABASE_JWT_ISSUER"):
        env.pop(name, None)
    with (folder / "serve.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "badges.cli", "serve", "--host", "127.0.0.1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.3)
    stop(proc, folder)
    raise SystemExit("server did not start: " + (folder / "serve.log").read_text()[-2000:])


def database_url(folder: Path) -> str | None:
    """The embedded database of the started server, from its postmaster.pid (no new handle)."""
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(folder / "pg")
    return info.get_uri() if info is not None and info.is_running() else None


def stop(proc: subprocess.Popen[bytes], folder: Path) -> None:
    """Stop the server (it stops its database on exit), then remove the folder."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(folder / "pg")
    if info is not None and info.is_running() and info.process.name() == "postgres":
        info.process.terminate()  # the server died before stopping its database
        info.process.wait(timeout=30)
    shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=4000, help="total, per phase")
    parser.add_argument("--phase", choices=["user", "service", "both"], default="both")
    parser.add_argument("--service-users", type=int, default=500, help="users the service tracks")
    parser.add_argument("--retry-share", type=float, default=0.05, help="service calls resent")
    parser.add_argument("--max-seconds", type=float, default=300, help="per phase")
    parser.add_argument("--timeout", type=float, default=30, help="per request, seconds")
    parser.add_argument("--url", help="a running server (its rate limit applies)")
    args = parser.parse_args()

    proc = None
    folder = None
    url = args.url
    if not url:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        folder = Path(tempfile.mkdtemp(prefix="badges-bench-track-"))
        proc = serve(port, folder)
        url = f"http://127.0.0.1:{port}"
    try:
        ok = run(url, args, folder)
    finally:
        if proc is not None and folder is not None:
            stop(proc, folder)
    sys.exit(0 if ok else 1)


def run(url: str, args: argparse.Namespace, folder: Path | None) -> bool:
    limit = (
        "client rate limit off (BADGES_RATE_LIMIT_PER_MINUTE=0), so it does not cap the figure"
        if folder
        else "rate limit: whatever the server at --url is configured with"
    )
    print(f"`track` on {url}, Dev-Space catalog; {limit}")
    print(f"clients, server and database share this machine's {os.cpu_count()} cores")
    pool = [uuid.uuid4() for _ in range(args.service_users)]
    ok = True
    phases = []
    for name in ("user", "service"):
        if args.phase not in (name, "both"):
            continue
        metric = USER_METRIC if name == "user" else SERVICE_METRIC
        who = (
            "each client its own user token, no idempotency key"
            if name == "user"
            else f"service token, {args.service_users} users, idempotency keys, "
            f"{args.retry_share:.0%} resent"
        )
        print(f"\n{name} phase: track {metric} ({who})")
        phase, wall = run_phase(name, url, args, pool)
        report(phase, wall, args.clients, args)
        ok = read_back(url, phase, metric, args.timeout) and ok
        phases.append(phase)
    if folder is not None:
        db = database_url(folder)
        if db:
            print()
            ok = read_database(db, phases) and ok
    return ok


if __name__ == "__main__":
    main()

"""Cold start of `badges serve` and the memory of a warmed-up worker.

Prepares an embedded database in a temporary folder (removed at the end): a first `badges serve`
migrates it and syncs the catalog, then stops. Then, RUNS times: starts `badges serve` again on
that already migrated database and times it from the start of the process to the first answered
request (a POST award of a fresh user, tried every 10 ms), the figure a scale-from-zero pays.
After the last start it sends a warm-up of AWARDS awards (4 clients) and reads the resident set
size (RSS) of each gunicorn worker.

    .venv/bin/python bench/coldstart.py [--runs 3] [--awards 300] [--workers W] [--threads T]
        [--json PATH] [--quick]

--quick: 1 run and 100 awards, for the test that runs the script.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import serving

from badges import devtokens
from badges.settings import DEV_JWT_SECRET

AWARD = json.dumps({"action": "award", "badge_id": "social_sharer"}).encode()


def award(conn: http.client.HTTPConnection) -> int:
    """One award of a fresh user: the answer's status, 0 when nothing answered."""
    token = devtokens.user_token(uuid.uuid4(), DEV_JWT_SECRET)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        conn.request("POST", serving.PATH, AWARD, headers)
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        conn.close()
        return 0


def first_answer(port: int, started: float, proc: Any, deadline: float) -> tuple[float, float]:
    """Seconds from `started` to the first accepted connection and to the first answer."""
    listening = 0.0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("badges serve exited during its start")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.connect()
        except OSError:
            time.sleep(0.01)
            continue
        listening = listening or time.monotonic() - started
        status = award(conn)
        conn.close()
        if status == 200:
            return listening, time.monotonic() - started
        time.sleep(0.01)
    raise RuntimeError("no answer within the deadline")


def warm_up(port: int, count: int, clients: int = 4) -> int:
    """`count` awards of fresh users from `clients` threads; the number not answered 200."""
    errors = 0
    lock = threading.Lock()

    def run(share: int) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        failed = sum(award(conn) != 200 for _ in range(share))
        conn.close()
        with lock:
            errors += failed

    shares = [count // clients + (i < count % clients) for i in range(clients)]
    threads = [threading.Thread(target=run, args=(share,)) for share in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def rss_mib(pids: list[int]) -> list[float]:
    import psutil

    return [psutil.Process(pid).memory_info().rss / 2**20 for pid in pids]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="badges-bench-cold-"))
    port = serving.free_port()
    env = serving.server_env(port, folder, args.workers, args.threads)
    log = folder / "serve.log"
    try:
        serving.stop(serving.serve(port, folder, args.workers, args.threads))  # migrated
        starts: list[float] = []
        listens: list[float] = []
        for number in range(1, args.runs + 1):
            started = time.monotonic()
            proc = serving.start(env, log)
            try:
                listening, answered = first_answer(port, started, proc, started + 120)
            except BaseException:
                serving.stop(proc)
                raise
            starts.append(answered)
            listens.append(listening)
            print(
                f"  start {number}: listening after {listening:.2f} s, "
                f"first answer after {answered:.2f} s",
                flush=True,
            )
            if number < args.runs:
                serving.stop(proc)
        try:
            errors = warm_up(port, args.awards)
            workers = serving.workers_of(proc)
            rss = rss_mib(workers)
        finally:
            serving.stop(proc)
    finally:
        serving.stop_database(folder)
    return {
        "cold_start_s": round(statistics.median(starts), 3),
        "cold_start_runs_s": [round(s, 3) for s in starts],
        "listening_s": round(statistics.median(listens), 3),
        "worker_rss_mib": round(max(rss), 1) if rss else 0.0,
        "workers_rss_mib": [round(r, 1) for r in rss],
        "warmup_awards": args.awards,
        "errors": errors,
        "workers": len(workers),
        "database": "embedded, already migrated, started by badges serve",
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="cold starts to time")
    parser.add_argument("--awards", type=int, default=300, help="warm-up before reading RSS")
    parser.add_argument("--workers", type=int, help="WORKERS (default: badges serve's choice)")
    parser.add_argument("--threads", type=int, help="THREADS (default: badges serve's choice)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--quick", action="store_true", help="1 run, 100 awards")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.awards = 1, 100

    figures = measure(args)
    ok = figures["errors"] == 0
    print(
        f"cold start (process start to first answered award, database already migrated): "
        f"{figures['cold_start_s']:.2f} s (listening after {figures['listening_s']:.2f} s); "
        f"worker RSS after {figures['warmup_awards']} awards: {figures['worker_rss_mib']:.0f} MiB "
        f"({figures['workers']} worker(s)); errors {figures['errors']}"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

"""Throughput and latency of the served function, per action, over loopback HTTP.

Starts `badges serve` on its own embedded database (a temporary folder) unless --url points at
a running server, then runs concurrent clients for a bounded number of requests and prints
requests/s and latency percentiles per action.

    .venv/bin/python bench/http_actions.py [--clients 16] [--requests 400] [--url http://…]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
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
from collections import defaultdict
from pathlib import Path

from badges import devtokens
from badges.settings import DEV_JWT_SECRET

PROVIDERS = ["openai", "anthropic", "google", "meta", "mistral"]


def body_for(action: str) -> dict[str, object]:
    return {
        "award": {"action": "award", "badge_id": "social_sharer"},
        "record_score": {
            "action": "record_score",
            "provider_id": random.choice(PROVIDERS),
            "quiz_correct": random.random() < 0.6,
        },
        "record_activity": {"action": "record_activity", "timezone": "Europe/Berlin"},
        "list": {"action": "list"},
        "leaderboard": {"action": "leaderboard", "limit": 10},
        "check_streaks": {"action": "check_streaks"},
    }[action]


def client(
    url: str, actions: list[str], count: int, results: dict[str, list[float]], lock: threading.Lock
) -> None:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    token = devtokens.user_token(uuid.uuid4(), DEV_JWT_SECRET)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for i in range(count):
        action = actions[i % len(actions)]
        start = time.perf_counter()
        conn.request("POST", "/functions/v1/badges", json.dumps(body_for(action)), headers)
        response = conn.getresponse()
        response.read()
        elapsed = time.perf_counter() - start
        with lock:
            results[f"{action} {response.status}"].append(elapsed)
    conn.close()


def serve(port: int) -> subprocess.Popen[bytes]:
    data = Path(tempfile.mkdtemp(prefix="badges-bench-")) / "pg"
    env = {
        **os.environ,
        "PORT": str(port),
        "BADGES_DATA_DIR": str(data),
        "BADGES_RATE_LIMIT_PER_MINUTE": "0",
        "SUPABASE_JWT_SECRET": DEV_JWT_SECRET,
    }
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "badges.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=400, help="per client")
    parser.add_argument("--url")
    args = parser.parse_args()

    proc = None
    url = args.url
    if not url:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = serve(port)
        url = f"http://127.0.0.1:{port}"
    try:
        run(url, args.clients, args.requests)
    finally:
        if proc:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)


def run(url: str, clients: int, per_client: int) -> None:
    actions = ["award", "record_score", "record_activity", "list", "leaderboard", "check_streaks"]
    results: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()
    threads = [
        threading.Thread(target=client, args=(url, actions, per_client, results, lock))
        for _ in range(clients)
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    total = sum(len(v) for v in results.values())
    print(f"{total} requests from {clients} clients in {wall:.2f} s: {total / wall:.0f} req/s")
    print(f"{'action status':<24}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for key in sorted(results):
        lat = sorted(results[key])
        q = statistics.quantiles(lat, n=100) if len(lat) > 1 else lat * 99
        print(f"{key:<24}{len(lat):>7}{q[49] * 1e3:>9.1f}{q[94] * 1e3:>9.1f}{q[98] * 1e3:>9.1f}")


if __name__ == "__main__":
    main()

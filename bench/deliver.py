"""Delivery throughput (notifications/s) of the outbox worker against a local webhook receiver.

Starts its own embedded database (a temporary folder, deleted at the end) unless DATABASE_URL
is set, migrates it, syncs the default catalog and fills the outbox set-based: --notifications
awards of `social_sharer` to fresh users, whose AFTER INSERT trigger writes one outbox row each.
The receiver, a ThreadingHTTPServer on 127.0.0.1 (HTTP/1.1 keep-alive), checks each
X-Badges-Signature, records each Idempotency-Key and answers 204.

For each --workers count, that many threads, each a Deliverer over its own PostgresStore, drain
the outbox concurrently (deliver_due until nothing is due), after a reset. A run must deliver
every row, each key exactly once, every signature valid, or the script exits non-zero.

    .venv/bin/python bench/deliver.py [--notifications 10000] [--workers 1 4] [--batch 50]
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import psycopg

from badges import devdb
from badges.catalog import load_catalog
from badges.delivery.webhook import WebhookChannel, signature
from badges.delivery.worker import Deliverer, Policy
from badges.migrate import migrate
from badges.store.db import BadgesDb
from badges.store.postgres import PostgresStore

BADGE = "social_sharer"
SECRET = secrets.token_hex(16)
LOCK = threading.Lock()
RESET = (
    "update badges.outbox set status = 'pending', attempts = 0, next_attempt_at = now(),"
    " delivered_channels = '{}', finished_at = null, claim_token = null, last_error = null,"
    " last_attempt_at = null where id > %s"
)
# One statement: every part sees the outbox rows before they go; the awards' trigger fixes the
# leaderboard and rarity counters.
CLEANUP = (
    "with bench as (select user_id from badges.outbox where id > %(base)s),"
    " n as (delete from badges.notifications where badge_id = %(badge)s"
    "       and user_id in (select user_id from bench)),"
    " a as (delete from badges.awards where badge_id = %(badge)s"
    "       and user_id in (select user_id from bench))"
    " delete from badges.outbox where id > %(base)s"
)


class Receiver(BaseHTTPRequestHandler):
    """The webhook receiver; what it saw is kept on the class, under LOCK."""

    protocol_version = "HTTP/1.1"  # keep-alive: one handler per connection
    keys: ClassVar[Counter[str]] = Counter()
    bad_signatures: ClassVar[int] = 0
    connections: ClassVar[int] = 0

    @classmethod
    def clear(cls) -> None:
        cls.keys.clear()
        cls.bad_signatures = cls.connections = 0

    def setup(self) -> None:
        super().setup()
        with LOCK:
            Receiver.connections += 1

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        good = hmac.compare_digest(
            self.headers.get("X-Badges-Signature", ""), signature(body, SECRET)
        )
        with LOCK:
            Receiver.keys[self.headers.get("Idempotency-Key", "")] += 1
            Receiver.bad_signatures += not good
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def fill(conn: psycopg.Connection[Any], count: int) -> int:
    """Award BADGE to `count` fresh users; returns the highest outbox id before the fill."""
    row = conn.execute(
        "select coalesce(max(id), 0), count(*) filter (where status = 'pending') from badges.outbox"
    ).fetchone()
    assert row is not None
    if row[1]:
        raise SystemExit(f"the outbox already holds {row[1]} pending rows: not benching")
    conn.execute(
        "insert into badges.awards (user_id, badge_id)"
        " select gen_random_uuid(), %s from generate_series(1, %s)",
        (BADGE, count),
    )
    pending = conn.execute(
        "select count(*) from badges.outbox where id > %s and status = 'pending'", (row[0],)
    ).fetchone()
    if pending is None or pending[0] != count:
        raise SystemExit(
            f"{count} awards wrote {pending and pending[0]} pending outbox rows, not {count}"
        )
    return int(row[0])


def drain(url: str, receiver_url: str, batch: int) -> None:
    """One worker: its own pool and Deliverer, deliver_due until a pass finds nothing due (an
    exception prints its traceback and leaves rows undelivered, which check() reports)."""
    store = PostgresStore(url, pool_size=2, timeout=30)
    channel = WebhookChannel(receiver_url, SECRET)
    deliverer = Deliverer(BadgesDb(store), [channel], Policy(batch_size=batch))
    try:
        while sum(deliverer.deliver_due(max_seconds=50).as_json().values()):
            pass
    finally:
        store.close()


def check(conn: psycopg.Connection[Any], base: int, count: int) -> list[str]:
    """Every row delivered to the webhook, its key received exactly once, signatures valid."""
    rows = conn.execute(
        "select dedupe_key, status = 'delivered' and delivered_channels = '{webhook}'"
        " from badges.outbox where id > %s",
        (base,),
    ).fetchall()
    keys, received = {key for key, _ in rows}, set(Receiver.keys)
    undelivered = sum(not done for _, done in rows)
    duplicates = sum(n - 1 for n in Receiver.keys.values())
    problems = []
    if len(rows) != count or undelivered:
        problems.append(f"{undelivered} of {len(rows)} outbox rows not delivered")
    if received != keys:
        problems.append(f"{len(keys - received)} keys not received, {len(received - keys)} alien")
    if duplicates:
        problems.append(f"{duplicates} duplicate deliveries")
    if Receiver.bad_signatures:
        problems.append(f"{Receiver.bad_signatures} bad signatures")
    return problems


def bench(conn: psycopg.Connection[Any], url: str, base: int, args: argparse.Namespace) -> bool:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver_url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    print(f"receiver {receiver_url}; workers, receiver and database share {os.cpu_count()} cores")
    table, ok = [], True
    try:
        for workers in args.workers:
            conn.execute(RESET, (base,))
            conn.execute("vacuum analyze badges.outbox")
            Receiver.clear()
            threads = [
                threading.Thread(target=drain, args=(url, receiver_url, args.batch))
                for _ in range(workers)
            ]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seconds = time.perf_counter() - start
            problems = check(conn, base, args.notifications)
            verdict = "; ".join(problems) or "all delivered, each key once, signatures valid"
            print(f"{workers} worker(s), batch {args.batch}: {seconds:.2f} s: {verdict}")
            ok = ok and not problems
            dups = sum(n - 1 for n in Receiver.keys.values())
            rate = args.notifications / seconds
            row = (workers, args.notifications, f"{seconds:.2f}", f"{rate:.0f}", dups)
            table.append((*row, Receiver.bad_signatures, Receiver.connections))
    finally:
        server.shutdown()
    head = ("workers", "notifications", "seconds", "notif/s", "duplicates", "bad sigs", "conns")
    for line in [head, *table]:
        print(" ".join(f"{v!s:>{len(h)}}" for v, h in zip(line, head, strict=True)))
    return ok


def run(url: str, args: argparse.Namespace) -> bool:
    migrate(url)
    store = PostgresStore(url, timeout=30)
    try:
        BadgesDb(store).sync_catalog(load_catalog().sync_payload())
    finally:
        store.close()
    with psycopg.connect(url, autocommit=True) as conn:
        start = time.perf_counter()
        base = fill(conn, args.notifications)
        elapsed = time.perf_counter() - start
        print(f"outbox filled: {args.notifications} pending rows in {elapsed:.1f} s")
        try:
            return bench(conn, url, base, args)
        finally:
            if os.environ.get("DATABASE_URL"):  # not ours: delete what the bench wrote
                conn.execute(CLEANUP, {"base": base, "badge": BADGE})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notifications", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    url = os.environ.get("DATABASE_URL")
    folder: Path | None = None
    server: Any = None
    try:
        if not url:
            folder = Path(tempfile.mkdtemp(prefix="badges-bench-deliver-"))
            server = devdb.start(folder / "pg", cleanup="delete")
            url = str(server.get_uri())
        ok = run(url, args)
    finally:
        if server is not None:
            server.cleanup()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

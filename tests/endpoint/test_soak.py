"""Load with faults: many concurrent clients send mixed requests (tracks with idempotency keys,
repeats of those keys, service tracks, activity, reads, inbox) for a bounded time while a killer
terminates random database connections. Every answer is 200 or 503 with Retry-After (a client
retries a 503 with the same idempotency key, as the contract tells it to), and afterwards:

- the consistency report holds (counters equal counts, rarity, totals equal the last event);
- one award row per (user, badge) and one inbox message and one outbox row per award;
- every metric total equals the sum of the distinct idempotency keys acknowledged for it: a
  repeated or retried key never counted twice, an acknowledged one never lost.

`make test` runs the fast variant (a few seconds); `make soak` the long one, sized by
SOAK_SECONDS (default 300) and SOAK_CLIENTS (default 32). The figures are printed and, with
BADGES_SOAK_REPORT=<path>, written there as JSON.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import DEVSPACE
from tests.endpoint.conftest import Answer, Api, MakeClient, Tokens

Conn = psycopg.Connection[tuple[Any, ...]]
USER_METRICS = ("interaction", "journey_entry")
RETRIES = 30


@dataclass
class Ledger:
    """What the clients were told: per (user, metric), the amount of each acknowledged key."""

    acknowledged: dict[tuple[uuid.UUID, str], dict[str, int]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    bad_answers: list[str] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, answer: Answer) -> None:
        with self.lock:
            self.requests += 1
            self.statuses[answer.status] += 1
            retry_after = answer.headers.get("Retry-After", "")
            if answer.status not in (200, 503) or (
                answer.status == 503 and not retry_after.isdigit()
            ):
                self.bad_answers.append(f"{answer.status} {answer.body}")

    def acknowledge(self, user: uuid.UUID, metric: str, key: str, amount: int) -> None:
        with self.lock:
            self.acknowledged.setdefault((user, metric), {})[key] = amount


class Client:
    """One app user's client: tracks with fresh and repeated keys, activity, reads."""

    def __init__(self, api: Api, ledger: Ledger, rng: random.Random) -> None:
        self.api, self.ledger, self.rng = api, ledger, rng
        self.user = uuid.uuid4()
        # Acknowledged tracks, to repeat: (metric, key, amount, service).
        self.sent: list[tuple[str, str, int, bool]] = []

    def call(self, action: str, service: bool = False, **params: Any) -> Answer:
        """Until it is not a 503: what a client does with Retry-After (without the wait)."""
        who: dict[str, Any] = {"service": True, "user_id": str(self.user)} if service else {}
        for _ in range(RETRIES):
            answer = self.api.call(action, as_user=self.user, **who, **params)
            self.ledger.record(answer)
            if answer.status != 503:
                return answer
            time.sleep(0.05)
        return answer

    def track(self, metric: str, key: str, amount: int, service: bool = False) -> None:
        extra = {"amount": amount} if service else {}
        answer = self.call("track", service, metric=metric, idempotency_key=key, **extra)
        if answer.status == 200:
            self.ledger.acknowledge(self.user, metric, key, amount)
            self.sent.append((metric, key, amount, service))

    def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.35:
            self.track(self.rng.choice(USER_METRICS), uuid.uuid4().hex, 1)
        elif roll < 0.5 and self.sent:
            self.track(*self.rng.choice(self.sent))  # a repeat: must change nothing
        elif roll < 0.6:
            self.track("project_created", uuid.uuid4().hex, self.rng.randint(1, 3), service=True)
        elif roll < 0.7:
            self.call("record_activity", timezone="Europe/Paris")
        elif roll < 0.8:
            self.call("list")
        elif roll < 0.9:
            self.call("notifications", limit=5)
        else:
            self.call("mark_notifications_read", all=True)


def run_clients(api: Api, ledger: Ledger, clients: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds

    def work(seed: int) -> None:
        client = Client(api, ledger, random.Random(seed))
        while time.monotonic() < deadline:
            client.step()

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def kill_connections(url: str, stop: threading.Event, rng: random.Random) -> int:
    """Terminate a random backend of the function's pool every 50-250 ms; returns how many."""
    killed = 0
    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.wait(rng.uniform(0.05, 0.25)):
            row = conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity"
                " where datname = current_database() and pid <> pg_backend_pid()"
                " and backend_type = 'client backend' order by random() limit 1"
            ).fetchone()
            killed += int(bool(row and row[0]))
    return killed


def invariants(conn: Conn, ledger: Ledger) -> dict[str, int]:
    """Rows breaking each invariant: the consistency report's, and the suite's own."""
    report = conn.execute("select badges.consistency_report()").fetchone()
    assert report is not None
    checks: dict[str, int] = dict(report[0]["checks"])
    checks["awards_unannounced"] = report[0]["awards_unannounced"]
    (inbox_vs_awards,) = conn.execute(
        "select count(*) from badges.awards a where (select count(*) from badges.notifications n"
        " where n.user_id = a.user_id and n.badge_id = a.badge_id) <> 1"
    ).fetchone() or (0,)
    checks["inbox_message_per_award"] = int(inbox_vs_awards)
    totals = {
        (r[0], r[1]): int(r[2])
        for r in conn.execute("select user_id, metric, total from badges.metric_totals")
    }
    expected = {k: sum(v.values()) for k, v in ledger.acknowledged.items()}
    checks["metric_total_vs_acknowledged_keys"] = sum(
        1 for k in expected.keys() | totals.keys() if expected.get(k, 0) != totals.get(k, 0)
    )
    return checks


def soak(make_client: MakeClient, url: str, clients: int, seconds: float) -> dict[str, Any]:
    api = Api(
        make_client(
            DATABASE_URL=url,
            BADGES_RATE_LIMIT_PER_MINUTE="0",
            BADGES_DB_POOL_SIZE=str(min(clients, 20)),
            BADGES_DB_TIMEOUT="5",
        ),
        Tokens(),
    )
    return load_with_faults(api, url, clients, seconds)


def load_with_faults(api: Api, url: str, clients: int, seconds: float) -> dict[str, Any]:
    """The clients through `api` while the killer terminates connections to the database at
    `url`, then every invariant, read over `url` (a direct connection: behind a pooler too)."""
    ledger, stop, faults = Ledger(), threading.Event(), [0]
    killer = threading.Thread(
        target=lambda: faults.__setitem__(0, kill_connections(url, stop, random.Random(7)))
    )
    killer.start()
    started = time.monotonic()
    run_clients(api, ledger, clients, seconds)
    stop.set()
    killer.join()
    with psycopg.connect(url, autocommit=True) as conn:
        checks = invariants(conn, ledger)
        (awards,) = conn.execute("select count(*) from badges.awards").fetchone() or (0,)
    return {
        "clients": clients,
        "seconds": round(time.monotonic() - started, 1),
        "requests": ledger.requests,
        "statuses": dict(ledger.statuses),
        "faults_injected": faults[0],
        "awards": awards,
        "acknowledged_keys": sum(len(v) for v in ledger.acknowledged.values()),
        "invariants_checked": len(checks),
        "violations": sum(checks.values()),
        "checks": checks,
        "bad_answers": ledger.bad_answers[:5],
    }


def report(figures: dict[str, Any]) -> None:
    print("\nsoak:", json.dumps(figures, sort_keys=True))
    path = os.environ.get("BADGES_SOAK_REPORT")
    if path:
        Path(path).write_text(json.dumps(figures, indent=2, sort_keys=True))


def assert_held(figures: dict[str, Any]) -> None:
    assert figures["bad_answers"] == []
    assert figures["violations"] == 0, figures["checks"]
    assert figures["faults_injected"] > 0
    assert figures["statuses"].get(200, 0) > figures["clients"]


Soak = Callable[[int, float], dict[str, Any]]


@pytest.fixture
def run_soak(make_client: MakeClient, make_catalog_database: Callable[[Path], str]) -> Soak:
    return lambda clients, seconds: soak(
        make_client, make_catalog_database(DEVSPACE), clients, seconds
    )


def test_mixed_load_with_killed_connections_keeps_every_invariant(run_soak: Soak):
    figures = run_soak(8, 6.0)
    report(figures)
    assert_held(figures)


@pytest.mark.soak
def test_long_mixed_load_with_killed_connections_keeps_every_invariant(run_soak: Soak):
    figures = run_soak(
        int(os.environ.get("SOAK_CLIENTS", "32")), float(os.environ.get("SOAK_SECONDS", "300"))
    )
    report(figures)
    assert_held(figures)

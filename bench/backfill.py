"""Backfill time over a large user base: the set-based badges.check_badges_all on 100k users.

Starts its own embedded database (a temporary folder, deleted at the end), migrates it and
plays what a real adoption looks like:

  1. the Dev-Space metrics exist but no badge does yet (an app's history, imported or counted
     before the badges were designed);
  2. --users users with metric totals generated set-based in SQL (project_created,
     interaction, journey_entry for everyone, contribution_approved for 40%, skewed: many small
     totals, a few large), registered in badges.users, and a compressed event log per user and
     metric: one event at each power of two below the total and one at the total, dated from
     the user's first day to now, so for every threshold there is an event whose total crosses
     it and the backfill can date each award;
  3. (b) the Dev-Space badges appear (sync_catalog) and every automatic badge is backfilled at
     once: BadgesDb.check_badges_all(None, notify=False, revoke=False);
  4. (a) later one new badge is added (project_veteran, project_created >= 50) and backfilled
     alone: check_badges_all("project_veteran", notify=False, revoke=False);
  5. the daily job on the same users with nothing due: check_badges_all(None, notify=True,
     revoke=True).

Each backfill runs twice; the second run has nothing to do. After the runs the awards are
checked against an independent count from the generated totals, their earned_at against the
event log, and the counters (user_stats, rarity) and notifications against the awards.

    .venv/bin/python bench/backfill.py [--users 100000] [--statement-timeout 900]
"""

from __future__ import annotations

import argparse
import copy
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb

from badges import devdb
from badges.catalog import CATALOGS_DIR, load_catalog
from badges.migrate import migrate
from badges.store.db import BadgesDb, JsonObject
from badges.store.postgres import PostgresStore

DEVSPACE = CATALOGS_DIR / "devspace.toml"
NEW_BADGE = "project_veteran"
NEW_THRESHOLD = 50

# metric, scale, skew, share of users: a total is floor(scale * random()^skew) when the user
# has the metric at all (random() < share); 0 totals get no row.
SPREAD = [
    ("project_created", 120, 3, 1.0),
    ("interaction", 1500, 3, 1.0),
    ("journey_entry", 150, 3, 1.0),
    ("contribution_approved", 40, 2, 0.4),
]

GENERATE = [
    (
        "create temporary table bench_users as"
        " select md5('bench:' || i)::uuid as user_id,"
        "        now() - (30 + random() * 700) * interval '1 day' as joined_at"
        " from generate_series(1, %(users)s) i"
    ),
    (
        "create temporary table bench_totals as"
        " select u.user_id, u.joined_at, m.metric,"
        "        floor(m.scale * power(random(), m.skew))::bigint as total"
        " from bench_users u"
        " cross join (select * from jsonb_to_recordset(%(spread)s)"
        "             as s(metric text, scale int, skew int, share float8)) m"
        " where random() < m.share"
    ),
    "delete from bench_totals where total = 0",
    (
        "insert into badges.users (user_id, first_seen_at)"
        " select user_id, joined_at from bench_users order by user_id"
    ),
    "select badges.rebuild_counts()",  # the users were written in bulk
    (
        "insert into badges.metric_totals (user_id, metric, total, updated_at)"
        " select user_id, metric, total, now() from bench_totals order by user_id, metric"
    ),
    # One event at each power of two below the total, one at the total; amounts are the steps.
    (
        "insert into badges.metric_events (user_id, metric, amount, total, occurred_at)"
        " select user_id, metric, (total - lag(total, 1, 0::bigint) over w)::int, total,"
        "        joined_at + (now() - joined_at)"
        "          * ((row_number() over w)::float8 / (count(*) over p + 1))"
        " from (select t.user_id, t.metric, t.joined_at, c.total"
        "       from bench_totals t"
        "       cross join lateral ("
        "         select 1::bigint << k as total from generate_series(0, 40) k"
        "         where (1::bigint << k) < t.total"
        "         union all select t.total) c) e"
        " window p as (partition by user_id, metric),"
        "        w as (partition by user_id, metric order by total)"
        " order by user_id, metric, total"
    ),
    "analyze badges.users, badges.metric_totals, badges.metric_events, badges.rarity_counts",
]


def generate(url: str, users: int) -> tuple[int, int, float]:
    """The users' state, set-based; returns (metric_totals rows, metric_events rows, seconds)."""
    spread = [{"metric": m, "scale": s, "skew": k, "share": p} for m, s, k, p in SPREAD]
    start = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute("select setseed(0.42)")
        for statement in GENERATE:
            conn.execute(statement, {"users": users, "spread": Jsonb(spread)})
        conn.commit()
        row = conn.execute(
            "select (select count(*) from badges.metric_totals),"
            " (select count(*) from badges.metric_events)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), time.perf_counter() - start


def new_badge(badges: list[JsonObject]) -> JsonObject:
    """A new builder badge between project_pro (30) and code_architect (100)."""
    base = next(b for b in badges if b["id"] == "project_pro")
    return copy.deepcopy(base) | {
        "id": NEW_BADGE,
        "name": "Project Veteran",
        "description": "Fifty projects shipped.",
        "threshold": NEW_THRESHOLD,
        "sort_order": 145,
    }


EXPECTED = (
    "with due as ("
    "  select t.user_id, g.badge_id from badges.metric_totals t"
    "  join jsonb_to_recordset(%(goals)s) as g(badge_id text, metric text, threshold int)"
    "    on g.metric = t.metric and t.total >= g.threshold),"
    " composites as ("
    "  select c.id, c.requires"
    "  from jsonb_to_recordset(%(composites)s) as c(id text, requires text[]))"
    " select (select count(*) from due) + (select count(*) from ("
    "   select c.id, d.user_id from composites c join due d on d.badge_id = any (c.requires)"
    "   group by c.id, c.requires, d.user_id having count(*) = cardinality(c.requires)) x)"
)


def expected_awards(url: str, badges: list[JsonObject]) -> int:
    """What the rules grant, counted from the generated totals without the engine's view:
    metric badges by total >= threshold, then all_of badges whose requirements are all due
    (one level of composites, as in the Dev-Space catalog)."""
    goals = [
        {"badge_id": b["id"], "metric": b["metric"], "threshold": b["threshold"]}
        for b in badges
        if b["rule"] == "metric" and b["enabled"]
    ]
    composites = [b for b in badges if b["rule"] == "all_of" and b["enabled"]]
    with psycopg.connect(url) as conn:
        row = conn.execute(
            EXPECTED, {"goals": Jsonb(goals), "composites": Jsonb(composites)}
        ).fetchone()
    assert row is not None
    return int(row[0])


def audit(url: str) -> list[str]:
    """Problems with the awards as they stand: earned_at of metric badges not the moment the
    event log crossed the threshold, notifications written, counters not equal to the awards."""
    checks = {
        "metric awards not dated by the first event crossing the threshold": (
            "select count(*) from badges.awards a"
            " join badges.definitions d on d.id = a.badge_id and d.rule = 'metric'"
            " where a.earned_at is distinct from ("
            "   select e.occurred_at from badges.metric_events e"
            "   where e.user_id = a.user_id and e.metric = d.metric and e.total >= d.threshold"
            "   order by e.id limit 1)"
        ),
        "notifications written by a silent backfill": "select count(*) from badges.notifications",
        "users whose user_stats.badge_count is not their number of awards": (
            "select count(*) from (select user_id, count(*) as n from badges.awards group by 1) a"
            " full join badges.user_stats s using (user_id)"
            " where coalesce(s.badge_count, 0) <> coalesce(a.n, 0)"
        ),
        "badges whose rarity counter is not their number of holders": (
            "select count(*) from (select badge_id, count(*) as n from badges.awards group by 1) a"
            " full join (select badge_id, sum(holders) as n"
            "            from (select badge_id, holders from badges.rarity_counts"
            "                  union all select badge_id, holders from badges.rarity_deltas) c"
            "            where badge_id <> '' group by 1) r using (badge_id)"
            " where coalesce(a.n, 0) <> coalesce(r.n, 0)"
        ),
    }
    problems = []
    with psycopg.connect(url) as conn:
        for name, query in checks.items():
            row = conn.execute(query).fetchone()
            if row is not None and row[0]:
                problems.append(f"{row[0]} {name}")
    return problems


def timed(
    db: BadgesDb, badge: str | None, *, notify: bool, revoke: bool
) -> tuple[JsonObject, float]:
    start = time.perf_counter()
    result = db.check_badges_all(badge, notify=notify, revoke=revoke)
    return result, time.perf_counter() - start


def backfill_twice(
    label: str, db: BadgesDb, badge: str | None, expected: int
) -> tuple[bool, list[str]]:
    first, first_s = timed(db, badge, notify=False, revoke=False)
    second, second_s = timed(db, badge, notify=False, revoke=False)
    verdict = "as expected" if first["awarded_count"] == expected else f"EXPECTED {expected}"
    lines = [
        f"{label}: awarded_count {first['awarded_count']} in {first_s:.2f} s ({verdict})",
        f"    second run (no-op): awarded_count {second['awarded_count']} in {second_s:.2f} s",
    ]
    return first["awarded_count"] == expected and second["awarded_count"] == 0, lines


def run(url: str, users: int) -> bool:
    start = time.perf_counter()
    migrate(url)
    payload = load_catalog(DEVSPACE).sync_payload()
    badges = payload["badges"]
    store = PostgresStore(url, timeout=30)
    db = BadgesDb(store)
    try:
        db.sync_catalog(payload | {"badges": []})  # the metrics, no badge yet
        elapsed = time.perf_counter() - start
        print(f"migrated, Dev-Space metrics synced without badges: {elapsed:.1f} s")
        totals, events, seconds = generate(url, users)
        print(
            f"generated {users} users: {totals} metric_totals rows, {events} metric_events rows "
            f"in {seconds:.1f} s (analyzed)"
        )
        ok = True

        db.sync_catalog(payload)
        ok_b, lines = backfill_twice(
            f"(b) all {len(badges)} Dev-Space badges appear, backfill of every automatic badge",
            db,
            None,
            expected_awards(url, badges),
        )
        print("\n".join(lines))
        ok = ok_b and ok

        with_new = [*badges, new_badge(badges)]
        db.sync_catalog(payload | {"badges": with_new})
        ok_a, lines = backfill_twice(
            f"(a) one new badge, {NEW_BADGE} (project_created >= {NEW_THRESHOLD}), backfilled",
            db,
            NEW_BADGE,
            expected_awards(url, with_new) - expected_awards(url, badges),
        )
        print("\n".join(lines))
        ok = ok_a and ok

        daily, daily_s = timed(db, None, notify=True, revoke=True)
        print(
            f"daily job (check_badges all: notify, revoke) with nothing due: "
            f"awarded_count {daily['awarded_count']}, revoked_count {daily['revoked_count']} "
            f"in {daily_s:.2f} s"
        )
        ok = ok and daily == {"awarded_count": 0, "revoked_count": 0}

        problems = audit(url)
        print(
            "audit: earned_at backdated to the crossing event, no notifications, "
            "user_stats and rarity equal to the awards: " + ("; ".join(problems) or "all hold")
        )
        return ok and not problems
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument(
        "--statement-timeout", type=int, default=900, help="seconds, for every statement"
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="badges-bench-backfill-"))
    server: Any = None
    try:
        server = devdb.start(folder / "pg", cleanup="delete")
        url = make_conninfo(
            server.get_uri(), options=f"-c statement_timeout={args.statement_timeout}s"
        )
        ok = run(url, args.users)
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

"""The benchmark data set, loaded by set-based SQL in minutes:

- `users` users (default 1,000,000), each holding 1 to 31 badges with a realistic skew: 60% hold
  one badge, the rest a heavy tail (≈ 5 awards per user on average); badges are ranked by
  popularity (social_sharer, then 30 `bench_NN` manual badges), and a user holding k badges
  holds the k most popular ones: everyone holds social_sharer, nobody bench_30;
- 60 days of activity for `active` users (default 100,000): each day active with probability
  0.7, the streaks computed from the days (streak badges are left for the batch check to award);
- quiz answers for `quizzers` users (default 100,000) on the catalog's providers, with
  `correct_count` on the score leaderboard;
- two catalog leaderboards over a metric of points: `bench_all` (all time) and `bench_week`
  (weekly); every user earned 1 to 200 points last week and again this week (the metric's
  events and totals, and the boards' entries, as `track` writes them);
- a third, `bench_xp` (all time), over a metric whose totals spread from 1 to 10^9: the
  `active` users each earned one amount, so nearly every entry has a value of its own;
- reference tables in schema `bench`: `raw_awards` (shaped like badges.awards, empty),
  `raw_noop` (the same shape, holding every user's `social_sharer`), and `board` (a narrow
  table with the badge-count board: user_id, value, at, index (value desc, at, user_id)).

User i's id is md5('u' || i)::uuid, so pgbench scripts can name existing users. Counters
(user_stats, the users registry, rarity and board counts) are written in bulk, then
`badges.rebuild_counts()` recounts rarity and boards from the rows, as the triggers would have.
Nothing is ANALYZEd and autovacuum is off on the loaded tables until `finish()`: the plans of a
database bulk-loaded and never analysed can be measured first.

    .venv/bin/python bench/dataset.py [--users 1000000] [--active 100000] [--quizzers 100000]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import psycopg
from psycopg import sql

BENCH_BADGES = 30
# The tables bulk-loaded here: autovacuum (which would also ANALYZE them) is off until finish().
LOADED = (
    "badges.awards",
    "badges.user_stats",
    "badges.users",
    "badges.activity_days",
    "badges.streaks",
    "badges.quiz_scores",
    "badges.definitions",
    "badges.board_entries",
    "badges.metric_events",
    "badges.metric_totals",
)

REFERENCES = ("bench.raw_awards", "bench.raw_noop", "bench.board")

Conn = psycopg.Connection[tuple[Any, ...]]

STEPS: list[tuple[str, str]] = [
    (
        "bench badges",
        """
        insert into badges.definitions (id, name, description, icon, category, rule, sort_order)
        select 'bench_' || lpad(i::text, 2, '0'), 'Bench ' || i, 'A benchmark badge.', '🏅',
               'bench', 'manual', 1000 + i
        from generate_series(1, %(badges)s) i
        on conflict (id) do nothing
        """,
    ),
    (
        "users",
        """
        select setseed(0.42);
        create unlogged table bench.users as
        select i, md5('u' || i)::uuid as user_id,
               case when random() < 0.6 then 1
                    else 2 + floor((%(badges)s - 1) * power(random(), 2.2))::int end as k,
               now() - random() * interval '400 days' as joined_at
        from generate_series(1, %(users)s) i;
        insert into badges.users (user_id, first_seen_at)
        select user_id, joined_at from bench.users order by user_id;
        """,
    ),
    (
        "awards",
        """
        create temp table ranked on commit drop as
        select row_number() over (order by d.sort_order, d.id) as rank, d.id
        from (select id, sort_order from badges.definitions where id like 'bench\\_%%'
              union all select 'social_sharer', 0) d;
        alter table badges.awards disable trigger user;
        insert into badges.awards (user_id, badge_id, earned_at)
        select u.user_id, r.id, u.joined_at + random() * (now() - u.joined_at)
        from bench.users u join ranked r on r.rank <= u.k
        order by u.user_id, r.id;
        alter table badges.awards enable trigger user;
        insert into badges.user_stats (user_id, badge_count, badge_count_at)
        select user_id, count(*), max(earned_at) from badges.awards group by user_id
        order by user_id;
        """,
    ),
    (
        "activity",
        """
        insert into badges.activity_days (user_id, day)
        select u.user_id, d::date
        from bench.users u
        cross join generate_series(current_date - 59, current_date, interval '1 day') d
        where u.i <= %(active)s and random() < 0.7
        order by 1, 2;
        insert into badges.streaks (user_id, current_streak, longest_streak, last_active_day)
        select user_id, (array_agg(len order by last desc))[1], max(len), max(last)
        from (select user_id, count(*)::int as len, max(day) as last
              from (select user_id, day,
                           day - (row_number() over (partition by user_id order by day))::int
                             as island
                    from badges.activity_days) days
              group by user_id, island) islands
        group by user_id
        order by user_id;
        """,
    ),
    (
        "quiz",
        """
        insert into badges.quiz_scores
          (user_id, provider_id, quiz_correct, attempts, first_correct_at, last_attempt_at)
        select user_id, provider_id, correct, 1 + floor(random() * 3)::int,
               case when correct then now() - random() * interval '60 days' end, now()
        from (select u.user_id, p.id as provider_id, random() < 0.6 as correct
              from bench.users u cross join badges.quiz_providers p
              where u.i > %(users)s - %(quizzers)s and p.active and random() < 0.8) answers
        order by 1, 2;
        update badges.user_stats s set correct_count = q.n, correct_count_at = q.at
        from (select user_id, count(*) as n, max(first_correct_at) as at
              from badges.quiz_scores where quiz_correct group by user_id) q
        where s.user_id = q.user_id;
        """,
    ),
    (
        # Catalog boards: two over a metric of points (not over badge_count: the award figures
        # stay those of the v1 catalog, without boards): all time, and weekly. Every user
        # earned points (1 to 200 each time, skewed) twice: last week and in the last hour,
        # recorded as the metric's events and totals, and counted on the boards as `track`
        # would count them. A third board, over XP spread from 1 to 10^9 for the active users:
        # each total written as one event (through `track` it would take many, a service's event
        # adding at most 1,000,000), so that nearly every entry has a value of its own.
        "catalog boards",
        """
        insert into badges.metrics (id, name) values ('bench_points', 'Points'), ('bench_xp', 'XP')
        on conflict do nothing;
        select badges.sync_leaderboards('[
          {"id": "bench_all", "name": "Points", "metric": "bench_points"},
          {"id": "bench_week", "name": "Points this week", "metric": "bench_points",
           "period": "weekly"},
          {"id": "bench_xp", "name": "XP", "metric": "bench_xp"}]');
        update badges.leaderboards set created_at = now() - interval '30 days';
        create temp table points on commit drop as
        select user_id, 1 + floor(199 * power(random(), 3))::int as last_week,
               1 + floor(199 * power(random(), 3))::int as this_week,
               now() - interval '7 days' - random() * interval '1 hour' as last_at,
               now() - random() * interval '1 hour' as this_at
        from bench.users;
        insert into badges.metric_events (user_id, metric, amount, total, occurred_at)
        select user_id, 'bench_points', amount, total, at
        from (select user_id, last_week as amount, last_week as total, last_at as at
              from points
              union all
              select user_id, this_week, last_week + this_week, this_at from points) e
        order by user_id, total;
        insert into badges.metric_totals (user_id, metric, total, updated_at)
        select user_id, 'bench_points', last_week + this_week, this_at from points
        order by user_id;
        insert into badges.board_entries (board_id, period, user_id, value, at)
        select l.id, badges.board_period(l, e.at), e.user_id, sum(e.amount), max(e.at)
        from (select user_id, last_week as amount, last_at as at from points
              union all
              select user_id, this_week, this_at from points) e
        cross join badges.leaderboards l
        where l.id in ('bench_all', 'bench_week')
        group by 1, 2, 3
        order by 1, 2, 3;
        create temp table xp on commit drop as
        select user_id, 1 + floor(1e9 * power(random(), 2))::bigint as amount,
               now() - random() * interval '1 day' as at
        from bench.users where i <= %(active)s;
        insert into badges.metric_events (user_id, metric, amount, total, occurred_at)
        select user_id, 'bench_xp', amount, amount, at from xp order by user_id;
        insert into badges.metric_totals (user_id, metric, total, updated_at)
        select user_id, 'bench_xp', amount, at from xp order by user_id;
        insert into badges.board_entries (board_id, period, user_id, value, at)
        select 'bench_xp', '-infinity', user_id, amount, at from xp order by user_id;
        """,
    ),
    (
        "counts",
        "select badges.rebuild_counts()",
    ),
    (
        "references",
        """
        create table bench.raw_awards (like badges.awards including all);
        create table bench.raw_noop (like badges.awards including all);
        insert into bench.raw_noop (user_id, badge_id, earned_at)
        select user_id, 'social_sharer', joined_at from bench.users order by user_id;
        create table bench.board (user_id uuid primary key, value integer not null,
                                  at timestamptz);
        insert into bench.board
        select user_id, badge_count, badge_count_at from badges.user_stats
        where badge_count > 0;
        create index board_rank_idx on bench.board (value desc, at, user_id);
        """,
    ),
]


def load(
    url: str, *, users: int = 1_000_000, active: int = 100_000, quizzers: int = 100_000
) -> dict[str, float]:
    """Load the data set into the migrated database at url; returns seconds per step."""
    params = {"users": users, "active": min(active, users), "quizzers": min(quizzers, users)}
    params["badges"] = BENCH_BADGES
    seconds: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop schema if exists bench cascade")
        conn.execute("create schema bench")
        for table in LOADED:
            conn.execute(
                sql.SQL("alter table {} set (autovacuum_enabled = false)").format(_name(table))
            )
        for name, statements in STEPS:
            started = time.perf_counter()
            with conn.transaction():
                conn.execute("set local work_mem = '256MB'")
                for statement in filter(str.strip, statements.split(";\n")):
                    conn.execute(statement, params)  # type: ignore[call-overload]
            seconds[name] = time.perf_counter() - started
    return seconds


def finish(url: str) -> float:
    """What an operator does after a bulk load: VACUUM ANALYZE, autovacuum back on."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for table in LOADED:
            conn.execute(sql.SQL("alter table {} reset (autovacuum_enabled)").format(_name(table)))
        for table in (*LOADED, *REFERENCES, "badges.rarity_counts", "badges.board_counts"):
            conn.execute(sql.SQL("vacuum (analyze) {}").format(_name(table)))
    return time.perf_counter() - started


def sizes(url: str) -> dict[str, int]:
    """Rows of the loaded tables (exact counts)."""
    tables = ("badges.users", "badges.awards", "badges.activity_days", "badges.quiz_scores")
    counted = {}
    with psycopg.connect(url) as conn:
        for table in tables:
            row = conn.execute(sql.SQL("select count(*) from {}").format(_name(table))).fetchone()
            counted[table] = int(row[0]) if row else 0
    return counted


def _name(table: str) -> sql.Identifier:
    schema, name = table.split(".")
    return sql.Identifier(schema, name)


def main() -> None:
    from bench import benchdb

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--active", type=int, default=100_000)
    parser.add_argument("--quizzers", type=int, default=100_000)
    parser.add_argument("--url", help="a migrated database to load (default: a fresh one)")
    args = parser.parse_args()
    with benchdb.server() as admin:
        url = args.url or benchdb.fresh_database(admin, "badges_bench")
        steps = load(url, users=args.users, active=args.active, quizzers=args.quizzers)
        steps["vacuum analyze"] = finish(url)
        for name, took in steps.items():
            print(f"{name:>16}: {took:7.1f} s")
        print(sizes(url))


if __name__ == "__main__":
    main()

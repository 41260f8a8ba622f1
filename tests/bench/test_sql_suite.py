"""The SQL half of `make bench` on a tiny data set, so the scripts cannot rot: the data set loads
consistently, and every figure is taken and written. Timings are not asserted."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

from badges import devdb
from bench import dataset
from tests.conftest import PROJECT_DIR

FLOOR_SCRIPT = PROJECT_DIR / "bench" / "award_floor.sql"


def test_the_data_set_loads_consistent_counters_and_its_references(
    make_database: Callable[[], str],
):
    url = make_database()
    dataset.load(url, users=2_000, active=300, quizzers=300)
    dataset.finish(url)

    with psycopg.connect(url) as conn:
        report = conn.execute("select badges.consistency_report()").fetchone()
        counts = conn.execute(
            "select (select count(*) from badges.users), (select count(*) from bench.raw_noop),"
            " (select count(*) from bench.board),"
            " (select count(*) from badges.awards where badge_id = 'social_sharer'),"
            " (select count(*) from badges.awards where badge_id = 'bench_30')"
        ).fetchone()
    assert report is not None
    assert report[0]["violations"] == 0, report[0]
    # Everyone holds the most popular badge; nobody the least (a fresh award for the bench).
    assert counts == (2_000, 2_000, 2_000, 2_000, 0)


def test_the_sql_benchmarks_run_and_write_every_figure(tmp_path: Path):
    out = tmp_path / "latest.md"
    done = subprocess.run(  # noqa: S603 (our own script)
        [sys.executable, "-m", "bench.run", "--quick", "--skip-http", "--out", str(out)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    text = out.read_text()
    for figure in (
        "data set load",
        "list, never ANALYZEd",
        "new award (8 clients)",
        "repeated award (8 clients)",
        "leaderboard(me, 100, 0) (1 client)",
        "leaderboard keyset page",
        "score_leaderboard(me, 100, 0)",
        "badge_holders(social_sharer, 20) (1 client)",
        "badge_holders keyset page",
        "catalog board, values all distinct (me, 100, 0)",
        "around_me(me, radius 25), values all distinct",
        "profile(user, 20) (1 client)",
        "from a Python client",
        "streak batch",
        "WAL per new award",
    ):
        assert figure in text, figure
    assert "## SQL" in text
    assert "## HTTP" not in text
    # The embedded server's pg_wal is readable here: the breakdown names the awards' index.
    assert "WAL per new award by relation, largest first:" in text
    assert "awards_pkey" in text


def test_the_award_floor_script_builds_floors_that_write_what_they_claim(
    make_database: Callable[[], str],
):
    url = make_database()
    dataset.load(url, users=300, active=50, quizzers=50)
    dataset.finish(url)
    psql = devdb.tool("psql")
    assert psql is not None, "the embedded server comes with psql"
    done = subprocess.run(  # noqa: S603 (our own script)
        [psql, url, "-q", "-v", "ON_ERROR_STOP=1", "-f", str(FLOOR_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    user = "00000000-0000-4000-8000-00000000f100"
    with psycopg.connect(url, autocommit=True) as conn:
        for n in range(1, 5):
            table = sql.Identifier("floor", f"a{n}")
            conn.execute(
                sql.SQL("insert into {} (user_id, badge_id) values (%s, 'social_sharer')").format(
                    table
                ),
                (user,),
            )
        answer = conn.execute("select floor.award5(%s, 'social_sharer')", (user,)).fetchone()
        again = conn.execute("select floor.award5(%s, 'social_sharer')", (user,)).fetchone()
        rows = conn.execute(
            "select (select n from floor.stats where user_id = %(u)s),"
            " (select n from floor.stats_b where user_id = %(u)s),"
            " (select count(*) from floor.msg where user_id = %(u)s),"
            " (select count(*) from floor.inbox where user_id = %(u)s),"
            " (select count(*) from floor.outbox where user_id = %(u)s),"
            " (select count(*) from floor.users5 where user_id = %(u)s),"
            " (select n from floor.stats5 where user_id = %(u)s),"
            " (select count(*) from floor.msg5 where user_id = %(u)s),"
            " (select sum(holders) from floor.rarity5),"
            " (select sum(users) from floor.board5 where value = 1),"
            " (select count(*) from floor.a5) - (select count(*) from badges.awards)",
            {"u": user},
        ).fetchone()
    assert answer is not None
    assert answer[0]["awarded"] is True
    assert again is not None
    assert again[0]["awarded"] is False
    # a1 and a2..a4 count into their own counters (a2, a3 and a4 share one); a5 wrote each of
    # its rows once, and its copy of awards holds every award plus the new one.
    assert rows == (1, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)

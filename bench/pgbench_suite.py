"""The SQL figures, each beside its reference in the same run: pgbench (-M prepared, synchronous
commit on) against the data set of bench/dataset.py.

  writes (8 clients, TPS)   a new award (a new user each time) vs a raw INSERT … ON CONFLICT DO
                            NOTHING into a table shaped like badges.awards; a repeated award vs
                            a raw no-op insert
  reads (1 client, latency) leaderboards (me + total + a page of 100: top, anonymous, offset
                            500,000 or half the board, keyset page there, the score board),
                            another user's profile (a page of 20 badges, showcase, level, count)
                            and a badge's holders (20 of social_sharer's 1M: first, at 500,000),
                            the catalog boards (a page of 100 with me, around_me with radius
                            25: all time, this week, last week archived, and all time on a
                            board whose values are nearly all distinct)
                            vs a bare top-100 index scan of a narrow table holding the same board

Pairs alternate (figure, reference, figure, …) for `rounds` rounds; medians over rounds. The
reads are measured before the writes (the table lists the writes first). Where
pgbench is missing, the figures cannot be taken: the caller says so.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench import benchdb


@dataclass(frozen=True)
class Script:
    name: str
    sql: str
    clients: int


@dataclass(frozen=True)
class Run:
    tps: float
    p50_ms: float
    p99_ms: float
    transactions: int


@dataclass(frozen=True)
class Figure:
    """A figure, its reference and their medians over rounds."""

    name: str
    reference: str
    runs: list[Run]
    reference_runs: list[Run]

    def median(self, runs: list[Run], field: str) -> float:
        return statistics.median(getattr(r, field) for r in runs)


USER = "md5('u' || :i)::uuid"


def write_scripts(users: int, quizzers: int, active: int) -> list[tuple[Script, Script]]:
    """(figure, reference) pairs of pgbench scripts for a data set of `users` users."""
    pick = f"\\set i random(1, {users})\n"
    xp_user = f"\\set i random(1, {active})\n"  # the users on bench_xp
    quizzer = f"\\set i random({users - quizzers + 1}, {users})\n"
    deep = min(500_000, users // 2)
    ref_scan = Script(
        "top-100 index scan of a narrow board",
        "select user_id, value from bench.board order by value desc, at, user_id limit 100;\n",
        1,
    )
    return [
        (
            Script(
                "new award",
                "select badges.award_badge(gen_random_uuid(), 'social_sharer', false);\n",
                8,
            ),
            Script(
                "raw insert",
                "insert into bench.raw_awards (user_id, badge_id)"
                " values (gen_random_uuid(), 'social_sharer') on conflict do nothing;\n",
                8,
            ),
        ),
        (
            Script(
                "repeated award",
                f"{pick}select badges.award_badge({USER}, 'social_sharer', false);\n",
                8,
            ),
            Script(
                "raw no-op insert",
                f"{pick}insert into bench.raw_noop (user_id, badge_id)"
                f" values ({USER}, 'social_sharer') on conflict do nothing;\n",
                8,
            ),
        ),
        (
            Script(
                "leaderboard(me, 100, 0)", f"{pick}select badges.leaderboard({USER}, 100, 0);\n", 1
            ),
            ref_scan,
        ),
        (
            Script("leaderboard(null, 100, 0)", "select badges.leaderboard(null, 100, 0);\n", 1),
            ref_scan,
        ),
        (
            Script(
                "leaderboard(me, 1, 0): me", f"{pick}select badges.leaderboard({USER}, 1, 0);\n", 1
            ),
            ref_scan,
        ),
        (
            Script(
                f"leaderboard(me, 100, {deep:,})",
                f"{pick}select badges.leaderboard({USER}, 100, {deep});\n",
                1,
            ),
            ref_scan,
        ),
        (
            Script(
                f"leaderboard keyset page at {deep:,}",
                f"{pick}select badges.leaderboard({USER}, 100, 0,"
                " :v, :at::timestamptz, :after::uuid);\n",
                1,
            ),
            ref_scan,
        ),
        (
            Script(
                "score_leaderboard(me, 100, 0)",
                f"{quizzer}select badges.score_leaderboard({USER}, 100, 0);\n",
                1,
            ),
            ref_scan,
        ),
        (
            # Every user holds social_sharer: the most holders a badge can have.
            Script(
                "badge_holders(social_sharer, 20)",
                f"{pick}select badges.badge_holders({USER}, 'social_sharer', 20);\n",
                1,
            ),
            ref_scan,
        ),
        (
            Script(
                f"badge_holders keyset page at {deep:,}",
                f"{pick}select badges.badge_holders({USER}, 'social_sharer', 20,"
                " :held_at::timestamptz, :holder::uuid);\n",
                1,
            ),
            ref_scan,
        ),
        (
            Script(
                "catalog board, all time (me, 100, 0)",
                f"{pick}select badges.board_leaderboard({USER}, 'bench_all', null, 100, 0);\n",
                1,
            ),
            ref_scan,
        ),
        (
            Script(
                "catalog board, this week (me, 100, 0)",
                f"{pick}select badges.board_leaderboard({USER}, 'bench_week', null, 100, 0);\n",
                1,
            ),
            ref_scan,
        ),
        (
            Script(
                "catalog board, last week archived (me, 100, 0)",
                f"{pick}select badges.board_leaderboard({USER}, 'bench_week', 'previous',"
                " 100, 0);\n",
                1,
            ),
            ref_scan,
        ),
        (
            Script(
                "around_me(me, radius 25), all time",
                f"{pick}select badges.around_me({USER}, 'bench_all', null, 25);\n",
                1,
            ),
            ref_scan,
        ),
        (
            Script(
                "around_me(me, radius 25), this week",
                f"{pick}select badges.around_me({USER}, 'bench_week', null, 25);\n",
                1,
            ),
            ref_scan,
        ),
        (
            Script(
                "around_me(me, radius 25), last week archived",
                f"{pick}select badges.around_me({USER}, 'bench_week', 'previous', 25);\n",
                1,
            ),
            ref_scan,
        ),
        (
            Script(
                "catalog board, values all distinct (me, 100, 0)",
                f"{xp_user}select badges.board_leaderboard({USER}, 'bench_xp', null, 100, 0);\n",
                1,
            ),
            ref_scan,
        ),
        (
            Script(
                "around_me(me, radius 25), values all distinct",
                f"{xp_user}select badges.around_me({USER}, 'bench_xp', null, 25);\n",
                1,
            ),
            ref_scan,
        ),
        (
            # Another user's public profile, the first page of 20 badges (a user holds 1 to 31).
            Script(
                "profile(user, 20)",
                f"{pick}select badges.profile(md5('v' || :i)::uuid, {USER}, 20, null, null);\n",
                1,
            ),
            ref_scan,
        ),
    ]


def run_pgbench(url: str, script: Script, seconds: float, variables: dict[str, str]) -> Run:
    pgbench = benchdb.pgbench_path()
    if pgbench is None:
        raise RuntimeError("pgbench not found (neither the embedded server's nor on PATH)")
    args, env = benchdb.pgbench_env(url)
    with tempfile.TemporaryDirectory(prefix="badges-pgbench-") as folder:
        path = Path(folder) / "script.sql"
        path.write_text(script.sql)
        command = [
            pgbench, "-n", "-M", "prepared", "-c", str(script.clients),
            "-j", str(min(script.clients, 2)), "-T", str(max(1, round(seconds))),
            "-f", str(path), "-l", f"--log-prefix={folder}/log",
        ]  # fmt: skip
        for name, value in variables.items():
            command += ["-D", f"{name}={value}"]
        done = subprocess.run(
            [*command, *args], env=env, capture_output=True, text=True, timeout=seconds + 120
        )
        if done.returncode != 0 or "aborted" in done.stdout + done.stderr:
            raise RuntimeError(f"pgbench {script.name!r} failed:\n{done.stdout}\n{done.stderr}")
        latencies = sorted(
            int(line.split()[2]) / 1000
            for log in Path(folder).glob("log.*")
            for line in log.read_text().splitlines()
        )
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    if match is None or not latencies:
        raise RuntimeError(f"pgbench {script.name!r}: no result in\n{done.stdout}")
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return Run(float(match.group(1)), statistics.median(latencies), p99, len(latencies))


def measure(
    url: str,
    pairs: list[tuple[Script, Script]],
    seconds: float,
    rounds: int,
    variables: dict[str, str],
) -> list[Figure]:
    figures: dict[int, Figure] = {}
    # The reads (1 client) first, on the database as loaded and analysed: after the award
    # figures autovacuum works for minutes through the rows they wrote, and a latency measured
    # beside it on 2 cores measures the vacuum. Figures are returned in the pairs' order.
    for at in sorted(range(len(pairs)), key=lambda i: pairs[i][0].clients > 1):
        figure, reference = pairs[at]
        runs, reference_runs = [], []
        # Latency (1 client) settles in far fewer seconds than throughput under 8 clients: a
        # quarter of the time still gives thousands of calls per run.
        took = seconds if figure.clients > 1 else max(1.0, seconds / 4)
        for _ in range(rounds):
            runs.append(run_pgbench(url, figure, took, variables))
            reference_runs.append(run_pgbench(url, reference, took, variables))
        figures[at] = Figure(figure.name, reference.name, runs, reference_runs)
    return [figures[at] for at in range(len(pairs))]


def keyset_variables(url: str, users: int) -> dict[str, str]:
    """The cursor of the page ending at entry min(500,000, users/2) of the badge board."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select badges.leaderboard(null, 1, %s) -> 'next_after'",
            (min(500_000, users // 2) - 1,),
        ).fetchone()
    key = row[0] if row else None
    if key is None:
        raise RuntimeError("the board is too short for a keyset page")
    return {"v": str(key["value"]), "at": str(key["at"]), "after": str(key["user_id"])}


def holder_variables(url: str, users: int) -> dict[str, str]:
    """The cursor of the page of social_sharer's holders ending at holder min(500,000,
    users/2): everyone holds it."""
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select earned_at, user_id from badges.awards where badge_id = 'social_sharer'"
            " order by earned_at desc, user_id desc offset %s limit 1",
            (min(500_000, users // 2) - 1,),
        ).fetchone()
    if row is None:
        raise RuntimeError("social_sharer has too few holders for a keyset page")
    return {"held_at": row[0].isoformat(), "holder": str(row[1])}

"""The scheduled jobs on a real pg_cron: Debian's PostgreSQL 15 with `postgresql-15-cron`
(pg_cron 1.4, whose cron.unschedule takes the job name as `name`, where 1.5 made it `text`), run
by tests/pgcron.py as a throwaway server with the launcher preloaded.

Its database gets what a Supabase project has before `supabase db push`: pg_cron (created by the
superuser, as Supabase does), stand-ins for pg_net's net.http_post and Vault's
vault.decrypted_secrets (those of test_schedule.py, which record what they are given) with both
secrets, then the project's migrations, applied with badges.migrate (which adds plain
PostgreSQL's compatibility script: the roles anon, authenticated, service_role).

- The migrations schedule the three jobs where pg_cron and pg_net exist.
- As `postgres` (what `supabase db push` runs as), badges.schedule_jobs() puts the three jobs in
  the real cron.job with their names, schedules and commands, replacing rather than adding on a
  second call; badges.unschedule_jobs() removes exactly those three, leaving a job of the user's
  own and another role's job of the same name.
- As `service_role`, to which both functions are granted but which has no USAGE on schema cron,
  both answer with an empty list and the reason instead of raising "permission denied"; granted
  USAGE on cron and pg_net, it schedules and unschedules jobs of its own.
- pg_cron runs the scheduled commands: scheduled `@reboot` (pg_cron 1.4 knows no schedule under
  a minute, and a minute is too long to wait) and the server restarted, each job runs once, as
  the scheduling user, and posts its job through net.http_post.

Skipped, saying why, only when pg_cron is missing and cannot be installed here (not root, no
apt-get, the install failed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql

from badges.migrate import migrate
from tests.pgcron import Installation, PgCronServer, Unavailable, ensure_installation
from tests.sql.conftest import Conn, call, rows
from tests.sql.test_schedule import (
    JOB_NAMES,
    JOBS,
    JOBS_URL,
    NET,
    SERVICE_KEY,
    VAULT,
    install,
    posts,
    put_secrets,
)

DBNAME = "badges_cron"

# What the three jobs are in cron.job with the default schedules.
DEFAULT_JOBS = [
    ("badges-deliver-notifications", "* * * * *", "select badges.run_job('deliver_notifications')"),
    ("badges-check-badges", "15 3 * * *", "select badges.run_job('check_badges')"),
    ("badges-check-streaks", "15 3 * * *", "select badges.run_job('check_streaks')"),
]


@dataclass
class CronDatabase:
    server: PgCronServer
    installation: Installation
    # cron.job right after the migrations were applied: (jobname, schedule, command, username)
    jobs_after_migrate: list[tuple[Any, ...]]

    @property
    def url(self) -> str:
        return self.server.url()


@pytest.fixture(scope="module")
def cron_db() -> Iterator[CronDatabase]:
    """The server, its database prepared as a Supabase project with pg_cron and pg_net, and the
    migrations applied. Skips the module when pg_cron cannot be installed here."""
    try:
        installation = ensure_installation()
    except Unavailable as exc:
        pytest.skip(f"PostgreSQL 15 with pg_cron is not available: {exc}")
    with PgCronServer(DBNAME, installation=installation) as server:
        with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("create database {}").format(sql.Identifier(DBNAME)))
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute("create extension pg_cron")
            install(conn, NET, VAULT)
            put_secrets(conn, badges_jobs_url=JOBS_URL, badges_service_role_key=SERVICE_KEY)
            migrate(server.url())
            jobs = rows(conn, "select jobname, schedule, command, username from cron.job")
        yield CronDatabase(server, installation, jobs)


def _clear(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("delete from cron.job")
        c.execute("delete from cron.job_run_details")
        c.execute("delete from net.requests")


@pytest.fixture
def conn(cron_db: CronDatabase) -> Iterator[Conn]:
    """The superuser `postgres` on the database, with no job scheduled and nothing posted; the
    jobs a test scheduled are removed after it."""
    _clear(cron_db.url)
    with psycopg.connect(cron_db.url, autocommit=True) as c:
        yield c
    _clear(cron_db.url)


def cron_jobs(conn: Conn) -> list[tuple[Any, ...]]:
    return rows(conn, "select jobname, schedule, command from cron.job order by jobid")


def jobs_of(conn: Conn) -> list[tuple[Any, ...]]:
    """(jobname, username) of every job, whoever scheduled it."""
    return rows(conn, "select jobname, username from cron.job order by jobid")


def as_role(conn: Conn, role: str, function: str, **params: Any) -> Any:
    """badges.<function>(...) called as `role` (set role), then back to postgres."""
    conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
    try:
        return call(conn, function, **params)
    finally:
        conn.execute("reset role")


# --- the server -------------------------------------------------------------------------------


def test_the_server_is_postgresql_15_with_pg_cron_from_debian(
    cron_db: CronDatabase, conn: Conn
) -> None:
    """Pins what this module tests against: PostgreSQL 15; pg_cron before 1.5 (Debian bookworm
    ships 1.4) names a job with `name` in cron.unschedule, 1.5 and later with `text`."""
    [(server_version, version)] = rows(
        conn,
        "select current_setting('server_version_num')::int,"
        " (select extversion from pg_extension where extname = 'pg_cron')",
    )
    assert server_version // 10000 == 15
    assert version == cron_db.installation.pg_cron_version
    major, minor = (int(part) for part in version.split("-")[0].split(".")[:2])
    by_name = (major, minor) < (1, 5)
    assert rows(
        conn,
        "select to_regprocedure('cron.unschedule(name)') is not null,"
        " to_regprocedure('cron.unschedule(text)') is not null",
    ) == [(by_name, not by_name)]


def test_without_usage_on_schema_cron_to_regprocedure_raises_instead_of_answering_null(
    conn: Conn,
) -> None:
    """Why the functions ask has_schema_privilege first: on PostgreSQL 15, to_regprocedure and
    to_regclass raise 42501 for a name in a schema the caller may not use (they answer NULL only
    for what does not exist); to_regnamespace answers for any schema."""
    conn.execute("set role service_role")
    assert rows(conn, "select to_regnamespace('cron') is not null") == [(True,)]
    assert rows(conn, "select has_schema_privilege('cron', 'USAGE')") == [(False,)]
    for query in (
        "select to_regprocedure('cron.schedule(text,text,text)')",
        "select to_regclass('cron.job')",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(query)


# --- as postgres: what `supabase db push` and the SQL editor run as ---------------------------


def test_applying_the_migrations_where_pg_cron_and_pg_net_exist_schedules_the_jobs(
    cron_db: CronDatabase,
) -> None:
    assert sorted(cron_db.jobs_after_migrate) == sorted((*job, "postgres") for job in DEFAULT_JOBS)


def test_schedule_jobs_puts_the_three_jobs_in_cron_job(conn: Conn) -> None:
    """Pins the jobs as pg_cron holds them: names, default schedules, the command text, owned by
    the caller, in the database pg_cron serves, active."""
    result = call(conn, "schedule_jobs")

    assert result == {"scheduled": JOB_NAMES}
    assert cron_jobs(conn) == DEFAULT_JOBS
    assert rows(conn, "select distinct username, database, active from cron.job") == [
        ("postgres", DBNAME, True)
    ]
    assert posts(conn) == []  # scheduling sends nothing


def test_scheduling_again_replaces_the_jobs_instead_of_adding_more(conn: Conn) -> None:
    """pg_cron's schedule by job name updates the caller's job of that name: same ids."""
    call(conn, "schedule_jobs")
    before = rows(conn, "select jobid, jobname from cron.job order by jobid")

    result = call(conn, "schedule_jobs", p_deliver="*/5 * * * *", p_daily="30 2 * * *")

    assert result == {"scheduled": JOB_NAMES}
    assert rows(conn, "select jobid, jobname from cron.job order by jobid") == before
    assert [(name, schedule) for name, schedule, _ in cron_jobs(conn)] == [
        ("badges-deliver-notifications", "*/5 * * * *"),
        ("badges-check-badges", "30 2 * * *"),
        ("badges-check-streaks", "30 2 * * *"),
    ]


def test_pg_cron_refuses_a_schedule_that_is_not_cron_syntax(conn: Conn) -> None:
    """The schedule is pg_cron's to check: nothing is scheduled (one transaction)."""
    with pytest.raises(psycopg.Error, match="invalid schedule"):
        call(conn, "schedule_jobs", p_daily="every day")

    assert cron_jobs(conn) == []


def test_unschedule_jobs_removes_exactly_the_three_jobs_and_leaves_a_job_of_the_user(
    conn: Conn,
) -> None:
    """On pg_cron 1.4 cron.unschedule takes the name as `name`: the jobs are found and removed
    all the same."""
    conn.execute("select cron.schedule('app-nightly', '0 1 * * *', 'select 1')")
    call(conn, "schedule_jobs")

    result = call(conn, "unschedule_jobs")

    assert result == {"unscheduled": sorted(JOB_NAMES)}
    assert cron_jobs(conn) == [("app-nightly", "0 1 * * *", "select 1")]


def test_unschedule_jobs_when_nothing_is_scheduled_removes_nothing_without_an_error(
    conn: Conn,
) -> None:
    """pg_cron raises for a job name the caller has not scheduled: only present jobs are
    unscheduled, so a second call answers an empty list."""
    call(conn, "schedule_jobs")
    call(conn, "unschedule_jobs")

    assert call(conn, "unschedule_jobs") == {"unscheduled": []}


def test_unschedule_jobs_leaves_a_job_of_the_same_name_scheduled_by_another_role(
    conn: Conn,
) -> None:
    """A job belongs to the role that scheduled it: another role's job of one of the names is
    neither removed nor an error."""
    with conn.transaction(force_rollback=True):
        conn.execute("create role badges_cron_other")
        conn.execute("grant usage on schema cron to badges_cron_other")
        conn.execute("set local role badges_cron_other")
        conn.execute("select cron.schedule('badges-check-badges', '0 0 * * *', 'select 1')")
        conn.execute("reset role")
        call(conn, "schedule_jobs")

        result = call(conn, "unschedule_jobs")

        assert result == {"unscheduled": sorted(JOB_NAMES)}
        assert jobs_of(conn) == [("badges-check-badges", "badges_cron_other")]


# --- as service_role: granted both functions, not pg_cron -------------------------------------


def test_as_service_role_schedule_jobs_answers_the_reason_instead_of_permission_denied(
    conn: Conn,
) -> None:
    """service_role has no USAGE on schema cron (pg_cron grants none, nor does Supabase): the
    documented empty answer with the reason, no job."""
    result = as_role(conn, "service_role", "schedule_jobs")

    assert result == {
        "scheduled": [],
        "reason": "not permitted: service_role has no USAGE on schema cron; run"
        " select badges.schedule_jobs(); as postgres (the SQL editor, supabase db push):"
        " pg_cron runs a job as the role that scheduled it.",
    }
    assert cron_jobs(conn) == []


def test_as_service_role_unschedule_jobs_answers_the_reason_and_leaves_the_jobs(
    conn: Conn,
) -> None:
    call(conn, "schedule_jobs")

    result = as_role(conn, "service_role", "unschedule_jobs")

    assert result == {
        "unscheduled": [],
        "reason": "not permitted: service_role has no USAGE on schema cron; run"
        " select badges.unschedule_jobs(); as the role that scheduled the jobs (postgres:"
        " the SQL editor, supabase db push).",
    }
    assert [name for name, _, _ in cron_jobs(conn)] == JOB_NAMES


def test_as_service_role_with_usage_on_cron_but_not_on_pg_net_schedules_nothing(
    conn: Conn,
) -> None:
    """A job that could only fail is not scheduled: its runs would call net.http_post as
    service_role."""
    with conn.transaction(force_rollback=True):
        conn.execute("grant usage on schema cron to service_role")

        result = as_role(conn, "service_role", "schedule_jobs")

        assert result["scheduled"] == []
        assert result["reason"].startswith("not permitted: service_role has no USAGE on schema net")
        assert cron_jobs(conn) == []


def test_as_service_role_granted_pg_cron_and_pg_net_schedules_and_unschedules_its_own_jobs(
    conn: Conn,
) -> None:
    """Where an administrator granted service_role pg_cron and pg_net, the jobs are
    service_role's: scheduled, then removed, leaving postgres's jobs of the same names."""
    call(conn, "schedule_jobs")
    with conn.transaction(force_rollback=True):
        conn.execute("grant usage on schema cron, net to service_role")

        scheduled = as_role(conn, "service_role", "schedule_jobs")
        owners = jobs_of(conn)
        unscheduled = as_role(conn, "service_role", "unschedule_jobs")

        assert scheduled == {"scheduled": JOB_NAMES}
        assert sorted(owners) == sorted(
            (name, role) for name in JOB_NAMES for role in ("postgres", "service_role")
        )
        assert unscheduled == {"unscheduled": sorted(JOB_NAMES)}
        assert jobs_of(conn) == [(name, "postgres") for name in JOB_NAMES]


# --- pg_cron runs them ------------------------------------------------------------------------


def test_pg_cron_runs_each_scheduled_command_which_posts_its_job(
    cron_db: CronDatabase, conn: Conn
) -> None:
    """The commands as pg_cron runs them (a connection of its own, as the scheduling user, in its
    database): the jobs scheduled `@reboot` and the server restarted, each runs once, succeeds,
    and posts its job to the URL from Vault with the service key."""
    assert call(conn, "schedule_jobs", p_deliver="@reboot", p_daily="@reboot") == {
        "scheduled": JOB_NAMES
    }
    conn.close()

    cron_db.server.restart()

    with psycopg.connect(cron_db.url, autocommit=True) as after:
        deadline = time.monotonic() + 30
        query = (
            "select j.jobname, d.status, d.return_message, d.username, d.database"
            " from cron.job_run_details d join cron.job j using (jobid)"
            " where d.status not in ('starting', 'running') order by j.jobid"
        )
        while len(runs := rows(after, query)) < len(JOBS) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert runs == [(name, "succeeded", "1 row", "postgres", DBNAME) for name in JOB_NAMES], (
            cron_db.server.log[-3000:]
        )
        sent = sorted(
            (body["action"], body.get("all", False), url, headers["Authorization"])
            for _, url, body, _, headers, _ in posts(after)
        )
        assert sent == sorted(
            (action, daily, JOBS_URL, f"Bearer {SERVICE_KEY}") for _, action, daily in JOBS
        )

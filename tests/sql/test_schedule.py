"""The optional pg_cron schedule (the migration badges_schedule): what our SQL sends
to pg_cron and pg_net, pinned at the wire level.

pg_cron, pg_net and Supabase Vault are not installed here, so an isolated database gets
stand-ins with their documented signatures, which record what they are given:
cron.schedule(job_name text, schedule text, command text) upserting cron.job by (jobname,
username), cron.unschedule(job_name text) failing for a job the caller does not have (as
pg_cron does), net.http_post(url, body, params, headers, timeout_milliseconds) returning a
request id, and vault.decrypted_secrets (name, decrypted_secret). They check our side of the
contract, not pg_cron's scheduler or pg_net's HTTP client.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from badges.migrate import migrations
from tests.sql.conftest import Conn, call, rows

MIGRATION = next(m.path for m in migrations() if m.name == "badges_schedule")

JOBS_URL = "https://europe-west1-demo.cloudfunctions.net/badges_jobs"
SERVICE_KEY = "eyJhbGciOiJIUzI1NiJ9.service-role-test-key.signature"

# (cron job name, the action it posts, whether it is a daily check over all users)
JOBS = [
    ("badges-deliver-notifications", "deliver_notifications", False),
    ("badges-check-badges", "check_badges", True),
    ("badges-check-streaks", "check_streaks", True),
]
JOB_NAMES = [name for name, _, _ in JOBS]

CRON = """
create schema cron;
create table cron.job (
  jobid bigint generated always as identity primary key,
  jobname text not null,
  schedule text not null,
  command text not null,
  username text not null default current_user,
  active boolean not null default true,
  unique (jobname, username));
create function cron.schedule(job_name text, schedule text, command text) returns bigint
language sql strict as $$
  insert into cron.job (jobname, schedule, command) values (job_name, schedule, command)
  on conflict (jobname, username)
    do update set schedule = excluded.schedule, command = excluded.command
  returning jobid $$;
create function cron.unschedule(job_name text) returns boolean
language plpgsql strict as $$
begin
  delete from cron.job j where j.jobname = job_name and j.username = current_user;
  if not found then
    raise exception 'could not find valid entry for job ''%''', job_name;
  end if;
  return true;
end $$;
"""

NET = """
create schema net;
create table net.requests (
  id bigint generated always as identity primary key,
  url text, body jsonb, params jsonb, headers jsonb, timeout_milliseconds integer);
create function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds integer default 5000) returns bigint
language sql as $$
  insert into net.requests (url, body, params, headers, timeout_milliseconds)
  values (url, body, params, headers, timeout_milliseconds)
  returning id $$;
"""

VAULT = """
create schema vault;
create table vault.decrypted_secrets (name text primary key, decrypted_secret text);
"""


def install(conn: Conn, *parts: str) -> None:
    with conn.transaction():
        for part in parts:
            conn.execute(part.encode())


def put_secrets(conn: Conn, **secrets: str) -> None:
    for name, value in secrets.items():
        conn.execute(
            "insert into vault.decrypted_secrets (name, decrypted_secret) values (%s, %s)",
            (name, value),
        )


def apply_migration(conn: Conn) -> None:
    """The file's text again, as the migration runner sends it: one simple query, one
    transaction."""
    with conn.transaction():
        conn.execute(MIGRATION.read_text(encoding="utf-8").encode())


def cron_jobs(conn: Conn) -> list[tuple[Any, ...]]:
    return rows(conn, "select jobname, schedule, command from cron.job order by jobid")


def posts(conn: Conn) -> list[tuple[Any, ...]]:
    return rows(
        conn,
        "select id, url, body, params, headers, timeout_milliseconds from net.requests order by id",
    )


@pytest.fixture
def supabase_conn(iso_conn: Conn) -> Conn:
    """An isolated database with the pg_cron, pg_net and Vault stand-ins and both secrets."""
    install(iso_conn, CRON, NET, VAULT)
    put_secrets(iso_conn, badges_jobs_url=JOBS_URL, badges_service_role_key=SERVICE_KEY)
    return iso_conn


# --- plain PostgreSQL: the migration is there and does nothing ------------------------------


def test_the_migrated_database_without_pg_cron_has_the_functions_and_no_cron_schema(
    iso_conn: Conn,
):
    """Pins that the guarded block is a no-op where pg_cron is absent: the template was migrated
    (this file included, recorded) without an error and without creating cron or net."""
    assert rows(
        iso_conn,
        "select to_regnamespace('cron'), to_regnamespace('net'), to_regnamespace('vault')",
    ) == [(None, None, None)]
    assert rows(
        iso_conn,
        "select to_regprocedure('badges.run_job(text)') is not null,"
        " to_regprocedure('badges.schedule_jobs(text,text)') is not null,"
        " to_regprocedure('badges.unschedule_jobs()') is not null",
    ) == [(True, True, True)]
    assert rows(
        iso_conn,
        "select name from supabase_migrations.schema_migrations where version = %s",
        MIGRATION.name.partition("_")[0],
    ) == [("badges_schedule",)]


def test_schedule_jobs_without_pg_cron_and_pg_net_schedules_nothing_and_says_why(
    iso_conn: Conn,
):
    """Pins the answer on plain PostgreSQL: no error, an empty list and the reason."""
    result = call(iso_conn, "schedule_jobs")

    assert result == {
        "scheduled": [],
        "reason": "pg_cron and pg_net are not installed: enable them, then run"
        " select badges.schedule_jobs();",
    }


def test_schedule_jobs_with_pg_cron_but_without_pg_net_schedules_nothing(iso_conn: Conn):
    """A job that could only fail is not scheduled: pg_net is needed too."""
    install(iso_conn, CRON)

    result = call(iso_conn, "schedule_jobs")

    assert result["scheduled"] == []
    assert result["reason"].startswith("pg_net is not installed")
    assert cron_jobs(iso_conn) == []


def test_unschedule_jobs_without_pg_cron_removes_nothing_and_says_why(iso_conn: Conn):
    assert call(iso_conn, "unschedule_jobs") == {
        "unscheduled": [],
        "reason": "pg_cron is not installed: nothing is scheduled.",
    }


def test_run_job_without_vault_raises_bd004_naming_vault(iso_conn: Conn):
    with pytest.raises(psycopg.Error) as failed:
        call(iso_conn, "run_job", p_action="deliver_notifications")

    assert failed.value.sqlstate == "BD004"
    assert failed.value.diag.message_primary == "Supabase Vault is not available"


def test_run_job_without_pg_net_raises_bd004_naming_pg_net(iso_conn: Conn):
    install(iso_conn, VAULT)
    put_secrets(iso_conn, badges_jobs_url=JOBS_URL, badges_service_role_key=SERVICE_KEY)

    with pytest.raises(psycopg.Error) as failed:
        call(iso_conn, "run_job", p_action="deliver_notifications")

    assert failed.value.sqlstate == "BD004"
    assert failed.value.diag.message_primary == "pg_net is not installed"
    assert "create extension if not exists pg_net" in (failed.value.diag.message_hint or "")


def test_the_migration_applies_again_on_plain_postgres(iso_conn: Conn):
    """Re-runnable: create or replace, and the guarded block still does nothing."""
    apply_migration(iso_conn)

    assert rows(iso_conn, "select to_regnamespace('cron')") == [(None,)]
    assert call(iso_conn, "schedule_jobs")["scheduled"] == []


# --- with pg_cron, pg_net and Vault: what is scheduled --------------------------------------


def test_schedule_jobs_schedules_three_named_jobs_with_their_schedules_and_commands(
    supabase_conn: Conn,
):
    """Pins the cron side: job names, the default schedules (every minute; daily at 03:15 UTC)
    and the exact command text, which names the job and holds no secret."""
    result = call(supabase_conn, "schedule_jobs")

    assert result == {"scheduled": JOB_NAMES}
    assert cron_jobs(supabase_conn) == [
        (
            "badges-deliver-notifications",
            "* * * * *",
            "select badges.run_job('deliver_notifications')",
        ),
        ("badges-check-badges", "15 3 * * *", "select badges.run_job('check_badges')"),
        ("badges-check-streaks", "15 3 * * *", "select badges.run_job('check_streaks')"),
    ]
    assert posts(supabase_conn) == []  # scheduling sends nothing


def test_schedule_jobs_takes_the_delivery_and_daily_schedules(supabase_conn: Conn):
    call(supabase_conn, "schedule_jobs", p_deliver="*/5 * * * *", p_daily="0 4 * * *")

    assert [(name, schedule) for name, schedule, _ in cron_jobs(supabase_conn)] == [
        ("badges-deliver-notifications", "*/5 * * * *"),
        ("badges-check-badges", "0 4 * * *"),
        ("badges-check-streaks", "0 4 * * *"),
    ]


def test_schedule_jobs_refuses_a_null_schedule(supabase_conn: Conn):
    """cron.schedule is strict: a null schedule would silently schedule nothing."""
    with pytest.raises(psycopg.Error) as failed:
        call(supabase_conn, "schedule_jobs", p_daily=None)

    assert failed.value.sqlstate == "BD004"
    assert cron_jobs(supabase_conn) == []


def test_scheduling_again_replaces_the_jobs_instead_of_adding_more(supabase_conn: Conn):
    """Pins the upsert by job name: same three jobs (same ids), the new schedule."""
    call(supabase_conn, "schedule_jobs")
    before = rows(supabase_conn, "select jobid, jobname from cron.job order by jobid")

    call(supabase_conn, "schedule_jobs", p_daily="30 2 * * *")

    assert rows(supabase_conn, "select jobid, jobname from cron.job order by jobid") == before
    assert {schedule for _, schedule, _ in cron_jobs(supabase_conn)[1:]} == {"30 2 * * *"}


def test_applying_the_migration_where_pg_cron_and_pg_net_exist_schedules_the_jobs(
    supabase_conn: Conn,
):
    """What `supabase db push` does on a project with both extensions enabled; applied twice, it
    still leaves three jobs."""
    apply_migration(supabase_conn)
    apply_migration(supabase_conn)

    assert [name for name, _, _ in cron_jobs(supabase_conn)] == JOB_NAMES


# --- what a scheduled job sends ---------------------------------------------------------------


@pytest.mark.parametrize(("job", "action", "daily"), JOBS)
def test_each_scheduled_command_posts_its_job_to_badges_jobs_with_the_service_key(
    supabase_conn: Conn, job: str, action: str, daily: bool
):
    """Pins the pg_net side by running the command text pg_cron would run: one POST to the URL
    from Vault, the body {"action": …} (with "all": true for the daily checks), JSON content
    type, the service key as a bearer token, no query parameters, a 55 s timeout; the command
    returns pg_net's request id."""
    call(supabase_conn, "schedule_jobs")
    [(command,)] = rows(supabase_conn, "select command from cron.job where jobname = %s", job)

    [(request_id,)] = supabase_conn.execute(command).fetchall()

    body: dict[str, Any] = {"action": action, "all": True} if daily else {"action": action}
    assert posts(supabase_conn) == [
        (
            request_id,
            JOBS_URL,
            body,
            {},
            {"Content-Type": "application/json", "Authorization": f"Bearer {SERVICE_KEY}"},
            55000,
        )
    ]


@pytest.mark.parametrize("missing", ["badges_jobs_url", "badges_service_role_key"])
def test_a_job_with_a_secret_missing_from_vault_fails_with_bd004_and_posts_nothing(
    supabase_conn: Conn, missing: str
):
    """Pins the failure a cron run records until the secrets exist: BD004, the missing secret
    named in the detail, how to create it in the hint, no request."""
    supabase_conn.execute("delete from vault.decrypted_secrets where name = %s", (missing,))

    with pytest.raises(psycopg.Error) as failed:
        call(supabase_conn, "run_job", p_action="check_badges")

    assert failed.value.sqlstate == "BD004"
    assert failed.value.diag.message_primary == "badges job secrets missing from Vault"
    assert failed.value.diag.message_detail == f"Missing: {missing}."
    assert f"'{missing}'" in (failed.value.diag.message_hint or "")
    assert posts(supabase_conn) == []


def test_a_job_with_both_secrets_missing_names_both(supabase_conn: Conn):
    supabase_conn.execute("delete from vault.decrypted_secrets")

    with pytest.raises(psycopg.Error) as failed:
        call(supabase_conn, "run_job", p_action="deliver_notifications")

    assert failed.value.diag.message_detail == (
        "Missing: badges_jobs_url, badges_service_role_key."
    )
    assert posts(supabase_conn) == []


def test_an_empty_secret_counts_as_missing(supabase_conn: Conn):
    supabase_conn.execute(
        "update vault.decrypted_secrets set decrypted_secret = '' where name = 'badges_jobs_url'"
    )

    with pytest.raises(psycopg.Error) as failed:
        call(supabase_conn, "run_job", p_action="deliver_notifications")

    assert failed.value.diag.message_detail == "Missing: badges_jobs_url."
    assert posts(supabase_conn) == []


@pytest.mark.parametrize("action", ["backfill", "check_streaks_all", "", "DELIVER_NOTIFICATIONS"])
def test_run_job_refuses_a_job_that_is_not_ours_and_posts_nothing(supabase_conn: Conn, action: str):
    with pytest.raises(psycopg.Error) as failed:
        call(supabase_conn, "run_job", p_action=action)

    assert failed.value.sqlstate == "BD004"
    assert failed.value.diag.message_primary == "unknown job"
    assert posts(supabase_conn) == []


def test_run_job_refuses_a_null_job(supabase_conn: Conn):
    with pytest.raises(psycopg.Error) as failed:
        supabase_conn.execute("select badges.run_job(null)")

    assert failed.value.sqlstate == "BD004"
    assert posts(supabase_conn) == []


# --- unscheduling ------------------------------------------------------------------------------


def test_unschedule_jobs_removes_the_three_jobs_and_leaves_other_jobs(supabase_conn: Conn):
    supabase_conn.execute("select cron.schedule('app-nightly', '0 1 * * *', 'select 1')")
    call(supabase_conn, "schedule_jobs")

    result = call(supabase_conn, "unschedule_jobs")

    assert result == {"unscheduled": sorted(JOB_NAMES)}
    assert cron_jobs(supabase_conn) == [("app-nightly", "0 1 * * *", "select 1")]


def test_unschedule_jobs_when_nothing_is_scheduled_removes_nothing_without_an_error(
    supabase_conn: Conn,
):
    """pg_cron's unschedule by name fails for a job that does not exist: only present jobs are
    unscheduled, so a second call (or one before any schedule) answers an empty list."""
    call(supabase_conn, "schedule_jobs")
    call(supabase_conn, "unschedule_jobs")

    assert call(supabase_conn, "unschedule_jobs") == {"unscheduled": []}


def test_unschedule_jobs_leaves_a_job_of_the_same_name_scheduled_by_another_user(
    supabase_conn: Conn,
):
    """cron.job is keyed by (jobname, username) and pg_cron unschedules only the caller's job:
    another user's job of that name is neither removed nor an error."""
    supabase_conn.execute(
        "insert into cron.job (jobname, schedule, command, username)"
        " values ('badges-check-badges', '0 0 * * *', 'select 1', 'someone_else')"
    )

    assert call(supabase_conn, "unschedule_jobs") == {"unscheduled": []}
    assert rows(supabase_conn, "select username from cron.job") == [("someone_else",)]

"""The trigger functions an app attaches to its own tables (badges.track_insert, track_change,
track_set, track_true): writes to the app's tables count toward a metric and award badges in
the app's own transaction, also when the app's client role does the writing.

One database of this module's own holds the Dev-Space catalog, three more metrics and the app's
tables (public.projects, public.profiles, and tables whose triggers are misdeclared); tests keep
apart by using fresh user ids.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import errors, sql

from tests.sql.conftest import Conn, count, rows
from tests.sql.rules_fixtures import awards, devspace_database, notified

TABLE_TRIGGERS = ["track_change", "track_insert", "track_set", "track_true"]

# Metrics of this module's own, one per profile trigger, so each test reads one trigger's count.
EXTRA_METRICS = [
    {"id": "profile_edit", "name": "Profile edits"},
    {"id": "avatar_set", "name": "Avatars set"},
    {"id": "email_verified", "name": "Verified emails"},
]

APP_SCHEMA = """
create table public.projects (
  id bigserial primary key, owner_id uuid, name text not null default 'project');
create trigger count_projects after insert or delete on public.projects
  for each row execute function badges.track_insert('project_created', 'owner_id');

-- The app's clients create and read their own projects (as through PostgREST).
grant select, insert on public.projects to authenticated;
grant usage on sequence public.projects_id_seq to authenticated;
alter table public.projects enable row level security;
create policy "Users create their own projects" on public.projects
  for insert to authenticated with check (owner_id = (select auth.uid()));
create policy "Users read their own projects" on public.projects
  for select to authenticated using (owner_id = (select auth.uid()));

create table public.profiles (
  id uuid primary key default gen_random_uuid(), user_id uuid, bio text, avatar_url text,
  email_verified boolean not null default false);
create trigger count_bio_edits after update on public.profiles
  for each row execute function badges.track_change('profile_edit', 'bio');
create trigger count_avatars after insert or update or delete on public.profiles
  for each row execute function badges.track_set('avatar_set', 'avatar_url');
create trigger count_verifications after insert or update or delete on public.profiles
  for each row execute function badges.track_true('email_verified', 'email_verified');

-- Misdeclared triggers: an undeclared metric, a missing owner column, a missing watched column.
create table public.bad_metric (id bigserial primary key, user_id uuid);
create trigger count_bad_metric after insert on public.bad_metric
  for each row execute function badges.track_insert('no_such_metric');
create table public.bad_toggle (id bigserial primary key, user_id uuid, done boolean);
create trigger count_bad_toggle after insert or update on public.bad_toggle
  for each row execute function badges.track_true('no_such_metric', 'done');
create table public.bad_owner (id bigserial primary key, owner_id uuid);
create trigger count_bad_owner after insert on public.bad_owner
  for each row execute function badges.track_insert('project_created');
create table public.bad_watched (id bigserial primary key, user_id uuid, title text);
create trigger count_bad_watched after insert or update or delete on public.bad_watched
  for each row execute function badges.track_set('avatar_set', 'avatar_url');
-- A once-per-row trigger that a delete would not fire: farmable, so refused.
create table public.no_delete (id bigserial primary key, user_id uuid, avatar_url text);
create trigger count_no_delete after insert or update on public.no_delete
  for each row execute function badges.track_set('avatar_set', 'avatar_url');
"""


@pytest.fixture(scope="module")
def app_url(make_catalog_database: Callable[[Path], str]) -> str:
    """A Dev-Space database (plus EXTRA_METRICS) with the app's tables and their triggers."""
    return devspace_database(make_catalog_database, EXTRA_METRICS, APP_SCHEMA)


@pytest.fixture
def app(app_url: str) -> Iterator[Conn]:
    """A connection to the app's database, as the app's server (owner of its tables)."""
    with psycopg.connect(app_url, autocommit=True) as c:
        yield c


@contextmanager
def acting_as(conn: Conn, role: str, sub: UUID | None = None) -> Iterator[Conn]:
    """A transaction as PostgREST runs a request (as in test_security.py): the role and the
    verified claims, set local. Always rolled back."""
    claims: dict[str, str] = {"role": role}
    if sub is not None:
        claims["sub"] = str(sub)
    with conn.transaction(force_rollback=True):
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        yield conn


def total(conn: Conn, user: UUID, metric: str) -> int | None:
    """The user's total of metric, or None when nothing was ever counted."""
    found = rows(
        conn,
        "select total from badges.metric_totals where user_id = %s and metric = %s",
        user,
        metric,
    )
    return None if not found else int(found[0][0])


def amounts(conn: Conn, user: UUID, metric: str) -> list[int]:
    """The amounts of the user's logged events of metric, in order."""
    return [
        r[0]
        for r in rows(
            conn,
            "select amount from badges.metric_events where user_id = %s and metric = %s"
            " order by id",
            user,
            metric,
        )
    ]


def add_project(conn: Conn, owner: UUID | None) -> int:
    row = conn.execute(
        "insert into public.projects (owner_id) values (%s) returning id", (owner,)
    ).fetchone()
    assert row is not None
    return int(row[0])


def add_profile(
    conn: Conn, user: UUID, *, avatar_url: str | None = None, email_verified: bool = False
) -> UUID:
    row = conn.execute(
        "insert into public.profiles (user_id, avatar_url, email_verified) values (%s, %s, %s)"
        " returning id",
        (user, avatar_url, email_verified),
    ).fetchone()
    assert row is not None
    return UUID(str(row[0]))


def set_profile(conn: Conn, profile: UUID, column: str, value: object) -> None:
    conn.execute(
        sql.SQL("update public.profiles set {} = %s where id = %s").format(sql.Identifier(column)),
        (value, profile),
    )


# --- track_insert ----------------------------------------------------------------------------


def test_each_inserted_row_counts_and_awards_what_the_total_reaches_once(app: Conn, user: UUID):
    for _ in range(5):
        add_project(app, user)

    assert total(app, user, "project_created") == 5
    assert amounts(app, user, "project_created") == [1] * 5
    assert awards(app, user) == ["first_builder", "project_rookie"]
    assert notified(app, user) == ["first_builder", "project_rookie"]


def test_a_multi_row_insert_counts_every_row(app: Conn, user: UUID):
    app.execute(
        "insert into public.projects (owner_id, name) select %s, 'p' || i"
        " from generate_series(1, 7) i",
        (user,),
    )

    assert total(app, user, "project_created") == 7
    assert rows(
        app,
        "select total from badges.metric_events where user_id = %s order by id",
        user,
    ) == [(n,) for n in range(1, 8)]
    assert awards(app, user) == ["first_builder", "project_rookie"]


def test_a_deleted_row_counts_minus_one(app: Conn, user: UUID):
    first = add_project(app, user)
    add_project(app, user)
    add_project(app, user)

    app.execute("delete from public.projects where id = %s", (first,))

    assert total(app, user, "project_created") == 2
    assert amounts(app, user, "project_created") == [1, 1, 1, -1]


def test_a_row_without_an_owner_counts_for_nobody(app: Conn):
    def counted() -> tuple[int, int, int]:
        found = rows(
            app,
            "select (select count(*) from badges.metric_events),"
            " (select coalesce(sum(total), 0) from badges.metric_totals),"
            " (select count(*) from badges.users)",
        )
        return found[0]  # type: ignore[return-value]

    before = counted()
    project = add_project(app, None)

    assert rows(app, "select owner_id from public.projects where id = %s", project) == [(None,)]
    assert counted() == before


def test_the_count_and_the_award_belong_to_the_apps_transaction(app: Conn, user: UUID):
    """Inside the app's transaction the insert has counted and awarded; rolled back, neither
    remains."""
    with app.transaction(force_rollback=True):
        add_project(app, user)
        inside = (total(app, user, "project_created"), awards(app, user))

    assert inside == (1, ["first_builder"])
    assert total(app, user, "project_created") is None
    assert awards(app, user) == []
    for table in ("metric_events", "notifications", "user_stats", "users"):
        assert count(app, table, user) == 0, table


# --- track_change ----------------------------------------------------------------------------


def test_track_change_counts_each_update_that_changes_the_column_only(app: Conn, user: UUID):
    profile = add_profile(app, user)
    seen = []
    for column, value in [
        ("bio", "hello"),  # NULL -> 'hello': a change
        ("bio", "hello"),  # the same value: no change
        ("avatar_url", "a.png"),  # another column
        ("bio", "hi"),
        ("bio", None),  # clearing it is a change too
    ]:
        set_profile(app, profile, column, value)
        seen.append(total(app, user, "profile_edit"))

    assert seen == [1, 1, 1, 2, 3]


def test_track_change_does_not_count_the_insert(app: Conn, user: UUID):
    app.execute("insert into public.profiles (user_id, bio) values (%s, 'new')", (user,))

    assert total(app, user, "profile_edit") is None


# --- track_set and track_true: once per row ---------------------------------------------------


def test_track_set_counts_a_row_once_however_often_its_value_is_changed_cleared_and_set(
    app: Conn, user: UUID
):
    profile = add_profile(app, user)
    seen = [total(app, user, "avatar_set")]
    for value in ["a", "b", None, "c"]:
        set_profile(app, profile, "avatar_url", value)
        seen.append(total(app, user, "avatar_set"))

    assert seen == [None, 1, 1, 1, 1]
    assert amounts(app, user, "avatar_set") == [1]


def test_track_set_counts_an_insert_with_a_value_and_not_the_rows_later_toggles(
    app: Conn, user: UUID
):
    profile = add_profile(app, user, avatar_url="x.png")
    inserted = total(app, user, "avatar_set")
    set_profile(app, profile, "avatar_url", None)
    set_profile(app, profile, "avatar_url", "y.png")

    assert inserted == 1
    assert total(app, user, "avatar_set") == 1


def test_track_set_counts_each_row_of_a_user_once(app: Conn, user: UUID):
    first = add_profile(app, user)
    add_profile(app, user, avatar_url="b.png")
    set_profile(app, first, "avatar_url", "a.png")

    assert total(app, user, "avatar_set") == 2


def test_track_true_counts_a_row_once_when_it_first_becomes_true(app: Conn, user: UUID):
    profile = add_profile(app, user)
    seen = [total(app, user, "email_verified")]
    for value in [True, False, True]:
        set_profile(app, profile, "email_verified", value)
        seen.append(total(app, user, "email_verified"))

    assert seen == [None, 1, 1, 1]
    assert amounts(app, user, "email_verified") == [1]


def test_track_true_counts_an_insert_with_true_and_each_row_once(app: Conn, user: UUID):
    add_profile(app, user, email_verified=True)
    other = add_profile(app, user)
    set_profile(app, other, "email_verified", True)

    assert total(app, user, "email_verified") == 2


def delete_profile(conn: Conn, profile: UUID) -> None:
    conn.execute("delete from public.profiles where id = %s", (profile,))


@pytest.mark.parametrize(
    ("metric", "counted"),
    [("avatar_set", {"avatar_url": "a.png"}), ("email_verified", {"email_verified": True})],
)
def test_inserting_and_deleting_fresh_rows_cannot_farm_a_once_per_row_metric(
    app: Conn, user: UUID, metric: str, counted: dict[str, object]
):
    for _ in range(3):
        delete_profile(app, add_profile(app, user, **counted))  # type: ignore[arg-type]

    assert total(app, user, metric) == 0
    assert amounts(app, user, metric) == [1, -1, 1, -1, 1, -1]
    assert rows(app, "select count(*) from public.profiles where user_id = %s", user) == [(0,)]


def test_a_deleted_row_inserted_again_counts_again_and_an_uncounted_row_takes_nothing_back(
    app: Conn, user: UUID
):
    kept = add_profile(app, user, avatar_url="a.png")
    delete_profile(app, add_profile(app, user))  # never had an avatar: nothing to take back
    delete_profile(app, kept)
    app.execute(
        "insert into public.profiles (id, user_id, avatar_url) values (%s, %s, 'b.png')",
        (kept, user),
    )

    assert total(app, user, "avatar_set") == 1
    assert amounts(app, user, "avatar_set") == [1, -1, 1]


def test_a_once_per_row_trigger_that_a_delete_would_not_fire_fails_the_write_with_bd004(
    app: Conn, user: UUID
):
    with pytest.raises(psycopg.Error) as failed:
        app.execute(
            "insert into public.no_delete (user_id, avatar_url) values (%s, 'a.png')", (user,)
        )

    assert failed.value.sqlstate == "BD004"
    assert "count_no_delete" in (failed.value.diag.message_detail or "")
    assert "OR DELETE" in (failed.value.diag.message_hint or "")
    assert total(app, user, "avatar_set") is None


# --- safety: clients write the app's tables, never badges' ------------------------------------


def test_the_apps_client_role_inserts_a_row_and_the_trigger_counts_and_awards(
    app: Conn, user: UUID
):
    with acting_as(app, "authenticated", user):
        add_project(app, user)
        # Read back as the user, through badges' own RLS policies.
        seen = rows(
            app,
            "select current_user::text,"
            " (select total from badges.metric_totals where metric = 'project_created'),"
            " (select array_agg(badge_id order by badge_id) from badges.awards)",
        )

    assert seen == [("authenticated", 1, ["first_builder"])]


def test_the_apps_policy_refuses_a_client_row_owned_by_another_user(app: Conn, user: UUID):
    other = uuid4()
    with pytest.raises(errors.InsufficientPrivilege), acting_as(app, "authenticated", user):
        add_project(app, other)

    assert total(app, other, "project_created") is None


@pytest.mark.parametrize(
    "statement",
    [
        "insert into badges.metric_totals (user_id, metric, total)"
        " values (%(user)s, 'project_created', 100)",
        "update badges.metric_totals set total = 100 where user_id = %(user)s",
        "insert into badges.metric_events (user_id, metric, amount, total)"
        " values (%(user)s, 'project_created', 100, 100)",
        "insert into badges.awards (user_id, badge_id) values (%(user)s, 'code_architect')",
    ],
)
def test_the_apps_client_role_still_cannot_write_badges_tables(
    app: Conn, user: UUID, statement: str
):
    add_project(app, user)  # the user has a total the update could change

    with pytest.raises(errors.InsufficientPrivilege), acting_as(app, "authenticated", user):
        app.execute(statement, {"user": user})

    assert total(app, user, "project_created") == 1
    assert awards(app, user) == ["first_builder"]


@pytest.mark.parametrize("function", TABLE_TRIGGERS)
def test_the_apps_client_role_cannot_execute_the_trigger_functions(app: Conn, function: str):
    assert rows(
        app,
        "select has_function_privilege('authenticated', %s, 'execute')",
        f"badges.{function}()",
    ) == [(False,)]


@pytest.mark.parametrize("function", TABLE_TRIGGERS)
def test_the_apps_client_role_cannot_attach_a_trigger_function_to_a_table_of_its_own(
    app: Conn, function: str
):
    """The role may create a table (CREATE on a scratch schema), so what fails is the function."""
    attach = sql.SQL(
        "create trigger mine after insert or update on scratch.mine"
        " for each row execute function badges.{}('project_created', 'flag')"
    ).format(sql.Identifier(function))
    with app.transaction(force_rollback=True):
        app.execute("create schema scratch")
        app.execute("grant usage, create on schema scratch to authenticated")
        app.execute("set local role authenticated")
        app.execute("create table scratch.mine (id bigserial primary key, user_id uuid, flag bool)")
        owner = rows(app, "select tableowner::text from pg_tables where schemaname = 'scratch'")
        with pytest.raises(errors.InsufficientPrivilege) as refused:
            app.execute(attach)

    assert owner == [("authenticated",)]
    assert str(refused.value) == f"permission denied for function badges.{function}"


# --- misdeclared triggers ---------------------------------------------------------------------


def test_a_trigger_counting_an_undeclared_metric_fails_the_insert_with_bd005(app: Conn, user: UUID):
    with pytest.raises(psycopg.Error) as failed:
        app.execute("insert into public.bad_metric (user_id) values (%s)", (user,))

    assert failed.value.sqlstate == "BD005"
    assert "count_bad_metric" in (failed.value.diag.message_detail or "")
    assert rows(app, "select count(*) from public.bad_metric where user_id = %s", user) == [(0,)]
    for table in ("metric_totals", "metric_events", "users"):
        assert count(app, table, user) == 0, table


def test_a_toggle_trigger_with_an_undeclared_metric_fails_even_a_write_it_would_not_count(
    app: Conn, user: UUID
):
    """A misspelt metric shows on the first write, not on the first write that would count."""
    with pytest.raises(psycopg.Error) as failed:
        app.execute("insert into public.bad_toggle (user_id, done) values (%s, false)", (user,))

    assert failed.value.sqlstate == "BD005"


@pytest.mark.parametrize(
    ("table", "owner_column", "trigger"),
    [
        ("bad_owner", "owner_id", "count_bad_owner"),  # counts user_id, which it lacks
        ("bad_watched", "user_id", "count_bad_watched"),  # watches avatar_url, which it lacks
    ],
)
def test_a_trigger_naming_a_missing_column_fails_the_insert_with_bd004(
    app: Conn, user: UUID, table: str, owner_column: str, trigger: str
):
    insert = sql.SQL("insert into public.{} ({}) values (%s)").format(
        sql.Identifier(table), sql.Identifier(owner_column)
    )
    with pytest.raises(psycopg.Error) as failed:
        app.execute(insert, (user,))

    assert failed.value.sqlstate == "BD004"
    assert trigger in (failed.value.diag.message_detail or "")
    stored = sql.SQL("select count(*) from public.{} where {} = %s").format(
        sql.Identifier(table), sql.Identifier(owner_column)
    )
    assert app.execute(stored, (user,)).fetchone() == (0,)
    for badges_table in ("metric_totals", "metric_events", "users"):
        assert count(app, badges_table, user) == 0, badges_table

"""What clients can do with the database directly, acting exactly as PostgREST does:
`set local role authenticated` (or anon) and the JWT claims in request.jwt.claims.

Clients read their own rows through RLS and write nothing: every write goes through the
function, which calls the SQL functions as service_role. Tables and functions are parametrized
from the migrations and cross-checked against the catalog, so a new one is covered (or, if the
parser misses it, the cross-check fails).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import errors, sql

from badges.catalog import load_catalog
from badges.store.db import BadgesDb, MetricEvent
from tests.sql.conftest import Conn, rows

MIGRATIONS = Path(__file__).resolve().parents[2] / "supabase" / "migrations"
_SQL = "\n".join(p.read_text() for p in sorted(MIGRATIONS.glob("*.sql")))

TABLES = sorted(
    set(re.findall(r"create\s+table\s+(?:if\s+not\s+exists\s+)?badges\.(\w+)", _SQL, re.I))
)
_FUNCTION_HEADERS = re.finditer(
    r"create\s+(?:or\s+replace\s+)?function\s+badges\.(\w+)\s*\(.*?\)\s*returns\s+(\w+)"
    r"|drop\s+function\s+if\s+exists\s+badges\.(\w+)\s*\(",
    _SQL,
    re.IGNORECASE | re.DOTALL,
)


def _functions_left() -> list[str]:
    """Names of the non-trigger functions the migrations leave: read in file order, a drop
    removes a name until a later file defines it again."""
    left: set[str] = set()
    for header in _FUNCTION_HEADERS:
        created, returns, dropped = header.group(1, 2, 3)
        if created and returns.lower() != "trigger":
            left.add(created)
        elif dropped:
            left.discard(dropped)
    return sorted(left)


FUNCTIONS = _functions_left()

PER_USER_TABLES = [
    "activity_days",
    "awards",
    "frozen_days",
    "metric_events",
    "metric_items",
    "metric_totals",
    "notifications",
    "push_tokens",
    "quiz_scores",
    "shares",
    "showcases",
    "streaks",
    "user_stats",
]
SERVICE_ONLY_TABLES = [
    "board_placings",
    "board_entries",
    "board_periods",
    "board_refills",
    "outbox",
    "rarity_counts",
    "rate_limits",
    "revocations",
    "share_opens",
    "users",
]
# The trigger functions apps attach to their own tables: they must write badges tables while the
# app's client role writes the app's table. Nobody can call them (they are trigger functions and
# no client role may attach them); every other function runs with its caller's rights.
TABLE_TRIGGERS = ["track_change", "track_insert", "track_set", "track_true"]
CLIENT_ROLES = ["anon", "authenticated"]


@contextmanager
def acting_as(conn: Conn, role: str, sub: UUID | None = None) -> Iterator[Conn]:
    """A transaction as PostgREST runs a request: the role and the verified claims, set local.
    Always rolled back, so a write that wrongly succeeds changes nothing."""
    claims: dict[str, str] = {"role": role}
    if sub is not None:
        claims["sub"] = str(sub)
    with conn.transaction(force_rollback=True):
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        yield conn


def catalog_tables(conn: Conn) -> list[str]:
    return [
        r[0]
        for r in rows(
            conn,
            "select relname from pg_class where relnamespace = 'badges'::regnamespace"
            " and relkind in ('r', 'p') order by relname",
        )
    ]


def catalog_functions(conn: Conn) -> list[str]:
    """Functions in schema badges, except trigger functions (nobody calls those)."""
    return [
        r[0]
        for r in rows(
            conn,
            "select distinct proname from pg_proc where pronamespace = 'badges'::regnamespace"
            " and prorettype <> 'trigger'::regtype order by proname",
        )
    ]


def calls_of(conn: Conn, function: str) -> list[sql.Composed]:
    """A call of each overload of badges.<function> with NULL arguments. Each argument is a
    scalar subquery, so the planner cannot fold a strict function away before the privilege
    check."""
    overloads = rows(
        conn,
        "select array(select format_type(t, null) from unnest(p.proargtypes) t)"
        " from pg_proc p where p.pronamespace = 'badges'::regnamespace and p.proname = %s",
        function,
    )
    assert overloads, f"badges.{function} is not in the catalog"
    return [
        sql.SQL("select badges.{}({})").format(
            sql.Identifier(function),
            sql.SQL(", ").join(sql.SQL("(select null::{})").format(sql.SQL(t)) for t in types),
        )
        for (types,) in overloads
    ]


def updatable_column(conn: Conn, table: str) -> str:
    """A column an UPDATE may name (identity and generated columns fail before the ACL check)."""
    return str(
        rows(
            conn,
            "select attname from pg_attribute where attrelid = %s::regclass and attnum > 0"
            " and not attisdropped and attidentity = '' and attgenerated = '' order by attnum"
            " limit 1",
            f"badges.{table}",
        )[0][0]
    )


# --- the parametrization covers the catalog --------------------------------------------------


def test_tables_parsed_from_the_migrations_are_exactly_those_in_the_catalog(conn: Conn):
    assert len(TABLES) >= 10
    assert catalog_tables(conn) == TABLES


def test_functions_parsed_from_the_migrations_are_exactly_those_in_the_catalog(conn: Conn):
    assert len(FUNCTIONS) >= 20
    assert catalog_functions(conn) == FUNCTIONS


def test_per_user_tables_are_the_client_readable_tables_with_a_user_id(conn: Conn):
    readable = rows(
        conn,
        "select c.relname from pg_class c join pg_attribute a on a.attrelid = c.oid"
        " where c.relnamespace = 'badges'::regnamespace and c.relkind in ('r', 'p')"
        " and a.attname = 'user_id' and has_table_privilege('authenticated', c.oid, 'select')"
        " order by c.relname",
    )
    assert [r[0] for r in readable] == PER_USER_TABLES


# --- reads: own rows only --------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_users(db: BadgesDb, database_url: str) -> tuple[UUID, UUID]:
    """Two users with a row in every per-user table (and the shared database has many more)."""
    users = (uuid4(), uuid4())
    with psycopg.connect(database_url, autocommit=True) as conn:
        for u in users:  # a share row as create_share writes it (v1 has no shared badge)
            conn.execute(
                "insert into badges.shares (id, user_id, badge_id)"
                " values (%s, %s, 'social_sharer')",
                (u.hex, u),
            )
            # a day of activity two days ago and a freeze: record_score below freezes yesterday
            conn.execute(
                "select badges.record_activity(%s, 'UTC', now() - interval '2 days'),"
                " badges.grant_freezes(%s, 1)",
                (u, u),
            )
    v1 = load_catalog().sync_payload()
    db.sync_catalog(v1 | {"metrics": [{"id": "probe", "name": "Probe"}]})  # v1 + a metric
    for i, u in enumerate(users):
        db.register_push_token(u, f"ExponentPushToken[two-users-{i}-{u.hex}]", "ios")
        db.award_badge(u, "social_sharer", client=True)
        db.record_score(u, "openai", True)
        db.track(u, MetricEvent("probe", item="x", idempotency_key="k"), client=False)
        db.set_showcase(u, ["social_sharer"])
    return users


@pytest.mark.parametrize("table", PER_USER_TABLES)
@pytest.mark.parametrize("me", [0, 1])
def test_a_user_reads_only_their_own_rows(
    conn: Conn, two_users: tuple[UUID, UUID], table: str, me: int
):
    query = sql.SQL("select distinct user_id from badges.{}").format(sql.Identifier(table))
    with acting_as(conn, "authenticated", two_users[me]):
        seen = conn.execute(query).fetchall()

    assert seen == [(two_users[me],)]


@pytest.mark.parametrize("table", PER_USER_TABLES)
def test_an_authenticated_request_without_a_user_reads_no_rows(
    conn: Conn, two_users: tuple[UUID, UUID], table: str
):
    query = sql.SQL("select count(*) from badges.{}").format(sql.Identifier(table))
    with acting_as(conn, "authenticated"):
        assert conn.execute(query).fetchone() == (0,)


@pytest.mark.parametrize(
    ("role", "table"),
    [("anon", t) for t in PER_USER_TABLES + SERVICE_ONLY_TABLES]
    + [("authenticated", t) for t in SERVICE_ONLY_TABLES],
)
def test_unreadable_tables_refuse_select(conn: Conn, user: UUID, role: str, table: str):
    query = sql.SQL("select 1 from badges.{} limit 1").format(sql.Identifier(table))
    with pytest.raises(errors.InsufficientPrivilege), acting_as(conn, role, user):
        conn.execute(query)


@pytest.mark.parametrize("role", CLIENT_ROLES)
def test_clients_see_only_enabled_visible_badges_and_active_providers(conn: Conn, role: str):
    """Catalog rows changed in the same (rolled back) transaction, before switching role."""
    with conn.transaction(force_rollback=True):
        conn.execute(
            "insert into badges.definitions (id, name, rule, hidden, enabled) values"
            " ('test_hidden', 'Hidden', 'manual', true, true),"
            " ('test_disabled', 'Disabled', 'manual', false, false)"
        )
        conn.execute("update badges.quiz_providers set active = false where id = 'mistral'")
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))

        badge_ids = {r[0] for r in conn.execute("select id from badges.definitions")}
        providers = {r[0] for r in conn.execute("select id from badges.quiz_providers")}

    assert {"test_hidden", "test_disabled"}.isdisjoint(badge_ids)
    assert "social_sharer" in badge_ids
    assert providers == {"openai", "anthropic", "google", "meta"}


@pytest.mark.parametrize("role", CLIENT_ROLES)
def test_clients_see_only_enabled_metrics_levels_and_their_requirements(conn: Conn, role: str):
    with conn.transaction(force_rollback=True):
        conn.execute(
            "insert into badges.metrics (id, name, enabled) values"
            " ('test_on', 'On', true), ('test_off', 'Off', false)"
        )
        conn.execute(
            "insert into badges.levels (id, name, enabled) values"
            " ('test_on', 'On', true), ('test_off', 'Off', false)"
        )
        conn.execute(
            "insert into badges.level_requirements (level_id, metric, required) values"
            " ('test_on', 'test_on', 1), ('test_off', 'test_on', 1)"
        )
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))

        metrics = {r[0] for r in conn.execute("select id from badges.metrics")}
        levels = {r[0] for r in conn.execute("select id from badges.levels")}
        steps = {r[0] for r in conn.execute("select level_id from badges.level_requirements")}

    assert ("test_on" in metrics, "test_off" in metrics) == (True, False)
    assert ("test_on" in levels, "test_off" in levels) == (True, False)
    assert ("test_on" in steps, "test_off" in steps) == (True, False)


@pytest.mark.parametrize("role", CLIENT_ROLES)
def test_clients_see_only_enabled_leaderboards(conn: Conn, role: str):
    with conn.transaction(force_rollback=True):
        conn.execute(
            "insert into badges.leaderboards (id, name, metric, enabled) values"
            " ('test_on', 'On', 'badge_count', true), ('test_off', 'Off', 'badge_count', false)"
        )
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))

        boards = {r[0] for r in conn.execute("select id from badges.leaderboards")}

    assert ("test_on" in boards, "test_off" in boards) == (True, False)


# --- writes: none ----------------------------------------------------------------------------

WRITES = {
    "insert": "insert into badges.{table} default values",
    "update": "update badges.{table} set {column} = {column}",
    "delete": "delete from badges.{table}",
    "truncate": "truncate badges.{table}",
}


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("write", sorted(WRITES))
@pytest.mark.parametrize("role", CLIENT_ROLES)
def test_clients_cannot_write_any_table(conn: Conn, user: UUID, role: str, write: str, table: str):
    statement = sql.SQL(WRITES[write]).format(
        table=sql.Identifier(table), column=sql.Identifier(updatable_column(conn, table))
    )
    with pytest.raises(errors.InsufficientPrivilege), acting_as(conn, role, user):
        conn.execute(statement)


# --- functions: service_role only ------------------------------------------------------------


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("role", CLIENT_ROLES)
def test_clients_cannot_execute_any_function(conn: Conn, user: UUID, role: str, function: str):
    for call in calls_of(conn, function):
        with pytest.raises(errors.InsufficientPrivilege), acting_as(conn, role, user):
            conn.execute(call)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_service_role_may_execute_every_function(conn: Conn, function: str):
    assert rows(
        conn,
        "select bool_and(has_function_privilege('service_role', oid, 'execute')) from pg_proc"
        " where pronamespace = 'badges'::regnamespace and proname = %s",
        function,
    ) == [(True,)]


SERVICE_CALLS: dict[str, str] = {
    "award_badge": "select badges.award_badge(%s, 'social_sharer', false)",
    "revoke_badge": "select badges.revoke_badge(%s, 'quiz_master_3', 'test', 'service')",
    "record_activity": "select badges.record_activity(%s, 'Europe/Paris')",
    "record_score": "select badges.record_score(%s, 'google', true)",
    "check_streaks": "select badges.check_streaks(%s)",
    "check_quiz_master": "select badges.check_quiz_master(%s)",
    "check_streaks_all": "select badges.check_streaks_all()",
    "take_rate_token": "select badges.take_rate_token(%s, 'test', 5, 60)",
    "list_badges": "select badges.list_badges(%s)",
    "get_catalog": "select badges.get_catalog()",
    "leaderboard": "select badges.leaderboard(%s, 10, 0)",
    "score_leaderboard": "select badges.score_leaderboard(%s, 10, 0)",
    "ping": "select badges.ping()",
    "track": "select badges.track(%s, 'probe', 1, false, 'item', 'key')",
    "check_badges": "select badges.check_badges(%s)",
    "check_badges_all": "select badges.check_badges_all()",
    "progress": "select badges.progress(%s)",
    "get_badge": "select badges.get_badge(%s, 'social_sharer')",
    "badge_holders": "select badges.badge_holders(%s, 'social_sharer', 10)",
    "profile": "select badges.profile(null, %s, 20, null, null)",
    "set_showcase": "select badges.set_showcase(%s, '[\"social_sharer\"]')",
    "current_level": "select badges.current_level(%s)",
    "preferences": "select badges.preferences(%s, true, false)",
    # The catalog as it is: changes nothing (and is rolled back anyway).
    "sync_catalog": (
        "select badges.sync_catalog(jsonb_build_object("
        "'badges', (select jsonb_agg(to_jsonb(d) - 'enabled' - 'updated_at')"
        "  from badges.definitions d where d.enabled),"
        "'providers', (select jsonb_agg(to_jsonb(p) - 'active' - 'updated_at')"
        "  from badges.quiz_providers p where p.active),"
        "'metrics', (select coalesce(jsonb_agg(to_jsonb(m) - 'enabled' - 'updated_at'), '[]')"
        "  from badges.metrics m where m.enabled),"
        "'levels', '[]'::jsonb, 'streak_freezes', null, 'leaderboards', '[]'::jsonb))"
    ),
}


@pytest.mark.parametrize("function", sorted(SERVICE_CALLS))
def test_service_role_runs_what_the_function_calls(
    conn: Conn, db: BadgesDb, user: UUID, function: str, two_users: tuple[UUID, UUID]
):
    """Run as service_role, not as the superuser the other tests connect as: the functions are
    SECURITY INVOKER, so service_role's table grants are what they run with. (two_users adds
    the metric `probe` that track counts.)"""
    db.record_score(user, "openai", True)
    db.record_score(user, "anthropic", True)
    db.record_score(user, "meta", True)  # quiz_master_3, for revoke_badge
    db.award_badge(user, "social_sharer", client=True)  # for set_showcase
    query = SERVICE_CALLS[function]
    with acting_as(conn, "service_role"):
        result = conn.execute(query, (user,) * query.count("%s")).fetchone()

    assert result is not None
    assert result[0] is not None


def test_service_role_writes_land_in_the_tables(conn: Conn, user: UUID):
    with acting_as(conn, "service_role"):
        conn.execute("select badges.award_badge(%s, 'social_sharer', false)", (user,))
        conn.execute("select badges.revoke_badge(%s, 'social_sharer', 'test', 'svc')", (user,))
        seen = conn.execute(
            "select (select count(*) from badges.notifications where user_id = %s),"
            " (select count(*) from badges.revocations where user_id = %s),"
            " (select badge_count from badges.user_stats where user_id = %s)",
            (user, user, user),
        ).fetchone()

    assert seen == (1, 1, 0)


# --- catalog checks --------------------------------------------------------------------------


def test_every_table_has_row_level_security(conn: Conn):
    assert (
        rows(
            conn,
            "select relname from pg_class where relnamespace = 'badges'::regnamespace"
            " and relkind in ('r', 'p') and not relrowsecurity",
        )
        == []
    )
    assert catalog_tables(conn)  # the check above looked at something


@pytest.mark.parametrize("schema", ["badges", "auth"])
def test_every_function_pins_an_empty_search_path(conn: Conn, schema: str):
    functions = rows(
        conn,
        "select proname, proconfig from pg_proc where pronamespace = %s::regnamespace",
        schema,
    )
    assert functions
    assert [name for name, config in functions if 'search_path=""' not in (config or [])] == []


def test_only_the_app_table_triggers_are_security_definer(conn: Conn):
    definers = rows(
        conn,
        "select proname, prorettype = 'trigger'::regtype from pg_proc"
        " where pronamespace = 'badges'::regnamespace and prosecdef order by proname",
    )
    assert definers == [(name, True) for name in TABLE_TRIGGERS]


@pytest.mark.parametrize("function", TABLE_TRIGGERS)
@pytest.mark.parametrize("role", CLIENT_ROLES)
def test_clients_cannot_attach_the_table_triggers(conn: Conn, role: str, function: str):
    assert rows(
        conn,
        "select has_function_privilege(%s, %s, 'execute')",
        role,
        f"badges.{function}()",
    ) == [(False,)]


def test_public_may_execute_no_function_in_badges(conn: Conn):
    """Functions are executable by PUBLIC unless revoked: every migration must revoke."""
    assert (
        rows(
            conn,
            "select p.proname from pg_proc p,"
            " aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a"
            " where p.pronamespace = 'badges'::regnamespace and a.grantee = 0"
            " and a.privilege_type = 'EXECUTE'",
        )
        == []
    )

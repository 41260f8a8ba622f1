"""Re-running the migrations: every file applied again, in order and each in its own
transaction, on a database where all of them were applied, succeeds and changes nothing; so
does any one file applied again alone, since every object is defined in one file.

"Nothing" is a snapshot read from pg_catalog for schema badges (columns, constraints, indexes,
policies, triggers, views, functions, ACLs, RLS flags, sequences) plus the row count and an md5 of
every table's rows in primary key order, taken with real data in the tables; for one file alone,
also pg_dump's text of the schema (what supabase/schema.sql holds).
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

from badges import schema_snapshot
from badges.migrate import Migration, migrations
from badges.store.db import BadgesDb
from badges.store.postgres import PostgresStore

Snapshot = dict[str, list[tuple[Any, ...]]]

# What the schema is made of, one query per kind, each ordered so that equal means identical.
_CATALOG: dict[str, str] = {
    "schema": """
        select nspname, nspacl::text from pg_namespace where nspname = 'badges'
    """,
    "relations": """
        select c.relname, c.relkind, c.relacl::text, c.relrowsecurity, c.relforcerowsecurity,
               c.reloptions::text
        from pg_class c
        where c.relnamespace = 'badges'::regnamespace
        order by c.relname
    """,
    "columns": """
        select c.relname, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
               pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attnotnull, a.attidentity,
               a.attgenerated, a.attacl::text
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where c.relnamespace = 'badges'::regnamespace and c.relkind in ('r', 'p', 'v')
          and a.attnum > 0 and not a.attisdropped
        order by c.relname, a.attnum
    """,
    "constraints": """
        select c.conrelid::regclass::text, c.conname, c.contype,
               pg_catalog.pg_get_constraintdef(c.oid), c.convalidated
        from pg_constraint c
        where c.connamespace = 'badges'::regnamespace
        order by 1, 2
    """,
    "indexes": """
        select tablename, indexname, indexdef from pg_indexes
        where schemaname = 'badges' order by tablename, indexname
    """,
    "policies": """
        select tablename, policyname, permissive, roles::text, cmd, qual, with_check
        from pg_policies where schemaname = 'badges' order by tablename, policyname
    """,
    "triggers": """
        select c.relname, t.tgname, t.tgenabled, pg_catalog.pg_get_triggerdef(t.oid)
        from pg_trigger t join pg_class c on c.oid = t.tgrelid
        where c.relnamespace = 'badges'::regnamespace and not t.tgisinternal
        order by c.relname, t.tgname
    """,
    "views": """
        select c.relname, pg_catalog.pg_get_viewdef(c.oid)
        from pg_class c
        where c.relnamespace = 'badges'::regnamespace and c.relkind in ('v', 'm')
        order by c.relname
    """,
    "functions": """
        select p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid),
               pg_catalog.pg_get_function_arguments(p.oid),
               pg_catalog.pg_get_function_result(p.oid), l.lanname, p.provolatile,
               p.prosecdef, p.proconfig::text, p.proacl::text, pg_catalog.md5(p.prosrc),
               pg_catalog.md5(pg_catalog.pg_get_functiondef(p.oid))
        from pg_proc p join pg_language l on l.oid = p.prolang
        where p.pronamespace = 'badges'::regnamespace
        order by 1, 2
    """,
    "sequences": """
        select sequencename, data_type::text, start_value, increment_by, last_value
        from pg_sequences where schemaname = 'badges' order by sequencename
    """,
}


def table_contents(conn: psycopg.Connection[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """(table, row count, md5 of the rows as text in primary key order) for every table; the
    append-only delta tables, which have no key, in the order of their rows' text."""
    tables = conn.execute(
        """
        select c.relname,
               array(select a.attname from pg_index i
                     cross join lateral unnest(i.indkey) with ordinality k (attnum, n)
                     join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
                     where i.indrelid = c.oid and i.indisprimary order by k.n)::text[]
        from pg_class c
        where c.relnamespace = 'badges'::regnamespace and c.relkind in ('r', 'p')
        order by c.relname
        """
    ).fetchall()
    contents = []
    for table, key in tables:
        assert key or table.endswith("_deltas"), f"badges.{table} has no primary key"
        order = (
            sql.SQL(", ").join(sql.Identifier("t", column) for column in key)
            if key
            else sql.SQL("t::text")
        )
        query = sql.SQL(
            "select count(*), md5(coalesce(string_agg(t::text, E'\\n' order by {}), ''))"
            " from badges.{} t"
        ).format(order, sql.Identifier(table))
        row = conn.execute(query).fetchone()
        assert row is not None
        contents.append((table, *row))
    return contents


def snapshot(url: str) -> Snapshot:
    with psycopg.connect(url, autocommit=True) as conn:
        taken = {name: conn.execute(query).fetchall() for name, query in _CATALOG.items()}
        taken["contents"] = table_contents(conn)
    return taken


def reapply_migrations(url: str) -> list[str]:
    """Every migration file's SQL again, in name order, each in its own transaction (as
    badges.migrate and `supabase db push` apply them); returns the versions applied."""
    applied = []
    with psycopg.connect(url, autocommit=True) as conn:
        for migration in migrations():
            with conn.transaction():
                conn.execute(migration.path.read_text(encoding="utf-8").encode())
            applied.append(migration.version)
    return applied


def put_data_in(url: str) -> None:
    """Rows in most tables: awards (with their counters, rarity, inbox and outbox rows), a
    revocation, activity days and streaks, quiz scores, a rate-limit bucket, a showcase and a
    private profile."""
    store = PostgresStore(url, pool_size=1)
    try:
        db = BadgesDb(store)
        sharer, revoked = uuid4(), uuid4()
        db.award_badge(sharer, "social_sharer", client=True)
        db.award_badge(revoked, "social_sharer", client=True)
        db.revoke_badge(revoked, "social_sharer", "test", "tests")
        db.record_activity(sharer, "Europe/Paris")
        db.record_score(sharer, "openai", True)
        db.take_rate_token(sharer, "track", 5, 60)
        db.set_showcase(sharer, ["social_sharer"])
        db.preferences(sharer, None, profile_public=False)
    finally:
        store.close()


def test_reapplying_every_migration_on_a_migrated_database_changes_nothing(
    isolated_database_url: str,
):
    """Pinned: each existing file runs again without error (tables, indexes, policies and
    triggers are guarded; functions and views are replaced by themselves) and the schema, grants,
    policies, function definitions, sequences and every table's rows end exactly as they were."""
    url = isolated_database_url
    put_data_in(url)
    before = snapshot(url)
    assert any(count for _, count, _ in before["contents"]), "the snapshot holds no data"

    applied = reapply_migrations(url)

    assert applied == [m.version for m in migrations()]
    assert len(applied) >= 14
    after = snapshot(url)
    for part in before:
        assert after[part] == before[part], part


def test_reapplying_the_migrations_twice_more_still_changes_nothing(isolated_database_url: str):
    """Pinned: re-running is a fixed point, not a one-off: two more full passes leave the same
    snapshot as the first application."""
    url = isolated_database_url
    put_data_in(url)
    before = snapshot(url)

    reapply_migrations(url)
    reapply_migrations(url)

    after = snapshot(url)
    for part in before:
        assert after[part] == before[part], part


# Files that, applied again alone, would put back an older definition of an object that a later
# file replaced: file name -> which objects. Empty while every object is defined in one file (until
# the first release a change edits the file of its concern in place); after a release, a later
# migration that replaces an object of an earlier file adds that file here.
SUPERSEDED: dict[str, str] = {}


def schema_dump(url: str) -> str | None:
    """pg_dump's text of schema badges, or None where the server is newer than pg_dump."""
    with psycopg.connect(url) as conn:
        if conn.info.server_version // 10000 > schema_snapshot.pg_dump_major():
            return None
    return schema_snapshot.dump(url)


@pytest.mark.parametrize("migration", migrations(), ids=lambda m: m.name)
def test_reapplying_any_one_file_alone_changes_nothing(
    migration: Migration, isolated_database_url: str
):
    """Pinned: every object is defined in exactly one file, so any file applied again on its own
    (a developer re-running one file) puts back no older definition of anything and changes no
    row: the dump of the schema and the snapshot end as they were. (Before the baseline, applying
    the awards file again reverted award_badge to a body that awarded outside a badge's window.)"""
    if migration.path.name in SUPERSEDED:
        pytest.xfail(f"a later file replaced {SUPERSEDED[migration.path.name]}")
    url = isolated_database_url
    put_data_in(url)
    before, dumped = snapshot(url), schema_dump(url)

    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute(migration.path.read_text(encoding="utf-8").encode())

    after = snapshot(url)
    for part in before:
        assert after[part] == before[part], part
    assert schema_dump(url) == dumped


def test_reapplying_the_catalog_file_keeps_a_rule_check_that_a_later_change_widened(
    isolated_database_url: str,
):
    """Pinned: the file that creates badges.definitions leaves an existing table as it is, so a
    re-run neither narrows a check a later migration widened nor fails on a badge of a rule only
    the wider check allows."""
    catalog = next(m for m in migrations() if m.name == "badges_catalog")
    check = (
        "select pg_get_constraintdef(oid) from pg_constraint"
        " where conrelid = 'badges.definitions'::regclass and conname = 'definitions_rule_check'"
    )
    with psycopg.connect(isolated_database_url, autocommit=True) as conn:
        conn.execute(
            "alter table badges.definitions drop constraint definitions_rule_check,"
            " add constraint definitions_rule_check check (rule is not null)"
        )
        conn.execute(
            "insert into badges.definitions (id, name, rule) values ('later', 'Later', 'later')"
        )
        widened = conn.execute(check).fetchall()

        with conn.transaction():
            conn.execute(catalog.path.read_text(encoding="utf-8").encode())

        assert conn.execute(check).fetchall() == widened
        assert conn.execute(
            "select rule from badges.definitions where id = 'later'"
        ).fetchall() == [("later",)]

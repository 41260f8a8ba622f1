"""What badges.migrate does with the history a database records: a database migrated with the
files from before the baseline, or with an earlier text of a file of now, is refused, with what
to do, and nothing is applied to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from badges.migrate import FOLDED_VERSIONS, MigrationHistoryError, migrate, migrations
from tests.sql.conftest import rows

HISTORY = """
create schema supabase_migrations;
create table supabase_migrations.schema_migrations (
  version text primary key, statements text[], name text);
"""


@pytest.fixture
def empty_url(server_url: str) -> Iterator[str]:
    """A database of its own with nothing migrated."""
    name = f"badges_test_history_{uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    yield make_conninfo(server_url, dbname=name)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )


def test_the_folded_versions_are_not_the_files_of_now():
    assert len(FOLDED_VERSIONS) == 17
    assert FOLDED_VERSIONS.isdisjoint(m.version for m in migrations())
    assert max(FOLDED_VERSIONS) < min(m.version for m in migrations())


def test_a_database_migrated_before_the_baseline_is_refused_and_left_as_it_is(empty_url: str):
    """Pinned: a history of the old files (here two of them: a database made before the later
    ones existed) makes migrate raise before applying anything, naming the versions and how to
    re-create the database."""
    with psycopg.connect(empty_url, autocommit=True) as conn:
        conn.execute(HISTORY)
        conn.execute(
            "insert into supabase_migrations.schema_migrations (version, name) values"
            " ('20261122000100', 'badges_catalog'), ('20261122000200', 'badges_awards')"
        )

    with pytest.raises(MigrationHistoryError) as raised:
        migrate(empty_url)

    message = str(raised.value)
    assert "20261122000100 … 20261122000200" in message
    assert "rm -rf .data/postgres" in message
    assert "supabase db reset" in message
    with psycopg.connect(empty_url, autocommit=True) as conn:
        assert rows(conn, "select to_regnamespace('badges')") == [(None,)]
        assert rows(
            conn, "select version from supabase_migrations.schema_migrations order by 1"
        ) == [("20261122000100",), ("20261122000200",)]


def test_a_database_migrated_with_an_earlier_text_of_a_file_is_refused_and_left_as_it_is(
    make_database: Callable[[], str],
):
    """Pinned: until the first release a change edits the file of its concern in place, so a
    database that recorded another text of a file (a developer's database migrated before the
    edit) holds older definitions: migrate raises before applying anything (here the last file,
    whose record is taken away, stays unapplied), naming the file and how to re-create it, in
    one line."""
    url = make_database()
    rules = next(m for m in migrations() if m.name == "badges_rules")
    last = migrations()[-1]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "update supabase_migrations.schema_migrations"
            " set statements = array[replace(statements[1], 'p_at', 'p_when')] where version = %s",
            (rules.version,),
        )
        conn.execute(
            "delete from supabase_migrations.schema_migrations where version = %s",
            (last.version,),
        )

    with pytest.raises(MigrationHistoryError) as raised:
        migrate(url)

    message = str(raised.value)
    assert f"earlier text of {rules.path.name} (" in message
    assert "rm -rf .data/postgres" in message
    assert "supabase db reset" in message
    assert "\n" not in message
    with psycopg.connect(url, autocommit=True) as conn:
        assert (
            rows(
                conn,
                "select 1 from supabase_migrations.schema_migrations where version = %s",
                last.version,
            )
            == []
        )


def test_a_history_recorded_by_the_supabase_cli_is_not_compared_with_the_files(
    make_database: Callable[[], str],
):
    """The Supabase CLI records a file as its split statements (several elements), which do not
    spell the file exactly: such a record is taken as it is, whatever its text."""
    url = make_database()
    rules = next(m for m in migrations() if m.name == "badges_rules")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "update supabase_migrations.schema_migrations"
            " set statements = array['select 1', 'select 2'] where version = %s",
            (rules.version,),
        )

    assert migrate(url) == []


def test_versions_of_other_migrations_in_the_history_are_left_alone(
    make_database: Callable[[], str],
):
    """An app's own migrations share the Supabase CLI's table: only the folded versions are
    refused, any other is none of badges.migrate's business."""
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into supabase_migrations.schema_migrations (version, name)"
            " values ('20250101000000', 'app_init')"
        )

    assert migrate(url) == []


def test_badges_migrate_answers_an_old_history_with_one_line_and_status_1(
    empty_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    from badges import cli

    with psycopg.connect(empty_url, autocommit=True) as conn:
        conn.execute(HISTORY)
        conn.execute(
            "insert into supabase_migrations.schema_migrations (version, name)"
            " values ('20261122000100', 'badges_catalog')"
        )
    monkeypatch.setenv("DATABASE_URL", empty_url)

    status = cli.main(["migrate"])

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("badges: ")
    assert "rm -rf .data/postgres" in err
    assert "Traceback" not in err

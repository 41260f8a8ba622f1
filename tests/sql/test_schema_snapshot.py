"""supabase/schema.sql is the schema the migrations leave: regenerated with every change to them."""

from __future__ import annotations

import difflib

import psycopg
import pytest

from badges import schema_snapshot
from badges.schema_snapshot import HEADER, REGENERATE, SCHEMA_FILE


def server_major(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.info.server_version // 10000


def test_schema_sql_is_the_dump_of_the_migrated_schema(isolated_database_url: str):
    """Pinned: the committed file equals the dump of a database migrated from the files (the
    test template, with the catalog synced: a schema-only dump leaves rows out). Stale, the test
    says how to regenerate it and shows where it differs."""
    if server_major(isolated_database_url) != schema_snapshot.pg_dump_major():
        pytest.skip("schema.sql is written by the embedded server's pg_dump; another major here")
    current = HEADER + schema_snapshot.dump(isolated_database_url)
    committed = SCHEMA_FILE.read_text(encoding="utf-8")

    if committed != current:
        diff = difflib.unified_diff(
            committed.splitlines(), current.splitlines(), "committed", "migrated", lineterm=""
        )
        shown = "\n".join(list(diff)[:60])
        pytest.fail(f"supabase/schema.sql is stale: regenerate it with {REGENERATE}\n{shown}")


def test_the_dump_names_no_version_and_no_owner():
    """The file does not change with the PostgreSQL build or the connecting role."""
    text = SCHEMA_FILE.read_text(encoding="utf-8")

    assert "Dumped from" not in text
    assert "Dumped by" not in text
    assert "OWNER TO" not in text
    assert "\\restrict" not in text
    assert "CREATE SCHEMA badges;" in text

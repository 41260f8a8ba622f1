"""Apply supabase/migrations to any DATABASE_URL and record what was applied.

The files are the ones `supabase db push` applies, unchanged; the record is the Supabase CLI's
own table (supabase_migrations.schema_migrations), so the two tools agree on what is applied.
On a plain Postgres (no service_role role, no auth.uid()) the compatibility script runs first.

A database that records a migration of before the baseline (FOLDED_VERSIONS) is refused, with
what to do: those files were folded into the baseline's and no longer exist, so nothing here can
tell which of their states the database is in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

SUPABASE_DIR = Path(__file__).resolve().parents[2] / "supabase"
MIGRATIONS_DIR = SUPABASE_DIR / "migrations"
COMPAT_SCRIPT = SUPABASE_DIR / "compat" / "plain_postgres.sql"

# The migrations the baseline of 2026-12-10 folded into its files: recorded in a database, they
# say it was built by files that no longer exist (development databases: nothing was released).
FOLDED_VERSIONS = frozenset(
    {
        *("20261122000100", "20261122000200", "20261122000300", "20261122000400"),
        *("20261122000500", "20261122000600", "20261122000700"),
        *("20261123000100", "20261123000200", "20261123000300", "20261123000400"),
        *("20261123000500", "20261123000600", "20261123000700", "20261123000800"),
        *("20261123000900", "20261202000100"),
    }
)

REBUILD_ADVICE = (
    "this database was migrated with the migrations from before the baseline of 2026-12-02"
    " (it records {versions}); they were folded into the baseline's files and no longer exist,"
    " so it cannot be brought up to date. Re-create it (its data is development data):"
    " the embedded database by deleting its folder (stop `badges serve`, then"
    " `rm -rf .data/postgres`, or the folder BADGES_DATA_DIR names; the next run migrates a fresh"
    " one), a local Supabase with `supabase db reset`, any other database with"
    " `drop schema badges cascade` and `delete from supabase_migrations.schema_migrations"
    " where name like 'badges_%' and version < '20261202100000'`, then migrate again."
)

# Any constant works: it only keeps two migrators from interleaving.
_LOCK_KEY = 0x0BAD6E5

_BOOKKEEPING = """
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
  version text primary key, statements text[], name text);
"""


class MigrationHistoryError(RuntimeError):
    """The database records migrations that were folded into the baseline (FOLDED_VERSIONS)."""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @classmethod
    def from_path(cls, path: Path) -> Migration:
        version, _, name = path.stem.partition("_")
        return cls(version, name, path)


def migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    return [Migration.from_path(p) for p in sorted(directory.glob("*.sql"))]


def migrate(conninfo: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply what is not applied yet, each file in one transaction; returns the versions applied.

    Raises MigrationHistoryError, applying nothing, on a database migrated before the baseline.
    """
    applied: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            if needs_compat(conn):
                with conn.transaction():
                    conn.execute(COMPAT_SCRIPT.read_text(encoding="utf-8").encode())
            with conn.transaction():
                conn.execute(_BOOKKEEPING.encode())
            done = {
                r[0]
                for r in conn.execute("select version from supabase_migrations.schema_migrations")
            }
            if folded := sorted(done & FOLDED_VERSIONS):
                versions = folded[0] if len(folded) == 1 else f"{folded[0]} … {folded[-1]}"
                raise MigrationHistoryError(REBUILD_ADVICE.format(versions=versions))
            for m in migrations(directory):
                if m.version not in done:
                    _apply(conn, m)
                    applied.append(m.version)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied


def needs_compat(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    """True on a plain Postgres: Supabase already has the API roles and auth.uid()."""
    row = conn.execute(
        "select to_regrole('service_role') is null or to_regprocedure('auth.uid()') is null"
    ).fetchone()
    return bool(row and row[0])


def _apply(conn: psycopg.Connection[tuple[object, ...]], m: Migration) -> None:
    text = m.path.read_text(encoding="utf-8")
    with conn.transaction():
        # Bytes go out as one simple-protocol query: several statements, no placeholders.
        conn.execute(text.encode())
        conn.execute(
            "insert into supabase_migrations.schema_migrations (version, name, statements)"
            " values (%s, %s, %s)",
            (m.version, m.name, [text]),
        )

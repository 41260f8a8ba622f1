"""Apply supabase/migrations to any DATABASE_URL and record what was applied.

The files are the ones `supabase db push` applies, unchanged; the record is the Supabase CLI's
own table (supabase_migrations.schema_migrations), so the two tools agree on what is applied.
On a plain Postgres (no service_role role, no auth.uid()) the compatibility script runs first.

A database that records a migration of before the baseline (FOLDED_VERSIONS) is refused, with
what to do: those files were folded into the baseline's and no longer exist, so nothing here can
tell which of their states the database is in. So is a database migrated with an earlier text of
a file of now: until the first release a change edits the file of its concern in place, and a
version recorded as applied is never applied again, so such a database would keep the older
definitions without a word.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

SUPABASE_DIR = Path(__file__).resolve().parents[2] / "supabase"
MIGRATIONS_DIR = SUPABASE_DIR / "migrations"
COMPAT_SCRIPT = SUPABASE_DIR / "compat" / "plain_postgres.sql"

# The migrations the baseline of 2026-12-02 folded into its files: recorded in a database, they
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

# Why a database is refused: {reason} of REBUILD_ADVICE.
FOLDED_REASON = (
    "this database was migrated with the migrations from before the baseline of 2026-12-02"
    " (it records {versions}); they were folded into the baseline's files and no longer exist"
)
EDITED_REASON = (
    "this database was migrated with an earlier text of {files} (until the first release a"
    " change edits the file of its concern in place), so it may hold older definitions than the"
    " files"
)
REBUILD_ADVICE = (
    "{reason}: it cannot be brought up to date. Re-create it (its data is development data):"
    " the embedded database by deleting its folder (stop `badges serve`, then"
    " `rm -rf .data/postgres`, or the folder BADGES_DATA_DIR names; the next run migrates a fresh"
    " one), a local Supabase with `supabase db reset`, any other database with"
    " `drop schema badges cascade` and `delete from supabase_migrations.schema_migrations"
    " where name like 'badges_%'`, then migrate again."
)

# Any constant works: it only keeps two migrators from interleaving.
_LOCK_KEY = 0x0BAD6E5

_BOOKKEEPING = """
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
  version text primary key, statements text[], name text);
"""


class MigrationHistoryError(RuntimeError):
    """The database records migrations that were folded into the baseline (FOLDED_VERSIONS), or
    a file of now applied with an earlier text."""


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

    Raises MigrationHistoryError, applying nothing, on a database migrated before the baseline
    or with an earlier text of a file.
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
            recorded: dict[str, list[str] | None] = dict(
                conn.execute(
                    "select version, statements from supabase_migrations.schema_migrations"
                ).fetchall()
            )
            done = set(recorded)
            if folded := sorted(done & FOLDED_VERSIONS):
                versions = folded[0] if len(folded) == 1 else f"{folded[0]} … {folded[-1]}"
                reason = FOLDED_REASON.format(versions=versions)
                raise MigrationHistoryError(REBUILD_ADVICE.format(reason=reason))
            if edited := [m for m in migrations(directory) if _edited(m, recorded.get(m.version))]:
                files = edited[0].path.name
                if len(edited) > 1:
                    files += f" and {len(edited) - 1} more file{'s' if len(edited) > 2 else ''}"
                reason = EDITED_REASON.format(files=files)
                raise MigrationHistoryError(REBUILD_ADVICE.format(reason=reason))
            for m in migrations(directory):
                if m.version not in done:
                    _apply(conn, m)
                    applied.append(m.version)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied


def _edited(m: Migration, statements: list[str] | None) -> bool:
    """Whether the file's text is not the one the database recorded when it applied it.

    Only a version that badges.migrate applied is compared: it records the file's whole text as
    a one-element array (_apply). The Supabase CLI records a file split into its statements
    (several elements, each without the text between them), which no longer spells the file
    exactly: those versions (and any without a record of text) are taken as they are.
    """
    if statements is None or len(statements) != 1:
        return False
    return statements[0] != m.path.read_text(encoding="utf-8")


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

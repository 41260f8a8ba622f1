"""supabase/schema.sql: the schema the migrations leave, in one file to read.

`python -m badges.schema_snapshot` (`make schema`) migrates a throwaway embedded PostgreSQL,
dumps schema badges with pg_dump (--schema-only --no-owner) and writes the file, without the
lines that name versions. tests/sql/test_schema_snapshot.py fails while the file is stale.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from badges import devdb
from badges.migrate import SUPABASE_DIR, migrate

SCHEMA_FILE = SUPABASE_DIR / "schema.sql"
REGENERATE = "make schema  (or: .venv/bin/python -m badges.schema_snapshot)"

HEADER = f"""\
-- The badges schema as supabase/migrations leave it: generated, never edited by hand.
-- Read it for the current definition of every table, view, function, trigger, index, policy
-- and grant in one place; databases apply the migrations, never this file.
--
-- Until the first release a change edits the migration file of its concern in place (each
-- object stays defined once); after it, a later change is a new migration file,
-- supabase/migrations/<version>_badges_<concern>.sql, its version above the last one. Either
-- way this file is regenerated in the same change:
--   {REGENERATE}
-- tests/sql/test_schema_snapshot.py fails while it is stale.

"""

# What pg_dump writes that names a version or changes per run.
_UNSTABLE = re.compile(
    r"^(-- Dumped (from database|by pg_dump) version|\\(un)?restrict|SET transaction_timeout)"
    r"\b.*\n",
    re.MULTILINE,
)


def pg_dump_path() -> str:
    """pg_dump of the embedded server's installation (the one the snapshot is written with),
    else the one on PATH."""
    found = devdb.tool("pg_dump")
    if found is None:
        raise RuntimeError("pg_dump not found: install the dev dependencies (make install)")
    return found


def pg_dump_major() -> int:
    """The major version of pg_dump_path(), e.g. 16."""
    version = _pg_dump("--version")
    match = re.search(r"(\d+)(?:\.\d+)?", version)
    assert match, version
    return int(match.group(1))


def dump(conninfo: str) -> str:
    """Schema badges of the database at conninfo, as pg_dump writes it, without the lines that
    name versions; blank lines left by them are folded."""
    text = _pg_dump("--schema-only", "--no-owner", "--schema=badges", "--dbname", conninfo)
    return re.sub(r"\n{3,}", "\n\n", _UNSTABLE.sub("", text))


def _pg_dump(*args: str) -> str:
    """pg_dump's standard output; its arguments are ours and a connection string."""
    command = [pg_dump_path(), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout  # noqa: S603


def snapshot() -> str:
    """The file's text: the header, then the dump of a freshly migrated embedded database."""
    with tempfile.TemporaryDirectory(prefix="schema-snapshot-") as folder:
        server = devdb.start(Path(folder) / "postgres", cleanup="delete")
        try:
            url = server.get_uri()
            migrate(url)
            return HEADER + dump(url)
        finally:
            server.cleanup()


def main() -> None:
    SCHEMA_FILE.write_text(snapshot(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")


if __name__ == "__main__":
    main()

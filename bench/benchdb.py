"""The database a benchmark runs on: the embedded PostgreSQL in a temporary folder (removed when
the benchmark ends) unless DATABASE_URL names another server; migrated, with the v1 catalog.

Also finds `pgbench`: the embedded server's own (pgserver ships one) or the one on PATH.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from badges import devdb
from badges.catalog import load_catalog
from badges.migrate import migrate
from badges.store.db import BadgesDb
from badges.store.postgres import PostgresStore


@contextmanager
def server() -> Iterator[str]:
    """An admin connection string: DATABASE_URL, or a fresh embedded server for this run."""
    external = os.environ.get("DATABASE_URL")
    if external:
        yield external
        return
    # Not a private tmp_path: as root, pgserver runs PostgreSQL as an unprivileged user.
    folder = Path(tempfile.mkdtemp(prefix="badges-bench-"))
    handle = devdb.start(folder / "data", cleanup="delete")
    try:
        yield handle.get_uri()
    finally:
        handle.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(admin_url: str, name: str) -> str:
    """A new database `name` on the server (dropped first if it exists), migrated, with the v1
    catalog synced; returns its connection string."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = make_conninfo(admin_url, dbname=name)
    migrate(url)
    store = PostgresStore(url, pool_size=1)
    try:
        BadgesDb(store).sync_catalog(load_catalog().sync_payload())
    finally:
        store.close()
    return url


def pgbench_path() -> str | None:
    """pgbench of the embedded server's installation, else the one on PATH."""
    return devdb.tool("pgbench")


def pgbench_env(url: str) -> tuple[list[str], dict[str, str]]:
    """Connection arguments and environment for pgbench from a libpq connection string."""
    params = conninfo_to_dict(url)
    env = dict(os.environ)
    for key, variable in (("password", "PGPASSWORD"), ("host", "PGHOST"), ("port", "PGPORT")):
        if params.get(key):
            env[variable] = str(params[key])
    args = ["-U", str(params.get("user") or "postgres"), str(params.get("dbname") or "postgres")]
    return args, env


def server_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("select current_setting('server_version')").fetchone()
    assert row is not None
    return str(row[0])

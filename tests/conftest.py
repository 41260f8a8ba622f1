"""Shared fixtures: one real PostgreSQL for the whole run.

The embedded server (pgserver) unless DATABASE_URL points at another. The schema is migrated
into a template database once; the shared test database and every isolated one are copies of it.
Tests share the shared database by using fresh random user ids (no truncation); tests whose
assertions are global (leaderboard ranks) take an isolated database.

Every temporary file and folder of the run lives in one scratch folder, removed when the run
ends; no process of the run may outlive it (an embedded PostgreSQL, a `badges serve`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from badges import devdb
from badges.catalog import CATALOGS_DIR, load_catalog
from badges.migrate import migrate
from badges.store.db import BadgesDb
from badges.store.postgres import PostgresStore

TEMPLATE_DB = "badges_test_template"

# The shipped example catalogs (the template holds the v1 catalog, default.toml).
DEVSPACE = CATALOGS_DIR / "devspace.toml"
BUSINESS = CATALOGS_DIR / "business.toml"

# The badges of the v1 catalog (supabase/catalogs/default.toml), in sort order.
CATALOG_BADGES = (
    "streak_3d",
    "streak_7d",
    "streak_30d",
    "quiz_master_3",
    "quiz_master_all",
    "social_sharer",
)
# What every badge object on the wire carries.
BADGE_FIELDS = {
    "id",
    "name",
    "description",
    "icon",
    "category",
    "tier",
    "rule",
    "threshold",
    "metric",
    "requires",
    "hidden",
    "starts_at",
    "ends_at",
    "label_key",
    "description_key",
}


@pytest.fixture(scope="session", autouse=True)
def scratch() -> Iterator[Path]:
    """The run's scratch folder: tempfile's default folder while the run lasts (so every
    mkdtemp of a test or fixture lands in it), removed at the end. The end fails the run when a
    process of the run is still there: it would be left running after `make test`."""
    root = Path(tempfile.mkdtemp(prefix="badges-test-"))
    # As root, the tests run PostgreSQL and PgBouncer as other users, who must reach their
    # folders in it (mkdtemp's folders are private).
    root.chmod(0o755)
    default, tempfile.tempdir = tempfile.tempdir, str(root)
    try:
        yield root
    finally:
        tempfile.tempdir = default
        left = _outliving(root)
        _stop(left)
        shutil.rmtree(root, ignore_errors=True)
    assert not left, f"processes of the run still running: {left}"
    assert not root.exists()


def processes_of(folder: Path) -> list[psutil.Process]:
    """The processes, other than this one, whose command line or environment names a path in
    `folder`: the postmaster of a data folder there (postgres -D <folder>/...), a `badges serve`
    given BADGES_DATA_DIR there, and its gunicorn worker."""
    inside = f"{folder}{os.sep}"
    found: list[psutil.Process] = []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            texts = [*process.cmdline(), *process.environ().values()]
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if any(inside in text for text in texts):
            found.append(process)
    return found


def _outliving(root: Path, grace: float = 10.0) -> list[psutil.Process]:
    """The processes of the run still running after `grace` seconds (a gunicorn worker whose
    server was killed notices within a second; a PostgreSQL told to stop takes a moment)."""
    deadline = time.monotonic() + grace
    while (left := processes_of(root)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def _stop(processes: list[psutil.Process]) -> None:
    """SIGINT (PostgreSQL's fast shutdown, Ctrl-C for a server), then SIGKILL."""
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGINT)
    _, alive = psutil.wait_procs(processes, timeout=10)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


@pytest.fixture(scope="session")
def server_url(scratch: Path) -> Iterator[str]:
    """An admin connection string to a real PostgreSQL server."""
    external = os.environ.get("DATABASE_URL")
    if external:
        yield external
        return
    # Not under pytest's tmp_path: its folders are private to root, and as root pgserver runs
    # PostgreSQL as its own unprivileged user, which must reach the data folder.
    server = devdb.start(scratch / "postgres", cleanup="delete")
    yield server.get_uri()
    server.cleanup()


def _recreate(admin_url: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )
        create = sql.SQL("create database {}").format(sql.Identifier(name))
        if template:
            create += sql.SQL(" template {}").format(sql.Identifier(template))
        conn.execute(create)
    return make_conninfo(admin_url, dbname=name)


@pytest.fixture(scope="session")
def template_url(server_url: str) -> str:
    """A database with every migration applied and the v1 catalog synced: copied, never used."""
    url = _recreate(server_url, TEMPLATE_DB)
    migrate(url)
    sync_catalog_file(url)
    return url


def sync_catalog_file(url: str, path: Path | None = None) -> None:
    """Write a catalog file (default: the v1 catalog) into the database at url."""
    store = PostgresStore(url, pool_size=1)
    try:
        BadgesDb(store).sync_catalog(load_catalog(path).sync_payload())
    finally:
        store.close()


@pytest.fixture(scope="session")
def make_database(server_url: str, template_url: str) -> Iterator[Callable[[], str]]:
    """Factory: a new database copied from the template; returns its connection string."""
    created: list[str] = []

    def make() -> str:
        name = f"badges_test_{uuid.uuid4().hex[:10]}"
        created.append(name)
        return _recreate(server_url, name, TEMPLATE_DB)

    yield make
    with psycopg.connect(server_url, autocommit=True) as conn:
        for name in created:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def database_url(make_database: Callable[[], str]) -> str:
    """The shared test database: tests keep apart by using fresh user ids."""
    return make_database()


@pytest.fixture(scope="session")
def make_catalog_database(make_database: Callable[[], str]) -> Callable[[Path], str]:
    """Factory: a new database with the given catalog file synced over the v1 one."""

    def make(path: Path) -> str:
        url = make_database()
        sync_catalog_file(url, path)
        return url

    return make


@pytest.fixture(scope="session")
def devspace_url(make_catalog_database: Callable[[Path], str]) -> str:
    """A database shared by the tests of the Dev-Space catalog (fresh user ids keep them apart)."""
    return make_catalog_database(DEVSPACE)


@pytest.fixture(scope="session")
def devspace_db(devspace_url: str) -> Iterator[BadgesDb]:
    store = PostgresStore(devspace_url)
    yield BadgesDb(store)
    store.close()


@pytest.fixture
def devspace_conn(devspace_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(devspace_url, autocommit=True) as c:
        yield c


@pytest.fixture
def isolated_database_url(make_database: Callable[[], str]) -> str:
    """A database of this test's own, for assertions over all users."""
    return make_database()


@pytest.fixture(scope="session")
def db(database_url: str) -> Iterator[BadgesDb]:
    """The SQL functions, called as the function calls them (PostgresStore)."""
    store = PostgresStore(database_url)
    yield BadgesDb(store)
    store.close()


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A plain connection to the shared database, for reading state back and acting as roles."""
    with psycopg.connect(database_url, autocommit=True) as c:
        yield c


@pytest.fixture
def iso_url(isolated_database_url: str) -> str:
    """This test's own database (the fixture of tests/conftest.py, under a shorter name)."""
    return isolated_database_url


@pytest.fixture
def iso_db(iso_url: str) -> Iterator[BadgesDb]:
    """BadgesDb over this test's own database, for assertions over all users or the catalog."""
    store = PostgresStore(iso_url, pool_size=2)
    try:
        yield BadgesDb(store)
    finally:
        store.close()


@pytest.fixture
def iso_conn(iso_url: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    with psycopg.connect(iso_url, autocommit=True) as c:
        yield c


@pytest.fixture
def user() -> uuid.UUID:
    return uuid.uuid4()


PROJECT_DIR = Path(__file__).resolve().parents[1]

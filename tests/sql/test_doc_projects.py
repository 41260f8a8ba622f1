"""The `projects` example of docs/catalog.md, executed as written: its table, policy, grants and
triggers, then an owner acting through the app's client role (as PostgREST runs a request). The
owner counts what they create and publish, cannot feature their own project, and cannot farm
`project_published` by inserting and deleting projects."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
import pytest

from tests.conftest import PROJECT_DIR
from tests.sql.conftest import Conn
from tests.sql.rules_fixtures import devspace_database
from tests.sql.test_table_triggers import total

EXAMPLE_METRICS = [
    {"id": "project_renamed", "name": "Projects renamed"},
    {"id": "project_published", "name": "Projects published"},
    {"id": "project_featured", "name": "Projects featured"},
]


def projects_example() -> str:
    """The ```sql block of docs/catalog.md that creates public.projects."""
    text = (PROJECT_DIR / "docs" / "catalog.md").read_text()
    blocks = re.findall(r"^```sql\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    found = [b for b in blocks if "create table public.projects" in b]
    assert len(found) == 1, "docs/catalog.md should hold one projects example"
    return found[0]


@pytest.fixture(scope="module")
def docs_url(make_catalog_database: Callable[[Path], str]) -> str:
    return devspace_database(make_catalog_database, EXAMPLE_METRICS, projects_example())


@pytest.fixture
def app(docs_url: str) -> Iterator[Conn]:
    with psycopg.connect(docs_url, autocommit=True) as c:
        yield c


def commit_as(conn: Conn, owner: UUID, statement: str, *params: object) -> UUID:
    """Run statement as the owner through the client role, committed."""
    with conn.transaction():
        conn.execute("set local role authenticated")
        conn.execute(
            "select set_config('request.jwt.claims', %s, true)",
            (f'{{"role": "authenticated", "sub": "{owner}"}}',),
        )
        row = conn.execute(statement, params).fetchone()  # type: ignore[arg-type]
    return UUID(str(row[0])) if row else owner


def test_an_owner_counts_projects_created_and_published(app: Conn):
    owner = uuid4()
    commit_as(app, owner, "insert into public.projects (name, published_at)"
              " values ('one', now()) returning id")  # fmt: skip
    commit_as(app, owner, "insert into public.projects (name) values ('two') returning id")

    assert total(app, owner, "project_created") == 2
    assert total(app, owner, "project_published") == 1


@pytest.mark.parametrize(
    "statement",
    [
        "insert into public.projects (name, featured) values ('mine', true) returning id",
        "update public.projects set featured = true returning id",
    ],
)
def test_an_owner_cannot_feature_their_own_project(app: Conn, statement: str):
    owner = uuid4()
    commit_as(app, owner, "insert into public.projects (name) values ('mine') returning id")

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        commit_as(app, owner, statement)

    assert total(app, owner, "project_featured") is None


def test_the_apps_editors_feature_a_project_and_it_counts_once(app: Conn):
    owner = uuid4()
    project = commit_as(app, owner, "insert into public.projects (name) values ('p') returning id")

    for featured in (True, False, True):  # as the table's owner, e.g. an admin tool
        app.execute("update public.projects set featured = %s where id = %s", (featured, project))

    assert total(app, owner, "project_featured") == 1


def test_publishing_and_deleting_projects_cannot_farm_published(app: Conn):
    owner = uuid4()
    for _ in range(3):
        project = commit_as(
            app, owner, "insert into public.projects (name, published_at)"
            " values ('spam', now()) returning id",
        )  # fmt: skip
        commit_as(app, owner, "delete from public.projects where id = %s returning id", project)

    assert total(app, owner, "project_published") == 0
    assert total(app, owner, "project_created") == 0

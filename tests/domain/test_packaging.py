"""The deploy unit installs what the project declares."""

from __future__ import annotations

import tomllib

from tests.conftest import PROJECT_DIR


def requirement_lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}


def test_function_requirements_equal_the_project_dependencies():
    pyproject = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())
    requirements = (PROJECT_DIR / "functions" / "requirements.txt").read_text()

    assert requirement_lines(requirements) == set(pyproject["project"]["dependencies"])


def test_migrations_contain_no_transaction_control_or_psql_meta_commands():
    """The Supabase CLI wraps each file in its own transaction and speaks no psql."""
    for path in sorted((PROJECT_DIR / "supabase" / "migrations").glob("*.sql")):
        lines = [line.strip().lower() for line in path.read_text().splitlines()]
        assert not [line for line in lines if line.startswith("\\")], path.name
        assert not [line for line in lines if line in ("begin;", "commit;", "rollback;")], path.name

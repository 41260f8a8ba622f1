"""The `badges` command's small decisions that a user relies on."""

from __future__ import annotations

import os
import uuid

import jwt
import pytest

from badges import cli
from badges.settings import DEV_JWT_SECRET, SettingsError


def test_token_mints_a_user_token_for_the_issuer_the_server_accepts(monkeypatch, capsys):
    monkeypatch.delenv("SUPABASE_JWT_SECRET", raising=False)
    monkeypatch.delenv("SUPABASE_JWT_ISSUER", raising=False)
    monkeypatch.setenv("SUPABASE_URL", "https://ref.supabase.co")
    user = uuid.uuid4()

    assert cli.main(["token", "--user", str(user)]) == 0

    claims = jwt.decode(
        capsys.readouterr().out.strip(),
        DEV_JWT_SECRET,
        algorithms=["HS256"],
        audience="authenticated",
    )
    assert (claims["sub"], claims["iss"]) == (str(user), "https://ref.supabase.co/auth/v1")


def test_token_mints_a_service_token_shaped_like_the_legacy_service_key(monkeypatch, capsys):
    monkeypatch.setenv("SUPABASE_JWT_SECRET", "x" * 40)

    assert cli.main(["token", "--service"]) == 0

    claims = jwt.decode(capsys.readouterr().out.strip(), "x" * 40, algorithms=["HS256"])
    assert (claims["role"], claims["iss"]) == ("service_role", "supabase")
    assert "sub" not in claims
    assert "aud" not in claims


def test_migrate_refuses_the_supabase_store_rather_than_migrating_another_database(
    monkeypatch, capsys
):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("BADGES_STORE", raising=False)
    monkeypatch.setenv("SUPABASE_URL", "https://ref.supabase.co")
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", "key")

    assert cli.main(["migrate"]) == 2
    assert "supabase db push" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [[], ["token"], ["token", "--user", "not-a-uuid"]])
def test_bad_arguments_exit_with_usage(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2


def test_serve_runs_its_default_workers_and_threads_unless_the_environment_says():
    defaults = (cli.SERVE_WORKERS, cli.SERVE_THREADS)

    assert cli.serve_concurrency({}) == defaults
    assert cli.serve_concurrency({"WORKERS": "", "THREADS": " "}) == defaults
    assert cli.serve_concurrency({"WORKERS": "3"}) == (3, cli.SERVE_THREADS)
    assert cli.serve_concurrency({"WORKERS": "2", "THREADS": "16"}) == (2, 16)


@pytest.mark.parametrize("env", [{"WORKERS": "0"}, {"THREADS": "-1"}, {"THREADS": "eight"}])
def test_serve_refuses_a_count_of_workers_or_threads_that_is_not_one_or_more(env):
    with pytest.raises(SettingsError):
        cli.serve_concurrency(env)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, (str(cli.SERVE_WORKERS), str(cli.SERVE_THREADS))),
        ({"WORKERS": "2", "THREADS": "3"}, ("2", "3")),
    ],
)
def test_serve_hands_functions_framework_its_workers_and_threads(monkeypatch, env, expected):
    """What gunicorn is started with (functions-framework reads WORKERS and THREADS then)."""
    import functions_framework
    import functions_framework._http

    seen: list[tuple[str | None, str | None]] = []

    class Server:
        def run(self, host: str, port: int) -> None:
            seen.append((os.environ.get("WORKERS"), os.environ.get("THREADS")))

    for name in ("WORKERS", "THREADS"):  # set first, so that the test's end restores them
        monkeypatch.setenv(name, env.get(name, ""))
    monkeypatch.setenv("SUPABASE_JWT_SECRET", "x" * 40)
    monkeypatch.setattr(cli, "prepare_database", lambda: None)
    monkeypatch.setattr(functions_framework, "create_app", lambda **kwargs: object())
    monkeypatch.setattr(functions_framework._http, "create_server", lambda app, debug: Server())

    assert cli.main(["serve", "--port", "0"]) == 0
    assert seen == [expected]

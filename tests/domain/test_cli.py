"""The `badges` command's small decisions that a user relies on."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import jwt
import pytest

from badges import cli, serve
from badges.settings import DEV_JWT_SECRET, Settings, SettingsError
from tests.conftest import PROJECT_DIR


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


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["token", "--user", "not-a-uuid"],
        ["token", "--user", str(uuid.uuid4()), "--service"],
        ["token", "--expires-in", "0"],
        ["serve", "--port", "65536"],
    ],
)
def test_bad_arguments_exit_with_usage(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2


def test_serve_runs_its_default_workers_and_threads_unless_the_environment_says():
    defaults = (serve.SERVE_WORKERS, serve.SERVE_THREADS)

    assert serve.serve_concurrency({}) == defaults
    assert serve.serve_concurrency({"WORKERS": "", "THREADS": " "}) == defaults
    assert serve.serve_concurrency({"WORKERS": "3"}) == (3, serve.SERVE_THREADS)
    assert serve.serve_concurrency({"WORKERS": "2", "THREADS": "16"}) == (2, 16)


@pytest.mark.parametrize("env", [{"WORKERS": "0"}, {"THREADS": "-1"}, {"THREADS": "eight"}])
def test_serve_refuses_a_count_of_workers_or_threads_that_is_not_one_or_more(env):
    with pytest.raises(SettingsError):
        serve.serve_concurrency(env)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, (str(serve.SERVE_WORKERS), str(serve.SERVE_THREADS))),
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
    monkeypatch.setattr(
        functions_framework._http, "create_server", lambda app, debug, **options: Server()
    )

    assert cli.main(["serve", "--port", "0"]) == 0
    assert seen == [expected]


def test_token_prints_the_token_alone_and_says_on_stderr_when_it_expires(monkeypatch, capsys):
    """`TOKEN=$(badges token ...)` captures stdout: the token and nothing else."""
    monkeypatch.delenv("SUPABASE_JWT_SECRET", raising=False)
    monkeypatch.delenv("SUPABASE_URL", raising=False)
    monkeypatch.delenv("SUPABASE_JWT_ISSUER", raising=False)
    user = uuid.uuid4()

    assert cli.main(["token", "--user", str(user)]) == 0

    out, err = capsys.readouterr()
    [token] = out.splitlines()
    claims = jwt.decode(token, DEV_JWT_SECRET, algorithms=["HS256"], audience="authenticated")
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    assert claims["exp"] - claims["iat"] == 3600
    assert err.splitlines() == [
        f"badges: user token for {user}, expires {expires:%Y-%m-%d %H:%M:%S} UTC, "
        "1 hour after it was issued"
    ]


@pytest.mark.parametrize(
    ("argv", "seconds", "lifetime"),
    [
        (["token", "--service"], 10 * 365 * 86400, "10 years"),
        (["token", "--expires-in", "120"], 120, "2 minutes"),
        (["token", "--expires-in", "90"], 90, "90 seconds"),
    ],
)
def test_token_says_how_long_it_lasts(monkeypatch, capsys, argv, seconds, lifetime):
    monkeypatch.delenv("SUPABASE_JWT_SECRET", raising=False)

    assert cli.main(argv) == 0

    out, err = capsys.readouterr()
    claims = jwt.decode(out.strip(), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == seconds
    assert err.strip().endswith(f", {lifetime} after it was issued")


def test_token_without_a_user_is_a_user_token_for_a_new_user(monkeypatch, capsys):
    monkeypatch.delenv("SUPABASE_JWT_SECRET", raising=False)

    assert cli.main(["token"]) == 0
    assert cli.main(["token"]) == 0

    tokens = capsys.readouterr().out.split()
    subjects = [
        jwt.decode(t, DEV_JWT_SECRET, algorithms=["HS256"], audience="authenticated")["sub"]
        for t in tokens
    ]
    assert len({uuid.UUID(sub) for sub in subjects}) == 2


def make_token(*variables: str) -> subprocess.CompletedProcess[str]:
    make = shutil.which("make")
    assert make, "make is what the README tells developers to use"
    venv = Path(sys.executable).parent.parent
    return subprocess.run(  # noqa: S603 - the project's own Makefile
        # -o: never (re)install the venv the tests run in, whatever the age of its stamp.
        [make, "-s", "-o", str(venv / ".installed"), "token", f"VENV={venv}", *variables],
        cwd=PROJECT_DIR,
        env={k: v for k, v in os.environ.items() if k != "SUPABASE_JWT_SECRET"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_make_token_prints_the_token_alone_with_or_without_a_user_id():
    """`make token` without USER_ID used to pass an empty --user (an argparse error)."""
    user = uuid.UUID(int=7)
    new_user, given_user, service = (
        make_token(),
        make_token(f"USER_ID={user}"),
        make_token("SERVICE=1"),
    )

    for made in (new_user, given_user, service):
        assert made.returncode == 0, made.stderr
        assert len(made.stdout.splitlines()) == 1  # what TOKEN=$(make token) captures
    decode = partial(jwt.decode, key=DEV_JWT_SECRET, algorithms=["HS256"])
    assert uuid.UUID(decode(new_user.stdout.strip(), audience="authenticated")["sub"]) != user
    assert decode(given_user.stdout.strip(), audience="authenticated")["sub"] == str(user)
    assert decode(service.stdout.strip())["role"] == "service_role"


BAD_WEBHOOK_SECRET = {"BADGES_WEBHOOK_SECRET": "too-short"}
EVERY_COMMAND = [
    ["serve", "--port", "0"],
    ["migrate"],
    ["sync-catalog"],
    ["check-streaks"],
    ["check-badges"],
    ["backfill"],
    ["deliver-notifications"],
    ["consistency"],
    ["token", "--user", str(uuid.UUID(int=1))],
]


@pytest.mark.parametrize("argv", EVERY_COMMAND, ids=lambda argv: argv[0])
def test_every_command_names_a_bad_setting_on_one_line_with_status_2(
    monkeypatch, capsys, tmp_path, argv
):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("BADGES_DATA_DIR", str(tmp_path / "pg"))  # a regression starts nothing
    monkeypatch.setenv("BADGES_WEBHOOK_SECRET", "too-short")

    assert cli.main(argv) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "badges: invalid configuration: BADGES_WEBHOOK_SECRET: "
        "string should have at least 16 characters"
    ]
    assert not (tmp_path / "pg").exists()


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"BADGES_STORE": "mysql", "BADGES_RATE_LIMIT_BURST": "0"},
            "BADGES_STORE: input should be 'postgres' or 'supabase'; "
            "BADGES_RATE_LIMIT_BURST: input should be greater than or equal to 1",
        ),
        (
            {"BADGES_WEBHOOK_URL": "https://hooks.example/badges"},
            "BADGES_WEBHOOK_URL needs BADGES_WEBHOOK_SECRET (16+ characters)",
        ),
        ({"THREADS": "0"}, "THREADS: input should be greater than or equal to 1"),
        ({"BADGES_DB_TIMEOUT": "soon"}, "BADGES_DB_TIMEOUT: input should be a valid number"),
    ],
)
def test_a_bad_setting_is_named_by_its_variable_with_the_rule_it_breaks(env, line):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)

    problem = cli.settings_problem(raised.value, env)

    assert problem.startswith(f"invalid configuration: {line}")
    assert "\n" not in problem


def test_every_setting_has_the_variable_it_is_read_from():
    """A bad setting is reported under its variable: each field of Settings needs one."""
    unnamed = [field for field in Settings.model_fields if cli.setting_variable(field, {}) == field]
    assert unnamed == []


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"WORKERS": "0"}, "badges: invalid configuration: WORKERS must be a whole number >= 1"),
        ({"PORT": "http"}, "badges: invalid configuration: PORT must be a port number (0-65535)"),
    ],
)
def test_serve_names_a_bad_port_or_count_of_workers(monkeypatch, capsys, env, line):
    monkeypatch.setattr(cli, "prepare_database", lambda: pytest.fail("the database was started"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    assert cli.main(["serve"]) == 2
    assert capsys.readouterr().err.splitlines() == [line]


def test_a_bad_setting_is_one_line_on_stderr_and_no_traceback():
    environ = {**os.environ, **BAD_WEBHOOK_SECRET}
    environ.pop("DATABASE_URL", None)

    done = subprocess.run(
        [sys.executable, "-m", "badges.cli", "check-badges"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        "badges: invalid configuration: BADGES_WEBHOOK_SECRET: "
        "string should have at least 16 characters"
    ]


def subcommands() -> dict[str, argparse.ArgumentParser]:
    [commands] = [a for a in cli._parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(commands.choices)


def test_every_command_and_option_is_described_with_its_default():
    for name, parser in subcommands().items():
        assert parser.description, name
        for action in parser._actions:
            assert action.help, (name, action.option_strings)
            if action.nargs != 0:  # an option with a value: the help says what it defaults to
                assert "default" in action.help, (name, action.option_strings)


@pytest.mark.parametrize("columns", ["40", "80", "120"])
def test_help_cuts_no_word_at_any_width(monkeypatch, capsys, columns):
    monkeypatch.setenv("COLUMNS", columns)
    texts = []
    for argv in [["--help"]] + [[name, "--help"] for name in subcommands()]:
        with pytest.raises(SystemExit) as exited:
            cli.main(argv)
        assert exited.value.code == 0
        texts.append(capsys.readouterr().out)

    assert " ".join(cli.DESCRIPTION.split()) in " ".join(texts[0].split())
    for name, text in zip(subcommands(), texts[1:], strict=True):
        description = subcommands()[name].description or ""
        assert " ".join(description.split()) in " ".join(text.split())
    assert [line for text in texts for line in text.splitlines() if line.endswith("-")] == []

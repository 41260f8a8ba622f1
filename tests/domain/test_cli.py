"""The `badges` command's small decisions that a user relies on."""

from __future__ import annotations

import uuid

import jwt
import pytest

from badges import cli
from badges.settings import DEV_JWT_SECRET


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

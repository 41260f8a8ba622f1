"""Configuration from the environment: defaults, store selection, issuers, bad values."""

from __future__ import annotations

import pytest

from badges.settings import CLI_ISSUER, Settings, SettingsError


def test_defaults_are_the_postgres_store_the_cli_issuer_and_open_cors():
    settings = Settings.from_env({})

    assert settings.store == "postgres"
    assert settings.jwt_secret is None
    assert settings.jwks_url is None
    assert settings.jwt_issuers == (CLI_ISSUER,)
    assert settings.cors_origins == ("*",)
    assert (settings.rate_limit_per_minute, settings.rate_limit_burst) == (60, 40)


def test_a_supabase_url_sets_the_issuer_and_the_jwks_url():
    settings = Settings.from_env({"SUPABASE_URL": "https://ref.supabase.co/"})

    assert settings.jwt_issuers == ("https://ref.supabase.co/auth/v1",)
    assert settings.jwks_url == "https://ref.supabase.co/auth/v1/.well-known/jwks.json"


@pytest.mark.parametrize(
    ("env", "store"),
    [
        ({"SUPABASE_URL": "https://r.supabase.co", "SUPABASE_SERVICE_ROLE_KEY": "k"}, "supabase"),
        ({"SUPABASE_URL": "https://r.supabase.co"}, "postgres"),
        (
            {
                "DATABASE_URL": "postgresql://x",
                "SUPABASE_URL": "https://r.supabase.co",
                "SUPABASE_SERVICE_ROLE_KEY": "k",
            },
            "postgres",
        ),
        ({"DATABASE_URL": "postgresql://x", "BADGES_STORE": "supabase"}, "supabase"),
    ],
)
def test_database_url_wins_else_a_supabase_url_with_a_key_selects_the_supabase_store(env, store):
    assert Settings.from_env(env).store == store


@pytest.mark.parametrize(
    "env",
    [
        {"BADGES_RATE_LIMIT_BURST": "0"},
        {"BADGES_RATE_LIMIT_PER_MINUTE": "many"},
        {"BADGES_STORE": "redis"},
        {"BADGES_DB_TIMEOUT": "-1"},
    ],
)
def test_an_unusable_value_is_a_settings_error(env):
    with pytest.raises(SettingsError):
        Settings.from_env(env)


def test_a_zero_rate_limit_turns_limiting_off():
    assert Settings.from_env({"BADGES_RATE_LIMIT_PER_MINUTE": "0"}).rate_limited is False


def test_no_channel_is_configured_by_default():
    settings = Settings.from_env({})

    assert (settings.webhook_url, settings.expo_push) == (None, False)
    assert settings.immediate_delivery is True
    assert settings.jobs_auth == "token"


def test_a_webhook_without_a_secret_is_refused():
    with pytest.raises(SettingsError, match="BADGES_WEBHOOK_SECRET"):
        Settings.from_env({"BADGES_WEBHOOK_URL": "https://receiver.example.test/hook"})


def test_an_expo_access_token_turns_expo_push_on_unless_told_otherwise():
    assert Settings.from_env({"BADGES_EXPO_ACCESS_TOKEN": "t"}).expo_push is True
    off = {"BADGES_EXPO_ACCESS_TOKEN": "t", "BADGES_EXPO_PUSH": "false"}
    assert Settings.from_env(off).expo_push is False


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BADGES_WEBHOOK_URL", "ftp://receiver.example.test"),
        ("BADGES_DELIVERY_MAX_ATTEMPTS", "0"),
        ("BADGES_DELIVERY_TIMEOUT", "-1"),
        ("BADGES_IMMEDIATE_DELIVERY", "perhaps"),
        ("BADGES_JOBS_AUTH", "none"),
    ],
)
def test_a_bad_delivery_setting_is_a_settings_error(name: str, value: str):
    env = {"BADGES_WEBHOOK_SECRET": "s" * 16, name: value}
    with pytest.raises(SettingsError):
        Settings.from_env(env)


def test_the_pool_has_a_connection_per_request_thread_unless_its_size_is_set():
    assert Settings.from_env({}).db_pool_size == 10
    assert Settings.from_env({"THREADS": "6"}).db_pool_size == 6
    assert Settings.from_env({"THREADS": "6", "BADGES_DB_POOL_SIZE": "3"}).db_pool_size == 3
    with pytest.raises(SettingsError):
        Settings.from_env({"THREADS": "0"})


# Supabase secret keys: several for rotation, each checked to be one, never quoted.

KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz"
OTHER_KEY = "sb_secret_Hq3Tz8WcVb1Ns5Lp0Xr4Kd_7mJfYs2Ea"


def test_no_secret_key_is_accepted_by_default():
    assert Settings.from_env({}).secret_keys == ()


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(f" {KEY} , {OTHER_KEY} ,", id="comma-separated"),
        pytest.param(f'{{"default": "{KEY}", "rotated": "{OTHER_KEY}"}}', id="supabase-json"),
    ],
)
def test_secret_keys_are_a_comma_separated_list_or_supabases_json_object(value: str):
    """The JSON object is what Supabase sets SUPABASE_SECRET_KEYS to in its Edge Functions."""
    assert Settings.from_env({"SUPABASE_SECRET_KEYS": value}).secret_keys == (KEY, OTHER_KEY)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        pytest.param(
            "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH", "publishable", id="publishable"
        ),
        pytest.param(
            "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2ln", "JWT", id="legacy-jwt"
        ),
        pytest.param("sb_secret_tooShort", "20 or more", id="truncated"),
        pytest.param("sb_secret_N7UND0UgjKTVK Uodkm0Hg_xSvEMPvz", "20 or more", id="space"),
        pytest.param("hunter2-my-own-password", "not a secret key", id="not-a-key"),
        pytest.param(f"{KEY},sb_secret_tooShort", "key 2", id="second-of-two"),
        pytest.param('{"default": sb_secret_x', "not a JSON object", id="json-broken"),
        pytest.param('{"default": ["sb_secret_xyz"]}', "object of strings", id="json-not-str"),
    ],
)
def test_a_value_that_is_not_a_secret_key_is_refused_without_quoting_it(value: str, says: str):
    with pytest.raises(SettingsError, match="SUPABASE_SECRET_KEYS") as refused:
        Settings.from_env({"SUPABASE_SECRET_KEYS": value})

    message = str(refused.value)
    assert says in message
    for part in value.split(","):
        assert part.strip() not in message


def test_secret_keys_stay_out_of_the_settings_repr():
    settings = Settings.from_env({"SUPABASE_SECRET_KEYS": KEY})

    assert KEY not in repr(settings)
    assert KEY not in str(settings)


def test_no_settings_error_quotes_the_value_it_refuses():
    """Configuration errors are logged: a secret set wrongly must not end up in the log."""
    env = {"BADGES_WEBHOOK_URL": "https://receiver.example.test", "BADGES_WEBHOOK_SECRET": "pw-7"}

    with pytest.raises(SettingsError, match="webhook_secret") as refused:
        Settings.from_env(env)

    assert "pw-7" not in str(refused.value)

"""Configuration, read once from the environment. Every variable the function reads is here."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

# The Supabase CLI's well-known development secret: what `supabase start` signs tokens with.
# Only `badges serve` and `badges token` fall back to it; a deployed function never does.
DEV_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"  # noqa: S105 - public dev value
# The issuer of tokens minted by a local `supabase start`.
CLI_ISSUER = "http://127.0.0.1:54321/auth/v1"
# Expo's push API (https://docs.expo.dev/push-notifications/sending-notifications/).
EXPO_PUSH_URL = "https://exp.host/--/api/v2/push/send"
# Supabase's opaque API keys (not JWTs): the prefix says which kind a key is.
SECRET_KEY_PREFIX = "sb_secret_"  # noqa: S105 - a prefix, not a secret
PUBLISHABLE_KEY_PREFIX = "sb_publishable_"
# A secret key as Supabase makes them: the prefix, then 31 URL-safe characters (random part,
# "_", checksum). 20 or more are asked for, so a placeholder or a truncated paste is caught.
SECRET_KEY_SHAPE = re.compile(r"sb_secret_[A-Za-z0-9_-]{20,}")


class SettingsError(ValueError):
    """An environment variable has a value the function cannot use."""


class Settings(BaseModel):
    # Values stay out of validation errors: several are secrets (keys, passwords in URLs), and
    # an error is logged.
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    store: Literal["postgres", "supabase"] = "postgres"
    database_url: str | None = None
    supabase_url: str | None = None
    supabase_service_key: str | None = None
    jwt_secret: str | None = None
    jwks_url: str | None = None
    jwt_issuers: tuple[str, ...] = (CLI_ISSUER,)
    # Supabase secret keys (sb_secret_…) whose bearer is a service caller: several, so a key can
    # be rotated without downtime.
    secret_keys: tuple[str, ...] = Field(default=(), repr=False)
    cors_origins: tuple[str, ...] = ("*",)
    rate_limit_per_minute: int = Field(default=60, ge=0)
    rate_limit_burst: int = Field(default=40, ge=1)
    db_timeout: float = Field(default=5.0, gt=0)
    db_pool_size: int = Field(default=10, ge=1)
    # Seconds a statement may run (Postgres store) before it is cancelled and answered 503; 0: off.
    db_statement_timeout: float = Field(default=5.0, ge=0)
    # Notification channels: none configured means in-app only.
    webhook_url: str | None = Field(default=None, pattern=r"^https?://")
    webhook_secret: str | None = Field(default=None, min_length=16)
    expo_push: bool = False
    expo_access_token: str | None = None
    expo_push_url: str = Field(default=EXPO_PUSH_URL, pattern=r"^https?://")
    # Delivery: retries with exponential backoff, then the dead letter.
    delivery_max_attempts: int = Field(default=10, ge=1, le=100)
    delivery_backoff_seconds: float = Field(default=30.0, gt=0)
    delivery_max_backoff_seconds: float = Field(default=3600.0, gt=0)
    delivery_timeout: float = Field(default=10.0, gt=0, le=60)
    delivery_batch_size: int = Field(default=50, ge=1, le=500)
    immediate_delivery: bool = True
    immediate_timeout: float = Field(default=2.0, gt=0, le=30)
    # share_opened: an anonymous sign-in is a new user id for the asking, so by default it does
    # not count as someone else opening a share.
    share_allow_anonymous: bool = False
    # badges_jobs: "token" wants a service_role token; "iam" trusts the platform's IAM check.
    jobs_auth: Literal["token", "iam"] = "token"

    @field_validator("secret_keys")
    @classmethod
    def _are_secret_keys(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        for number, key in enumerate(keys, start=1):
            problem = _not_a_secret_key(key)
            if problem:
                raise ValueError(f"SUPABASE_SECRET_KEYS: key {number} {problem}")
        return keys

    @model_validator(mode="after")
    def _webhook_is_signed(self) -> Settings:
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("BADGES_WEBHOOK_URL needs BADGES_WEBHOOK_SECRET (16+ characters)")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        supabase_url = (get("SUPABASE_URL") or "").rstrip("/") or None
        values: dict[str, object] = {
            "database_url": get("DATABASE_URL"),
            "supabase_url": supabase_url,
            "supabase_service_key": get("SUPABASE_SERVICE_ROLE_KEY"),
            "jwt_secret": get("SUPABASE_JWT_SECRET"),
            "jwks_url": get("SUPABASE_JWKS_URL")
            or (f"{supabase_url}/auth/v1/.well-known/jwks.json" if supabase_url else None),
            "jwt_issuers": _split(get("SUPABASE_JWT_ISSUER"))
            or ((f"{supabase_url}/auth/v1",) if supabase_url else (CLI_ISSUER,)),
            "cors_origins": _split(get("BADGES_CORS_ORIGINS")) or ("*",),
            "secret_keys": _secret_keys(get("SUPABASE_SECRET_KEYS")),
        }
        for field, name in OPTIONAL_VARIABLES.items():
            if get(name) is not None:
                values[field] = get(name)
        if "db_pool_size" not in values and get("THREADS") is not None:
            # One connection for each request thread of the worker (functions-framework's
            # THREADS): a request never waits for a connection, and none sits unused.
            values["db_pool_size"] = get("THREADS")
        if values.get("expo_access_token") and "expo_push" not in values:
            values["expo_push"] = True  # a token is only ever set to push with it
        values["store"] = get("BADGES_STORE") or _default_store(values)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise SettingsError(f"invalid configuration: {exc}") from exc

    @property
    def rate_limited(self) -> bool:
        return self.rate_limit_per_minute > 0


# Settings read as they are written, when set: field -> environment variable.
OPTIONAL_VARIABLES = {
    "rate_limit_per_minute": "BADGES_RATE_LIMIT_PER_MINUTE",
    "rate_limit_burst": "BADGES_RATE_LIMIT_BURST",
    "db_timeout": "BADGES_DB_TIMEOUT",
    "db_pool_size": "BADGES_DB_POOL_SIZE",
    "db_statement_timeout": "BADGES_DB_STATEMENT_TIMEOUT",
    "webhook_url": "BADGES_WEBHOOK_URL",
    "webhook_secret": "BADGES_WEBHOOK_SECRET",
    "expo_push": "BADGES_EXPO_PUSH",
    "expo_access_token": "BADGES_EXPO_ACCESS_TOKEN",
    "expo_push_url": "BADGES_EXPO_PUSH_URL",
    "delivery_max_attempts": "BADGES_DELIVERY_MAX_ATTEMPTS",
    "delivery_backoff_seconds": "BADGES_DELIVERY_BACKOFF_SECONDS",
    "delivery_max_backoff_seconds": "BADGES_DELIVERY_MAX_BACKOFF_SECONDS",
    "delivery_timeout": "BADGES_DELIVERY_TIMEOUT",
    "delivery_batch_size": "BADGES_DELIVERY_BATCH_SIZE",
    "immediate_delivery": "BADGES_IMMEDIATE_DELIVERY",
    "immediate_timeout": "BADGES_IMMEDIATE_TIMEOUT",
    "share_allow_anonymous": "BADGES_SHARE_ALLOW_ANONYMOUS",
    "jobs_auth": "BADGES_JOBS_AUTH",
}


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _secret_keys(value: str | None) -> tuple[str, ...]:
    """Comma-separated keys, or the JSON object {"name": "sb_secret_…", …} that Supabase gives
    its Edge Functions under the same name. Errors never quote the value: it is a secret."""
    if value is None:
        return ()
    if not value.startswith("{"):
        return _split(value)
    try:
        named = json.loads(value)
    except ValueError:
        raise SettingsError(
            "invalid configuration: SUPABASE_SECRET_KEYS starts with '{' but is not a JSON object"
        ) from None
    if not isinstance(named, dict) or not all(isinstance(v, str) for v in named.values()):
        raise SettingsError(
            "invalid configuration: SUPABASE_SECRET_KEYS as JSON must be an object of strings,"
            ' {"name": "sb_secret_…"}'
        )
    return tuple(v.strip() for v in named.values())


def _not_a_secret_key(key: str) -> str | None:
    """What is wrong with a configured secret key, in words that do not quote it."""
    if SECRET_KEY_SHAPE.fullmatch(key):
        return None
    if key.startswith(PUBLISHABLE_KEY_PREFIX):
        return "is a publishable key (sb_publishable_…); only secret keys (sb_secret_…) belong here"
    if key.startswith("eyJ"):
        return (
            "is a JWT; a legacy service_role key needs no setting (it is verified with"
            " SUPABASE_JWT_SECRET); only secret keys (sb_secret_…) belong here"
        )
    return "is not a secret key: sb_secret_ followed by 20 or more letters, digits, '_' or '-'"


def _default_store(values: Mapping[str, object]) -> str:
    """DATABASE_URL wins; else a Supabase URL with a service key selects the Supabase store."""
    if values["database_url"] is None and values["supabase_url"] and values["supabase_service_key"]:
        return "supabase"
    return "postgres"

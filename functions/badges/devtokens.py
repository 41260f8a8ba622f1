"""Development JWTs shaped exactly like Supabase's, signed with the HS256 secret.

A user token as Supabase Auth issues it, and a service token like the legacy service_role key,
so the README's curl examples work against `make run`.
"""

from __future__ import annotations

import time
from uuid import UUID

import jwt

from badges.settings import CLI_ISSUER


def user_token(
    user_id: UUID, secret: str, *, issuer: str = CLI_ISSUER, expires_in: int = 3600
) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": str(user_id),
        "aud": "authenticated",
        "exp": now + expires_in,
        "iat": now,
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": str(UUID(int=user_id.int ^ 0xB)),
        "is_anonymous": False,
        "email": "",
        "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {},
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def service_token(secret: str, *, ref: str = "local", expires_in: int = 10 * 365 * 86400) -> str:
    now = int(time.time())
    claims = {
        "iss": "supabase",
        "ref": ref,
        "role": "service_role",
        "iat": now,
        "exp": now + expires_in,
    }
    return jwt.encode(claims, secret, algorithm="HS256")

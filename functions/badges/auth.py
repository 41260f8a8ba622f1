"""Who is calling: verify the bearer JWT and tell a user from a service caller.

User tokens are Supabase access tokens (role and aud "authenticated", sub = the user id, iss the
project's auth URL). Service tokens carry role "service_role", like Supabase's legacy service key
(iss "supabase", no sub, no aud). Signatures are checked with the project's HS256 secret or its
JWKS (ES256/RS256). Algorithms are pinned per key: the token's header only picks which of our
keys to try (the secret, or a JWKS key by kid), never which algorithm that key verifies with.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from uuid import UUID

import jwt

from badges.errors import Unauthorized, Unavailable
from badges.settings import Settings

ASYMMETRIC = ("ES256", "RS256")
LEEWAY_SECONDS = 10  # clock skew tolerated between Supabase Auth and this function


@dataclass(frozen=True)
class Caller:
    """A verified caller: a user acting for themself, or a service acting for anyone."""

    user_id: UUID | None
    is_service: bool

    @classmethod
    def user(cls, user_id: UUID) -> Caller:
        return cls(user_id=user_id, is_service=False)

    @classmethod
    def service(cls) -> Caller:
        return cls(user_id=None, is_service=True)


class Verifier:
    def __init__(self, settings: Settings) -> None:
        self._secret = settings.jwt_secret
        self._jwks_url = settings.jwks_url
        self._jwks: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()
        self._issuers = frozenset(settings.jwt_issuers)

    def verify(self, authorization: str | None) -> Caller:
        token = _bearer(authorization)
        try:
            claims = self._decode(token)
        except jwt.PyJWKClientConnectionError as exc:
            raise Unavailable(
                "Cannot fetch the project's signing keys; try again shortly.", retry_after=5
            ) from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"Invalid token: {exc}.") from exc
        except (TypeError, ValueError) as exc:  # a malformed key or token PyJWT did not wrap
            raise Unauthorized("Invalid token.") from exc
        return self._caller(claims)

    def _decode(self, token: str) -> dict[str, object]:
        alg = _unverified_alg(token)
        if not self._accepts(alg):
            # PyJWT's own reading: its error for a malformed token, else the alg it reads.
            alg = jwt.get_unverified_header(token).get("alg")
        if alg == "HS256" and self._secret:
            key: object = self._secret
            algorithms = ["HS256"]
        elif alg in ASYMMETRIC and self._jwks_url:
            jwk = self._jwk_client().get_signing_key_from_jwt(token)
            if jwk.algorithm_name not in ASYMMETRIC:
                raise jwt.InvalidAlgorithmError(f"key {jwk.key_id!r} is not an ES256/RS256 key")
            key = jwk.key
            algorithms = [jwk.algorithm_name]  # the key's own algorithm, whatever the header says
        else:
            raise jwt.InvalidAlgorithmError(f"tokens signed with {alg!r} are not accepted")
        claims: dict[str, object] = jwt.decode(
            token,
            key,  # type: ignore[arg-type]  # a str secret or a cryptography public key
            algorithms=algorithms,
            options={"require": ["exp", "role"], "verify_aud": False},
            leeway=LEEWAY_SECONDS,
        )
        return claims

    def _accepts(self, alg: object) -> bool:
        return (alg == "HS256" and bool(self._secret)) or (
            alg in ASYMMETRIC and bool(self._jwks_url)
        )

    def _jwk_client(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._jwks is None:
                assert self._jwks_url is not None
                self._jwks = jwt.PyJWKClient(
                    self._jwks_url, cache_keys=True, lifespan=600, timeout=5
                )
            return self._jwks

    def _caller(self, claims: dict[str, object]) -> Caller:
        role = claims.get("role")
        if role == "service_role":
            if claims.get("iss") not in self._issuers | {"supabase"}:
                raise Unauthorized("Invalid token: unexpected issuer.")
            return Caller.service()
        if role != "authenticated":
            raise Unauthorized("Sign in first: this token is not a user's token.")
        aud = claims.get("aud")
        if aud != "authenticated" and not (isinstance(aud, list) and "authenticated" in aud):
            raise Unauthorized("Invalid token: wrong audience.")
        if claims.get("iss") not in self._issuers:
            raise Unauthorized("Invalid token: unexpected issuer.")
        try:
            return Caller.user(UUID(str(claims.get("sub"))))
        except ValueError:
            raise Unauthorized("Invalid token: sub is not a user id.") from None


def _unverified_alg(token: str) -> object:
    """The `alg` of the token's header, or None when it cannot be read that simply.

    It only picks which key to try, as PyJWT's get_unverified_header did, at a fraction of its
    cost (that decodes and checks every segment, which jwt.decode then does again): jwt.decode
    reads and checks the header, payload and signature as strictly as before, in the same order,
    so a malformed token still fails there with the same error."""
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, TypeError, RecursionError):  # binascii.Error is a ValueError
        return None
    return header.get("alg") if isinstance(header, dict) else None


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send Authorization: Bearer <token>.")
    return token.strip()

"""Who is calling: verify the caller's credentials and tell a user from a service caller.

Callers send what Supabase clients send: supabase-js puts the project's API key in `apikey` and
`Authorization: Bearer <the signed-in user's access token>` (the API key itself when signed out).

- A bearer JWT. User tokens are Supabase access tokens (role and aud "authenticated", sub = the
  user id, iss the project's auth URL). Service tokens carry role "service_role", like Supabase's
  legacy service_role key (iss "supabase", no sub, no aud). Signatures are checked with the
  project's HS256 secret or its JWKS (ES256/RS256). Algorithms are pinned per key: the token's
  header only picks which of our keys to try (the secret, or a JWKS key by kid), never which
  algorithm that key verifies with.
- A secret key (`sb_secret_…`, one of SUPABASE_SECRET_KEYS): a service caller, whether it comes
  in `apikey` (Supabase's service-to-service convention: cron, pg_net, another function), as the
  bearer, or both (supabase-js created with the key). Compared in constant time.
- Any other `apikey` (a publishable key, the legacy anon key) names the app, not a caller: it is
  ignored.

The bearer says who acts: a secret key in `apikey` makes a service caller only when there is no
`Authorization`, so a server that forwards a user's token with its own key acts as that user. A
secret key that is not configured is refused wherever it is sent; a publishable key as the bearer
is refused (a signed-out client).

A refusal is a fixed sentence: it never quotes the token (its alg, its kid, its bytes), nor
PyJWT's wording of a failure, which may; those go to the log, quoted with repr and cut short.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
from dataclasses import dataclass
from uuid import UUID

import jwt

from badges.errors import Unauthorized, Unavailable
from badges.settings import PUBLISHABLE_KEY_PREFIX, SECRET_KEY_PREFIX, Settings

log = logging.getLogger("badges")

ASYMMETRIC = ("ES256", "RS256")
LEEWAY_SECONDS = 10  # clock skew tolerated between Supabase Auth and this function
REQUIRED_CLAIMS = ("exp", "role")

# The 401 messages.
NO_CREDENTIALS = "Send Authorization: Bearer <token>."
NOT_A_JWT = "The token is not a JWT."
BAD_SIGNATURE = "Invalid token: Signature verification failed."
EXPIRED = "Invalid token: Signature has expired."
NOT_YET_VALID = "Invalid token: The token is not yet valid."
NO_SIGNING_KEY = "Invalid token: Unable to find a signing key of the project that matches its kid."
NOT_THE_KEYS_ALGORITHM = "Invalid token: its alg is not the algorithm of the key its kid names."
MALFORMED_CLAIMS = "Invalid token: its claims are malformed."
INVALID = "Invalid token."
NOT_A_CONFIGURED_KEY = (
    "Invalid secret key: it is not one of this function's secret keys (SUPABASE_SECRET_KEYS)."
)
PUBLISHABLE_BEARER = (
    "Sign in first: a publishable key names the app, not a user; send the user's access token."
)


@dataclass(frozen=True)
class Caller:
    """A verified caller: a user acting for themself, or a service acting for anyone.
    is_anonymous: the user signed in anonymously (Supabase's `is_anonymous` claim)."""

    user_id: UUID | None
    is_service: bool
    is_anonymous: bool = False

    @classmethod
    def user(cls, user_id: UUID, *, anonymous: bool = False) -> Caller:
        return cls(user_id=user_id, is_service=False, is_anonymous=anonymous)

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
        self._secret_key_digests = tuple(_digest(key) for key in settings.secret_keys)
        accepted = [
            *(["HS256"] if self._secret else []),
            *(ASYMMETRIC if self._jwks_url else ()),
        ]
        self._refused_algorithm = (
            f"Invalid token: its algorithm is not accepted (accepted: {', '.join(accepted)})."
            if accepted
            else "Invalid token: this function has no key to verify tokens with."
        )

    def verify(self, authorization: str | None, apikey: str | None = None) -> Caller:
        """The caller named by the `Authorization` and `apikey` headers, or Unauthorized."""
        key_caller = self._api_key(apikey)
        if key_caller is not None and not (authorization or "").strip():
            return key_caller
        token = _bearer(authorization)
        if token.startswith(SECRET_KEY_PREFIX):
            return self._secret_key(token)
        if token.startswith(PUBLISHABLE_KEY_PREFIX):
            raise Unauthorized(PUBLISHABLE_BEARER)
        try:
            claims = self._decode(token)
        except jwt.PyJWKClientConnectionError as exc:
            raise Unavailable(
                "Cannot fetch the project's signing keys; try again shortly.", retry_after=5
            ) from exc
        except jwt.PyJWTError as exc:
            log.info("token refused: %s: %.200r", type(exc).__name__, str(exc))
            raise Unauthorized(_refusal(exc, token)) from exc
        except (TypeError, ValueError) as exc:  # a malformed key or token PyJWT did not wrap
            log.info("token refused: %s: %.200r", type(exc).__name__, str(exc))
            raise Unauthorized(INVALID) from exc
        return self._caller(claims)

    def _api_key(self, apikey: str | None) -> Caller | None:
        key = (apikey or "").strip()
        if not key.startswith(SECRET_KEY_PREFIX):
            return None  # a publishable or legacy anon key: the app's name, no one's credential
        return self._secret_key(key)

    def _secret_key(self, key: str) -> Caller:
        digest = _digest(key)
        # Every configured key is compared, in constant time, as digests of equal length: the
        # time taken tells neither which key matched nor how much of one.
        matched = False
        for known in self._secret_key_digests:
            matched |= hmac.compare_digest(digest, known)
        if not matched:
            raise Unauthorized(NOT_A_CONFIGURED_KEY)
        return Caller.service()

    def _decode(self, token: str) -> dict[str, object]:
        alg = _unverified_alg(token)
        if not self._accepts(alg):
            # PyJWT's strict reading: its error for a token that is not a JWT, else the alg.
            alg = jwt.get_unverified_header(token).get("alg")
        if alg == "HS256" and self._secret:
            key: object = self._secret
            algorithms = ["HS256"]
        elif alg in ASYMMETRIC and self._jwks_url:
            jwk = self._jwk_client().get_signing_key_from_jwt(token)
            if jwk.algorithm_name not in ASYMMETRIC:
                log.info("token refused: its kid names a %r key", jwk.algorithm_name)
                raise Unauthorized(NOT_THE_KEYS_ALGORITHM)
            key = jwk.key
            algorithms = [jwk.algorithm_name]  # the key's own algorithm, whatever the header says
        else:
            log.info("token refused: alg %.100r is not accepted", alg)
            raise Unauthorized(self._refused_algorithm)
        claims: dict[str, object] = jwt.decode(
            token,
            key,  # type: ignore[arg-type]  # a str secret or a cryptography public key
            algorithms=algorithms,
            options={"require": list(REQUIRED_CLAIMS), "verify_aud": False},
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
            user_id = UUID(str(claims.get("sub")))
        except ValueError:
            raise Unauthorized("Invalid token: sub is not a user id.") from None
        return Caller.user(user_id, anonymous=claims.get("is_anonymous") is True)


def _refusal(exc: jwt.PyJWTError, token: str) -> str:
    """The 401 message for a failure of PyJWT: one of ours, whatever its own says."""
    if isinstance(exc, jwt.InvalidSignatureError):
        return BAD_SIGNATURE
    if isinstance(exc, jwt.ExpiredSignatureError):
        return EXPIRED
    if isinstance(exc, jwt.ImmatureSignatureError):
        return NOT_YET_VALID
    if isinstance(exc, jwt.MissingRequiredClaimError) and exc.claim in REQUIRED_CLAIMS:
        return f'Invalid token: Token is missing the "{exc.claim}" claim.'
    if isinstance(exc, jwt.PyJWKClientError):
        return NO_SIGNING_KEY
    if not _is_jwt(token):
        return NOT_A_JWT
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return NOT_THE_KEYS_ALGORITHM
    if isinstance(exc, jwt.DecodeError | jwt.InvalidIssuedAtError):
        return MALFORMED_CLAIMS  # a JWT, but its payload or a time claim is not what it must be
    return INVALID


def _is_jwt(token: str) -> bool:
    """Whether PyJWT reads the token as a JWS: three base64url segments, a JSON object header
    with well-formed kid and crit. Only asked once a token has failed, so its cost is no
    request's."""
    try:
        jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return False
    return True


def _unverified_alg(token: str) -> object:
    """The `alg` of the token's header, or None when it cannot be read that simply.

    It only picks which key to try, as PyJWT's get_unverified_header did, at a fraction of its
    cost (that decodes and checks every segment, which jwt.decode then does again): jwt.decode
    reads and checks the header, payload and signature as strictly as before, in the same order,
    so a malformed token still fails there."""
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, TypeError, RecursionError):  # binascii.Error is a ValueError
        return None
    return header.get("alg") if isinstance(header, dict) else None


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(NO_CREDENTIALS)
    return token.strip()

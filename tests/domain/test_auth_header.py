"""The token header is read cheaply to pick the key, and a malformed token still fails where
PyJWT's strict reading fails it, with one fixed 401 message: "The token is not a JWT." (not
PyJWT's wording, which quotes the bytes it choked on)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

import jwt
import pytest

from badges import devtokens
from badges.auth import MALFORMED_CLAIMS, NOT_A_JWT, Verifier, _unverified_alg
from badges.errors import Unauthorized
from badges.settings import Settings

SECRET = "a-secret-of-at-least-32-characters-long!"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def segment(value: object) -> str:
    return b64(json.dumps(value).encode())


GOOD = devtokens.user_token(uuid.uuid4(), SECRET)
_, PAYLOAD, SIGNATURE = GOOD.split(".")
HS256 = segment({"alg": "HS256", "typ": "JWT"})

MALFORMED = [
    "not-a-token",
    "two.segments",
    f"!!!!.{PAYLOAD}.{SIGNATURE}",
    f"{HS256}!.{PAYLOAD}.{SIGNATURE}",
    f"{HS256}===.{PAYLOAD}.{SIGNATURE}",
    f"{b64(b'not json')}.{PAYLOAD}.{SIGNATURE}",
    f"{segment(['HS256'])}.{PAYLOAD}.{SIGNATURE}",
    f"{segment({'alg': 'HS256', 'kid': 7})}.{PAYLOAD}.{SIGNATURE}",
    f"{segment({'alg': 'HS256', 'crit': ['exp']})}.{PAYLOAD}.{SIGNATURE}",
    f"{b64(b'[' * 100_000 + b']' * 100_000)}.{PAYLOAD}.{SIGNATURE}",
    f"{HS256}.{PAYLOAD}!.{SIGNATURE}",
    f"{HS256}.{PAYLOAD}.{SIGNATURE}*",
    f"{segment({'alg': 'none'})}!.{PAYLOAD}.",
    f"{segment({'alg': 'RS256', 'kid': 'k'})}.{PAYLOAD}!.{SIGNATURE}",
]


@pytest.mark.parametrize("token", MALFORMED)
def test_a_token_pyjwt_cannot_read_is_not_a_jwt(token: str):
    """Whatever alg a lenient reading of the header would find, and whatever PyJWT says of it."""
    verifier = Verifier(Settings(jwt_secret=SECRET))
    with pytest.raises(jwt.PyJWTError):
        jwt.get_unverified_header(token)  # the strict reading fails: not a JWT

    with pytest.raises(Unauthorized) as refused:
        verifier.verify(f"Bearer {token}")

    assert refused.value.message == NOT_A_JWT


def test_a_garbage_payload_fails_its_signature_before_it_is_read():
    """PyJWT checks the signature before it parses the payload: a JWT's shape with a payload
    that is not JSON is a bad signature, as it is for anyone without the secret."""
    token = f"{HS256}.{b64(b'not json')}.{SIGNATURE}"

    with pytest.raises(Unauthorized, match="Signature verification failed"):
        Verifier(Settings(jwt_secret=SECRET)).verify(f"Bearer {token}")


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[1, 2]", b'{"role": "authenticated", "exp": "tomorrow"}'],
    ids=["not-json", "not-an-object", "exp-not-a-number"],
)
def test_a_signed_token_with_malformed_claims_says_so(payload: bytes):
    """Only a holder of the key can make these: a JWT whose signature verifies but whose claims
    are not an object or have a time claim of the wrong type."""
    signing_input = f"{HS256}.{b64(payload)}"
    mac = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64(mac)}"

    with pytest.raises(Unauthorized) as refused:
        Verifier(Settings(jwt_secret=SECRET)).verify(f"Bearer {token}")

    assert refused.value.message == MALFORMED_CLAIMS


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "HS256", "typ": "JWT"},
        {"alg": "RS256", "kid": "rsa-1", "typ": "JWT"},
        {"alg": "ES256", "kid": "ec-1"},
        {"alg": "none"},
        {"typ": "JWT"},
        {"alg": ["HS256"]},
    ],
)
def test_the_cheap_reading_of_the_header_finds_the_alg_pyjwt_finds(header: dict[str, object]):
    token = f"{segment(header)}.{PAYLOAD}.{SIGNATURE}"

    assert _unverified_alg(token) == jwt.get_unverified_header(token).get("alg")


def test_a_good_token_is_still_verified_in_full():
    verifier = Verifier(Settings(jwt_secret=SECRET))
    user = uuid.uuid4()

    assert verifier.verify(f"Bearer {devtokens.user_token(user, SECRET)}").user_id == user
    with pytest.raises(Unauthorized, match="Signature verification failed"):
        verifier.verify(f"Bearer {devtokens.user_token(user, 'x' * 40)}")
    with pytest.raises(Unauthorized, match="Signature has expired"):
        verifier.verify(f"Bearer {devtokens.user_token(user, SECRET, expires_in=-60)}")

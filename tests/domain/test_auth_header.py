"""The token header is read cheaply to pick the key, and a malformed token still fails exactly as
PyJWT's own reading of it says (the message of its 401 included)."""

from __future__ import annotations

import base64
import json
import uuid

import jwt
import pytest

from badges import devtokens
from badges.auth import Verifier, _unverified_alg
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
    f"{HS256}.{b64(b'not json')}.{SIGNATURE}",
    f"{segment({'alg': 'none'})}!.{PAYLOAD}.",
    f"{segment({'alg': 'RS256', 'kid': 'k'})}.{PAYLOAD}!.{SIGNATURE}",
]


@pytest.mark.parametrize("token", MALFORMED)
def test_a_malformed_token_fails_with_pyjwts_own_error(token: str):
    """What `jwt.get_unverified_header` (the reading before the signature check) says of it,
    whatever alg a lenient reading of the header would find."""
    verifier = Verifier(Settings(jwt_secret=SECRET))
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        expected = f"Invalid token: {exc}."
    else:  # read fine: refused later (not accepted, or not verified)
        expected = None

    with pytest.raises(Unauthorized) as refused:
        verifier.verify(f"Bearer {token}")

    if expected is not None:
        assert refused.value.message == expected
    else:
        assert header is not None


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

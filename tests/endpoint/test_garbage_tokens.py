"""Garbage for a token: 401 `unauthorized` with a fixed message that never quotes the token.

A 401's message is read by people and shown by apps: what an attacker put in a token (its
bytes, an `alg` or `kid` of their choosing, markup, a very long string) must not come back in it,
nor PyJWT's wording of the failure ("Invalid header string: 'utf-8' codec can't decode byte
0xff…", 'Unable to find a signing key that matches: "<kid>"'), which quotes it. The function
logs what it refused instead, quoted with repr and cut short. Tried on a function that trusts
both key sources (the HS256 secret and the project's JWKS over loopback), with a write that
would succeed with a good token, so a 401 is the token's doing and nothing is written.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient

from tests.endpoint.conftest import MakeClient
from tests.endpoint.test_auth import PROJECT_URL, project_claims
from tests.endpoint.test_auth import jwks_url as jwks_url  # the project's JWKS over loopback

NOT_A_JWT = "The token is not a JWT."
REFUSED_ALGORITHM = "Invalid token: its algorithm is not accepted (accepted: HS256, ES256, RS256)."
NO_SIGNING_KEY = "Invalid token: Unable to find a signing key of the project that matches its kid."

SCRIPT = "<script>alert(document.cookie)</script>"
LONG = "attacker-" + "A" * 5000
FOREIGN_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def by_hand(header: dict[str, Any] | bytes, user: uuid.UUID, signature: bytes = b"sig") -> str:
    """A token assembled without PyJWT, which would refuse to make most of these."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return f"{b64(raw)}.{b64(json.dumps(project_claims(user)).encode())}.{b64(signature)}"


def rs256_with_kid(kid: str, user: uuid.UUID) -> str:
    """Signed, but by a key that is not the project's, under a kid of the attacker's choosing."""
    return jwt.encode(project_claims(user), FOREIGN_KEY, algorithm="RS256", headers={"kid": kid})


# name, the token made for a user, what the 401 says, the attacker's text it must not say.
Garbage = tuple[str, Callable[[uuid.UUID], str], str, tuple[str, ...]]

GARBAGE: list[Garbage] = [
    ("not-base64", lambda u: "%%%<b>.***.$$$", NOT_A_JWT, ("%%%", "<b>", "***")),
    ("one-segment", lambda u: SCRIPT, NOT_A_JWT, (SCRIPT, "segments")),
    (
        "header-not-utf8",
        lambda u: by_hand(b'{"alg": "HS256", "x": "\xff\xfe"}', u),
        NOT_A_JWT,
        ("codec", "0xff", "utf-8", "decode byte"),
    ),
    (
        "header-not-json",
        lambda u: by_hand(SCRIPT.encode(), u),
        NOT_A_JWT,
        (SCRIPT, "<script>", "Expecting value", "line 1"),
    ),
    ("header-a-list", lambda u: by_hand(b'["HS256"]', u), NOT_A_JWT, ("json object",)),
    ("alg-none", lambda u: by_hand({"alg": "none"}, u, b""), REFUSED_ALGORITHM, ("none",)),
    ("alg-script", lambda u: by_hand({"alg": SCRIPT}, u), REFUSED_ALGORITHM, (SCRIPT, "<script>")),
    ("alg-long", lambda u: by_hand({"alg": LONG}, u), REFUSED_ALGORITHM, ("attacker-", "AAAA")),
    (
        "alg-with-a-line-break",
        lambda u: by_hand({"alg": "HS256\r\nX-Injected: yes"}, u),
        REFUSED_ALGORITHM,
        ("X-Injected",),
    ),
    ("kid-script", lambda u: rs256_with_kid(SCRIPT, u), NO_SIGNING_KEY, (SCRIPT, "<script>")),
    ("kid-long", lambda u: rs256_with_kid(LONG, u), NO_SIGNING_KEY, ("attacker-", "AAAA")),
    (
        "kid-not-a-string",
        lambda u: by_hand({"alg": "RS256", "kid": {SCRIPT: 1}}, u),
        NOT_A_JWT,
        (SCRIPT, "Key ID"),
    ),
    (
        "crit-script",
        lambda u: by_hand({"alg": "HS256", "crit": [SCRIPT]}, u),
        NOT_A_JWT,
        (SCRIPT, "critical"),
    ),
]
CASES = [pytest.param(make, says, text, id=name) for name, make, says, text in GARBAGE]


@pytest.fixture(scope="module")
def function(make_client: MakeClient, jwks_url: str) -> FlaskClient:
    return make_client(SUPABASE_URL=PROJECT_URL, SUPABASE_JWKS_URL=jwks_url)


@pytest.mark.parametrize(("make", "says", "attacker_text"), CASES)
def test_garbage_is_unauthorized_with_a_fixed_message_that_quotes_none_of_it(
    function: FlaskClient,
    conn,
    user,
    make: Callable[[uuid.UUID], str],
    says: str,
    attacker_text: tuple[str, ...],
):
    response = function.post(
        "/",
        json={"action": "award", "badge_id": "social_sharer"},
        headers={"Authorization": f"Bearer {make(user)}"},
    )
    raw = response.get_data(as_text=True)

    assert response.status_code == 401
    assert response.get_json() == {
        "success": False,
        "error": {"code": "unauthorized", "message": says},
    }
    for text in attacker_text:
        assert text not in raw
        assert all(text not in value for value in response.headers.values())
    assert conn.execute(
        "select count(*) from badges.awards where user_id = %s", (user,)
    ).fetchone() == (0,)


@pytest.mark.parametrize(
    ("make", "quoted"),
    [
        pytest.param(lambda u: by_hand({"alg": SCRIPT}, u), SCRIPT, id="alg"),
        pytest.param(lambda u: rs256_with_kid(SCRIPT, u), SCRIPT, id="kid"),
    ],
)
def test_what_was_refused_goes_to_the_log_instead(
    function: FlaskClient,
    caplog: pytest.LogCaptureFixture,
    make: Callable[[uuid.UUID], str],
    quoted: str,
):
    caplog.set_level(logging.INFO, logger="badges")

    response = function.post(
        "/", json={"action": "list"}, headers={"Authorization": f"Bearer {make(uuid.uuid4())}"}
    )

    assert response.status_code == 401
    assert any(quoted in record.getMessage() for record in caplog.records), caplog.text


def test_a_long_alg_is_logged_cut_short_and_line_breaks_escaped(
    function: FlaskClient, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="badges")
    token = by_hand({"alg": "attacker-\nforged log line " + LONG}, uuid.uuid4())

    function.post("/", json={"action": "list"}, headers={"Authorization": f"Bearer {token}"})

    logged = [r.getMessage() for r in caplog.records if "attacker-" in r.getMessage()]
    assert len(logged) == 1
    assert len(logged[0]) < 300
    assert "\n" not in logged[0]

"""Tokens exactly as Supabase issues them are accepted; anything else is 401 and does nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.endpoint.conftest import SECRET, Api, MakeClient, Tokens

PROJECT_URL = "https://abcdefghijklmnop.supabase.co"
PROJECT_ISSUER = f"{PROJECT_URL}/auth/v1"


def test_a_user_token_from_the_supabase_cli_is_accepted(api: Api, tokens: Tokens, user):
    answer = api.post({"action": "list"}, tokens.user(user))

    assert answer.status == 200


def test_the_legacy_service_role_key_is_accepted_as_a_service(api: Api, tokens: Tokens, user):
    now = tokens.now()
    key = tokens.sign(
        {
            "iss": "supabase",
            "ref": "abcdefghijklmnop",
            "role": "service_role",
            "iat": now,
            "exp": now + 3600,
        }
    )

    answer = api.post({"action": "award", "user_id": str(user), "badge_id": "streak_7d"}, key)

    assert answer.status == 200
    assert answer.body["awarded"] is True


def test_a_projects_user_token_is_accepted_when_supabase_url_is_set(
    make_client: MakeClient, tokens: Tokens, user
):
    api = Api(
        make_client(SUPABASE_URL=PROJECT_URL, SUPABASE_JWKS_URL="http://127.0.0.1:9/none"), tokens
    )

    accepted = api.post({"action": "list"}, tokens.user(user, iss=PROJECT_ISSUER))
    cli_token = api.post({"action": "list"}, tokens.user(user))

    assert accepted.status == 200
    assert cli_token.status == 401  # issued by another project's auth server


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"exp": 1_000_000}, id="expired"),
        pytest.param({"nbf": 4_000_000_000}, id="not-yet-valid"),
        pytest.param({"aud": "other"}, id="wrong-audience"),
        pytest.param({"aud": None}, id="no-audience"),
        pytest.param({"iss": "https://evil.example/auth/v1"}, id="wrong-issuer"),
        pytest.param({"sub": None}, id="no-sub"),
        pytest.param({"sub": "not-a-uuid"}, id="sub-not-uuid"),
        pytest.param({"role": "anon"}, id="anon-role"),
        pytest.param({"role": None}, id="no-role"),
        pytest.param({"exp": None}, id="no-exp"),
    ],
)
def test_a_user_token_with_a_bad_claim_is_unauthorized(
    api: Api, tokens: Tokens, conn, user, claims: dict[str, Any]
):
    answer = api.post({"action": "award", "badge_id": "social_sharer"}, tokens.user(user, **claims))

    assert answer.status == 401
    assert answer.error == "unauthorized"
    assert (
        conn.execute("select count(*) from badges.awards where user_id = %s", (user,)).fetchone()[0]
        == 0
    )


def test_tokens_signed_otherwise_are_unauthorized(api: Api, tokens: Tokens, user):
    claims = jwt.decode(tokens.user(user), SECRET, algorithms=["HS256"], audience="authenticated")
    unsigned = jwt.encode(claims, None, algorithm="none")
    wrong_secret = jwt.encode(claims, "another-secret-of-at-least-32-characters", algorithm="HS256")
    with pytest.warns(jwt.warnings.InsecureKeyLengthWarning):  # our secret is short for HS512
        hs512 = jwt.encode(claims, SECRET, algorithm="HS512")
    tampered = tokens.user(user)[:-4] + "AAAA"

    for token in (unsigned, wrong_secret, hs512, tampered):
        assert api.post({"action": "list"}, token).status == 401, token


def test_the_anon_key_is_not_a_user(api: Api, tokens: Tokens):
    now = tokens.now()
    anon = tokens.sign(
        {"iss": "supabase", "ref": "x", "role": "anon", "iat": now, "exp": now + 3600}
    )

    answer = api.post({"action": "list"}, anon)

    assert answer.status == 401
    assert "Sign in" in answer.body["error"]["message"]


# Asymmetric keys: a JWKS served over real HTTP on loopback, as Supabase Auth serves it.

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _jwk(key: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
    jwk = json.loads(algorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


JWKS = {"keys": [_jwk(RSA_KEY, "rsa-1", "RS256"), _jwk(EC_KEY, "ec-1", "ES256")]}


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(JWKS).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/auth/v1/.well-known/jwks.json"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def jwks_api(make_client: MakeClient, jwks_url: str) -> Api:
    return Api(make_client(SUPABASE_URL=PROJECT_URL, SUPABASE_JWKS_URL=jwks_url), Tokens())


def project_claims(user: uuid.UUID) -> dict[str, Any]:
    """A user's access token claims as the project's Supabase Auth issues them (10 minutes)."""
    now = Tokens.now()
    return {
        "iss": PROJECT_ISSUER,
        "sub": str(user),
        "aud": "authenticated",
        "role": "authenticated",
        "iat": now,
        "exp": now + 600,
    }


@pytest.mark.parametrize(
    ("key", "kid", "alg"), [(RSA_KEY, "rsa-1", "RS256"), (EC_KEY, "ec-1", "ES256")]
)
def test_tokens_signed_with_a_key_of_the_projects_jwks_are_accepted(
    jwks_api: Api, user, key, kid, alg
):
    token = jwt.encode(project_claims(user), key, algorithm=alg, headers={"kid": kid})

    assert jwks_api.post({"action": "list"}, token).status == 200


def test_hs256_signed_with_the_public_key_is_rejected(jwks_api: Api, user):
    """Algorithm confusion: an HS256 token whose 'secret' is the published RSA public key."""
    public_pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}
    signing_input = b".".join(
        jwt.utils.base64url_encode(json.dumps(part).encode())
        for part in (header, project_claims(user))
    )
    signature = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    token = (signing_input + b"." + jwt.utils.base64url_encode(signature)).decode()

    assert jwks_api.post({"action": "list"}, token).status == 401


def test_a_token_with_an_unknown_kid_is_rejected(jwks_api: Api, user):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(project_claims(user), other, algorithm="RS256", headers={"kid": "unknown"})

    assert jwks_api.post({"action": "list"}, token).status == 401


def test_a_token_signed_by_a_foreign_key_under_a_known_kid_is_rejected(jwks_api: Api, user):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(project_claims(user), other, algorithm="RS256", headers={"kid": "rsa-1"})

    assert jwks_api.post({"action": "list"}, token).status == 401


def test_a_function_deployed_without_a_secret_or_jwks_rejects_every_token(
    make_client: MakeClient, tokens: Tokens, user
):
    """The CLI's public development secret is never a silent default of a deployed function."""
    api = Api(make_client(SUPABASE_JWT_SECRET=""), tokens)

    assert api.post({"action": "list"}, tokens.user(user)).status == 401
    assert api.post({"action": "list"}, tokens.service()).status == 401


@pytest.mark.parametrize(
    ("key", "kid", "alg"), [(EC_KEY, "rsa-1", "ES256"), (RSA_KEY, "ec-1", "RS256")]
)
def test_a_header_naming_another_algorithm_than_the_keys_is_rejected(
    jwks_api: Api, user, key, kid, alg
):
    """The kid picks the key; the key, not the header, says which algorithm verifies."""
    token = jwt.encode(project_claims(user), key, algorithm=alg, headers={"kid": kid})

    answer = jwks_api.post({"action": "list"}, token)

    assert answer.status == 401
    assert answer.error == "unauthorized"

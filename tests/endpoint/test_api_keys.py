"""Both generations of Supabase keys, as clients send them, on a project migrating between them.

Legacy: an HS256 JWT secret; the anon and service_role keys are JWTs sent as the bearer.
New: asymmetric JWT signing keys (the project's JWKS) and opaque API keys: `sb_publishable_…`
(shipped in apps, names the app) and `sb_secret_…` (servers only). supabase-js sends the project
key in `apikey` and `Authorization: Bearer <the user's access token>` (the key itself when
signed out); Supabase's service-to-service convention (cron, pg_net, another function) sends a
secret key in `apikey` alone.

Each shape is one request that would be allowed only to the caller it claims to be: a service
awards a server-only badge to anyone; a user awards a client badge to themself and is refused the
server-only one. The awards table says who acted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from flask.testing import FlaskClient

from tests.endpoint.conftest import MakeClient, Tokens
from tests.endpoint.test_auth import EC_KEY, PROJECT_ISSUER, PROJECT_URL, project_claims
from tests.endpoint.test_auth import jwks_url as jwks_url  # the project's JWKS over loopback

# Shaped like Supabase's: the prefix, 22 random URL-safe characters, "_", an 8-character checksum.
SECRET_KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz"
ROTATED_IN_KEY = "sb_secret_Hq3Tz8WcVb1Ns5Lp0Xr4Kd_7mJfYs2Ea"
WRONG_SECRET_KEY = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvZ"  # one character off
PUBLISHABLE_KEY = "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH"

NO_CREDENTIALS = "Send Authorization: Bearer <token>."
UNKNOWN_SECRET_KEY = (
    "Invalid secret key: it is not one of this function's secret keys (SUPABASE_SECRET_KEYS)."
)
PUBLISHABLE_BEARER = (
    "Sign in first: a publishable key names the app, not a user; send the user's access token."
)
SIGN_IN_FIRST = "Sign in first: this token is not a user's token."

TOKENS = Tokens()
Headers = Callable[[uuid.UUID], dict[str, str]]


def legacy_user_token(user: uuid.UUID) -> str:
    """A user's access token signed with the legacy HS256 JWT secret."""
    return TOKENS.user(user, iss=PROJECT_ISSUER)


def user_token(user: uuid.UUID) -> str:
    """A user's access token signed with the project's asymmetric signing key (ES256)."""
    return jwt.encode(project_claims(user), EC_KEY, algorithm="ES256", headers={"kid": "ec-1"})


def legacy_key(role: str) -> str:
    """The project's legacy anon or service_role key."""
    now = Tokens.now()
    claims = {"iss": "supabase", "ref": "abcdefghijklmnop", "role": role, "iat": now}
    return TOKENS.sign({**claims, "exp": now + 3600})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def shape(headers: Headers, name: str) -> Any:
    return pytest.param(headers, id=name)


SERVICE_SHAPES = [
    shape(lambda u: bearer(legacy_key("service_role")), "legacy-service-role-jwt"),
    shape(
        lambda u: {"apikey": legacy_key("service_role"), **bearer(legacy_key("service_role"))},
        "legacy-service-role-jwt-as-supabase-js-sends-it",
    ),
    shape(lambda u: bearer(SECRET_KEY), "secret-key-as-bearer"),
    shape(lambda u: bearer(ROTATED_IN_KEY), "rotated-in-secret-key-as-bearer"),
    shape(lambda u: {"apikey": SECRET_KEY}, "secret-key-in-apikey-only"),
    shape(lambda u: {"apikey": ROTATED_IN_KEY}, "rotated-in-secret-key-in-apikey-only"),
    shape(
        lambda u: {"apikey": SECRET_KEY, **bearer(SECRET_KEY)},
        "secret-key-as-supabase-js-sends-it",
    ),
    shape(lambda u: {"apikey": SECRET_KEY, **bearer(ROTATED_IN_KEY)}, "two-configured-secret-keys"),
]

USER_SHAPES = [
    shape(lambda u: bearer(legacy_user_token(u)), "legacy-user-jwt"),
    shape(lambda u: bearer(user_token(u)), "user-jwt"),
    shape(
        lambda u: {"apikey": legacy_key("anon"), **bearer(legacy_user_token(u))},
        "legacy-user-jwt-with-anon-key-in-apikey",
    ),
    shape(
        lambda u: {"apikey": PUBLISHABLE_KEY, **bearer(user_token(u))},
        "user-jwt-with-publishable-key-in-apikey",
    ),
    # A server forwarding its user's token with its own key acts as that user, not as itself.
    shape(
        lambda u: {"apikey": SECRET_KEY, **bearer(user_token(u))},
        "user-jwt-with-secret-key-in-apikey",
    ),
]

REFUSED_SHAPES = [
    pytest.param(lambda u: bearer(WRONG_SECRET_KEY), UNKNOWN_SECRET_KEY, id="wrong-secret-key"),
    pytest.param(
        lambda u: {"apikey": WRONG_SECRET_KEY},
        UNKNOWN_SECRET_KEY,
        id="wrong-secret-key-in-apikey-only",
    ),
    pytest.param(
        lambda u: {"apikey": WRONG_SECRET_KEY, **bearer(user_token(u))},
        UNKNOWN_SECRET_KEY,
        id="wrong-secret-key-in-apikey-with-a-good-user-jwt",
    ),
    pytest.param(
        lambda u: {"apikey": WRONG_SECRET_KEY, **bearer(SECRET_KEY)},
        UNKNOWN_SECRET_KEY,
        id="wrong-secret-key-in-apikey-with-a-good-secret-key",
    ),
    pytest.param(
        lambda u: bearer(SECRET_KEY + "x"), UNKNOWN_SECRET_KEY, id="configured-key-with-a-suffix"
    ),
    pytest.param(
        lambda u: bearer(PUBLISHABLE_KEY), PUBLISHABLE_BEARER, id="publishable-key-as-bearer"
    ),
    pytest.param(
        lambda u: {"apikey": PUBLISHABLE_KEY, **bearer(PUBLISHABLE_KEY)},
        PUBLISHABLE_BEARER,
        id="publishable-key-as-signed-out-supabase-js-sends-it",
    ),
    pytest.param(
        lambda u: {"apikey": SECRET_KEY, **bearer(PUBLISHABLE_KEY)},
        PUBLISHABLE_BEARER,
        id="publishable-bearer-with-secret-key-in-apikey",
    ),
    pytest.param(
        lambda u: {"apikey": PUBLISHABLE_KEY}, NO_CREDENTIALS, id="publishable-key-in-apikey-only"
    ),
    pytest.param(lambda u: bearer(legacy_key("anon")), SIGN_IN_FIRST, id="legacy-anon-jwt"),
    pytest.param(
        lambda u: {"apikey": legacy_key("service_role")},
        NO_CREDENTIALS,  # a JWT is only ever read from Authorization
        id="legacy-service-role-jwt-in-apikey-only",
    ),
    pytest.param(
        lambda u: {"apikey": SECRET_KEY, "Authorization": f"Basic {SECRET_KEY}"},
        NO_CREDENTIALS,
        id="secret-key-in-apikey-with-a-malformed-authorization",
    ),
]


@pytest.fixture(scope="module")
def migrating(make_client: MakeClient, jwks_url: str) -> FlaskClient:
    """A project with both generations live: the legacy JWT secret, the JWKS of its asymmetric
    signing keys, and two secret keys (one being rotated in)."""
    return make_client(
        SUPABASE_URL=PROJECT_URL,
        SUPABASE_JWKS_URL=jwks_url,
        SUPABASE_SECRET_KEYS=f"{SECRET_KEY}, {ROTATED_IN_KEY}",
    )


def post(client: FlaskClient, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = client.post("/", json=body, headers=headers)
    response.close()
    return response


def awarded(conn: Any, user: uuid.UUID) -> list[str]:
    rows = conn.execute(
        "select badge_id from badges.awards where user_id = %s order by badge_id", (user,)
    ).fetchall()
    return [badge for (badge,) in rows]


@pytest.mark.parametrize("headers", SERVICE_SHAPES)
def test_a_service_caller_awards_a_server_only_badge_to_anyone(
    migrating: FlaskClient, conn, user, headers: Headers
):
    body = {"action": "award", "user_id": str(user), "badge_id": "streak_7d"}

    response = post(migrating, body, headers(uuid.uuid4()))

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["awarded"] is True
    assert awarded(conn, user) == ["streak_7d"]


@pytest.mark.parametrize("headers", USER_SHAPES)
def test_a_user_caller_acts_as_that_user_and_no_more(
    migrating: FlaskClient, conn, user, headers: Headers
):
    own = post(migrating, {"action": "award", "badge_id": "social_sharer"}, headers(user))
    server_only = post(
        migrating,
        {"action": "award", "user_id": str(user), "badge_id": "streak_7d"},
        headers(user),
    )

    assert own.status_code == 200, own.get_json()
    assert server_only.status_code == 403
    assert server_only.get_json()["error"]["code"] == "forbidden"
    assert awarded(conn, user) == ["social_sharer"]


@pytest.mark.parametrize(("headers", "message"), REFUSED_SHAPES)
def test_a_key_that_names_no_caller_is_unauthorized_and_changes_nothing(
    migrating: FlaskClient, conn, user, headers: Headers, message: str
):
    body = {"action": "award", "user_id": str(user), "badge_id": "streak_7d"}

    response = post(migrating, body, headers(user))

    assert response.status_code == 401
    assert response.get_json() == {
        "success": False,
        "error": {"code": "unauthorized", "message": message},
    }
    assert "sb_secret_" not in response.get_data(as_text=True)
    assert awarded(conn, user) == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(bearer(SECRET_KEY), id="as-bearer"),
        pytest.param({"apikey": SECRET_KEY}, id="in-apikey"),
    ],
)
def test_a_secret_key_is_refused_where_none_is_configured(
    client: FlaskClient, conn, user, headers: dict[str, str]
):
    """The shared client has no SUPABASE_SECRET_KEYS: no key is a service, however it looks."""
    body = {"action": "award", "user_id": str(user), "badge_id": "streak_7d"}

    response = post(client, body, headers)

    assert response.status_code == 401
    assert response.get_json()["error"] == {"code": "unauthorized", "message": UNKNOWN_SECRET_KEY}
    assert awarded(conn, user) == []


def test_a_key_rotated_out_is_refused(make_client: MakeClient, conn, user):
    """Rotation's last step: the old key removed from SUPABASE_SECRET_KEYS stops working at once,
    the new one goes on."""
    rotated = make_client(SUPABASE_SECRET_KEYS=ROTATED_IN_KEY)
    body = {"action": "award", "user_id": str(user), "badge_id": "streak_7d"}

    old = post(rotated, body, {"apikey": SECRET_KEY})
    new = post(rotated, body, {"apikey": ROTATED_IN_KEY})

    assert old.status_code == 401
    assert new.status_code == 200, new.get_json()
    assert awarded(conn, user) == ["streak_7d"]


def test_a_function_on_the_new_keys_only_needs_no_jwt_secret(
    make_client: MakeClient, jwks_url: str, conn, user
):
    """A project past the migration: no SUPABASE_JWT_SECRET; users sign with the asymmetric
    keys, services use a secret key, and the legacy keys are dead."""
    api = make_client(
        SUPABASE_URL=PROJECT_URL,
        SUPABASE_JWKS_URL=jwks_url,
        SUPABASE_JWT_SECRET="",
        SUPABASE_SECRET_KEYS=SECRET_KEY,
    )
    service_body = {"action": "award", "user_id": str(user), "badge_id": "streak_7d"}

    as_user = post(
        api,
        {"action": "award", "badge_id": "social_sharer"},
        {"apikey": PUBLISHABLE_KEY, **bearer(user_token(user))},
    )
    as_service = post(api, service_body, {"apikey": SECRET_KEY})
    legacy_service = post(api, service_body, bearer(legacy_key("service_role")))

    assert (as_user.status_code, as_service.status_code) == (200, 200)
    assert legacy_service.status_code == 401
    assert awarded(conn, user) == ["social_sharer", "streak_7d"]

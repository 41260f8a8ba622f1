"""The function as its callers see it: functions_framework.create_app(...).test_client() over
the real database, with tokens shaped exactly like Supabase's."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import functions_framework
import jwt
import pytest
from flask.testing import FlaskClient

from badges import devtokens
from badges.app import LazyEndpoint
from badges.settings import OPTIONAL_VARIABLES
from tests.conftest import PROJECT_DIR

SECRET = "test-jwt-secret-with-at-least-32-characters"
MAIN = PROJECT_DIR / "functions" / "main.py"

# Every variable the function reads: each app starts from exactly these, never the developer's.
BASE_ENV = {
    "DATABASE_URL": "",
    "SUPABASE_URL": "",
    "SUPABASE_SERVICE_ROLE_KEY": "",
    "SUPABASE_JWT_SECRET": SECRET,
    "SUPABASE_JWKS_URL": "",
    "SUPABASE_JWT_ISSUER": "",
    "SUPABASE_SECRET_KEYS": "",
    "BADGES_STORE": "",
    "BADGES_CORS_ORIGINS": "",
    "BADGES_CATALOG": "",
    **dict.fromkeys(OPTIONAL_VARIABLES.values(), ""),
}

MakeClient = Callable[..., FlaskClient]


@pytest.fixture(scope="session")
def client_endpoints() -> Iterator[list[LazyEndpoint]]:
    """Every endpoint make_client built, closed (with its connection pool) at the latest when
    the session ends."""
    endpoints: list[LazyEndpoint] = []
    yield endpoints
    for endpoint in endpoints:
        endpoint.close()


@pytest.fixture(autouse=True)
def _close_clients_built_by_the_test(client_endpoints: list[LazyEndpoint]) -> Iterator[None]:
    """A client a test (or its function-scoped fixtures) built is closed when the test ends, so
    its pool's connections do not pile up over the session (module and session fixtures build
    theirs before this runs, and keep them)."""
    before = len(client_endpoints)
    yield
    for endpoint in client_endpoints[before:]:
        endpoint.close()
    del client_endpoints[before:]


@pytest.fixture(scope="session")
def make_client(database_url: str, client_endpoints: list[LazyEndpoint]) -> MakeClient:
    """Factory: a test client of the real function target, configured by env overrides."""

    def make(*, build: bool = True, **env: str) -> FlaskClient:
        config = {**BASE_ENV, "DATABASE_URL": database_url, **env}
        saved = {k: os.environ.get(k) for k in config}
        os.environ.update(config)
        try:
            app = functions_framework.create_app(target="badges", source=str(MAIN))
            endpoint: LazyEndpoint = sys.modules["main"].endpoint
            if build:
                endpoint.get()  # built now, from this environment
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        client_endpoints.append(endpoint)
        return app.test_client()

    return make


@pytest.fixture(scope="session")
def client(make_client: MakeClient) -> FlaskClient:
    return make_client()


class Tokens:
    """Tokens as Supabase issues them, signed with the test secret unless told otherwise."""

    def user(self, user_id: uuid.UUID, **claims: Any) -> str:
        token = devtokens.user_token(user_id, SECRET)
        if not claims:
            return token
        payload = jwt.decode(token, SECRET, algorithms=["HS256"], audience="authenticated")
        payload.update(claims)
        return self.sign({k: v for k, v in payload.items() if v is not None})

    def service(self) -> str:
        return devtokens.service_token(SECRET)

    def sign(
        self,
        claims: dict[str, Any],
        key: Any = SECRET,
        algorithm: str = "HS256",
        headers: dict[str, Any] | None = None,
    ) -> str:
        return jwt.encode(claims, key, algorithm=algorithm, headers=headers)

    @staticmethod
    def now() -> int:
        return int(time.time())


@pytest.fixture(scope="session")
def tokens() -> Tokens:
    return Tokens()


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def error(self) -> str | None:
        return self.body["error"]["code"] if self.body.get("success") is False else None


class Api:
    """The function spoken to in domain verbs: api.call("award", as_user=u, badge_id=…)."""

    def __init__(self, client: FlaskClient, tokens: Tokens) -> None:
        self.client = client
        self.tokens = tokens

    def post(self, body: Any, token: str | None = None, path: str = "/") -> Answer:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.client.post(path, json=body, headers=headers)
        response.close()  # as a server does once the body is out: runs after-response work
        return Answer(response.status_code, response.get_json(), dict(response.headers))

    def call(
        self, action: str, *, as_user: uuid.UUID | None = None, service: bool = False, **params: Any
    ) -> Answer:
        token = self.tokens.service() if service else self.tokens.user(as_user or uuid.uuid4())
        return self.post({"action": action, **params}, token)

    def ok(self, action: str, **kwargs: Any) -> dict[str, Any]:
        answer = self.call(action, **kwargs)
        assert answer.status == 200, answer.body
        assert answer.body["success"] is True
        return answer.body


@pytest.fixture
def api(client: FlaskClient, tokens: Tokens) -> Api:
    return Api(client, tokens)

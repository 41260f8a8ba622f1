"""HTTP around the actions: any path, CORS, /health, and recovery when the database returns."""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from pgserver import _commands as pg_commands

from badges import devdb
from badges.migrate import migrate
from tests.endpoint.conftest import Api, MakeClient, Tokens


@pytest.mark.parametrize("path", ["/", "/badges", "/functions/v1/badges"])
def test_the_function_answers_on_any_path(api: Api, tokens: Tokens, path: str):
    assert api.post({"action": "catalog"}, tokens.user(uuid.uuid4()), path=path).status == 200


def test_a_cors_preflight_is_answered_with_the_allowed_headers(client: FlaskClient):
    response = client.options(
        "/functions/v1/badges",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, apikey, content-type, x-client-info",
        },
    )

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    allowed = {h.strip() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "apikey", "content-type", "x-client-info"} <= allowed
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_errors_carry_cors_headers_so_browsers_can_read_them(client: FlaskClient):
    response = client.post("/", json={"action": "list"}, headers={"Origin": "https://a.example"})

    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("origins", ["", "https://app.example"], ids=["any-origin", "listed"])
def test_a_browser_script_may_read_retry_after(
    make_client: MakeClient, tokens: Tokens, user, origins: str
):
    """Retry-After is not CORS-safelisted: unless exposed, fetch() in a browser reads it as null
    and a client cannot honour it."""
    client = make_client(
        BADGES_RATE_LIMIT_PER_MINUTE="1", BADGES_RATE_LIMIT_BURST="1", BADGES_CORS_ORIGINS=origins
    )
    headers = {"Origin": "https://app.example", "Authorization": f"Bearer {tokens.user(user)}"}

    first, limited = (
        client.post("/", json={"action": "record_activity"}, headers=headers) for _ in range(2)
    )

    assert (first.status_code, limited.status_code) == (200, 429)
    assert int(limited.headers["Retry-After"]) >= 1
    for response in (first, limited):
        exposed = response.headers["Access-Control-Expose-Headers"].split(",")
        assert "retry-after" in {h.strip().lower() for h in exposed}
        assert response.headers["Access-Control-Allow-Origin"] in {"*", "https://app.example"}


def test_configured_origins_are_echoed_and_others_get_no_cors_headers(make_client: MakeClient):
    client = make_client(BADGES_CORS_ORIGINS="https://app.example, https://admin.example")

    allowed = client.options("/", headers={"Origin": "https://admin.example"})
    denied = client.options("/", headers={"Origin": "https://evil.example"})

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://admin.example"
    assert allowed.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Origin" not in denied.headers
    denied_post = client.post(
        "/", json={"action": "list"}, headers={"Origin": "https://evil.example"}
    )
    assert denied_post.status_code == 401
    assert not [k for k, _ in denied_post.headers.items() if k.startswith("Access-Control-")]


def test_health_is_ok_when_the_database_answers(client: FlaskClient):
    for path in ("/health", "/functions/v1/badges/health"):
        response = client.get(path)
        assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


@pytest.fixture
def own_server() -> Iterator[Any]:
    """A PostgreSQL server of this test's own, to stop and start."""
    server = devdb.start(Path(tempfile.mkdtemp(prefix="badges-health-")) / "data", cleanup="delete")
    migrate(server.get_uri())
    yield server
    server.cleanup()


def _health_within(client: FlaskClient, status: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while True:
        code = client.get("/health").status_code
        if code == status or time.monotonic() > deadline:
            return code
        time.sleep(0.2)


def test_health_is_503_while_the_database_is_down_and_recovers_without_a_restart(
    make_client: MakeClient, own_server: Any
):
    client = make_client(DATABASE_URL=own_server.get_uri(), BADGES_DB_TIMEOUT="2")
    api = Api(client, Tokens())
    assert client.get("/health").status_code == 200

    pg_commands.pg_ctl(
        ["-w", "-m", "fast", "stop"], pgdata=own_server.pgdata, user=own_server.system_user
    )
    assert _health_within(client, 503, 10) == 503
    down = api.call("catalog")

    own_server.ensure_postgres_running()
    assert _health_within(client, 200, 15) == 200
    assert down.status == 503
    assert down.error == "unavailable"
    assert api.call("catalog").status == 200

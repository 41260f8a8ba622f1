"""The demo's sign-in (POST /demo/token) exists in `badges demo` only: the deployed targets of
functions/main.py answer that path as any other, with no token."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import functions_framework
import jwt
import pytest
from flask.testing import FlaskClient

from badges import demo, devtokens
from badges.app import LazyEndpoint
from tests.endpoint.conftest import BASE_ENV, MAIN, SECRET

TARGETS = {"badges": "endpoint", "badges_jobs": "jobs_endpoint"}


@pytest.fixture(params=list(TARGETS))
def deployed(request: pytest.FixtureRequest, database_url: str) -> Iterator[FlaskClient]:
    target = str(request.param)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**BASE_ENV, "DATABASE_URL": database_url}.items():
            patch.setenv(name, value)
        app = functions_framework.create_app(target=target, source=str(MAIN))
        endpoint: LazyEndpoint = getattr(sys.modules["main"], TARGETS[target])
        endpoint.get()
    yield app.test_client()
    endpoint.close()


@pytest.mark.parametrize("signed_in", [False, True])
def test_the_deployed_targets_mint_no_token(deployed: FlaskClient, signed_in: bool):
    user = uuid.uuid4()
    headers = {"Authorization": f"Bearer {devtokens.user_token(user, SECRET)}"} if signed_in else {}

    minted = deployed.post("/demo/token", json={"user_id": str(user)}, headers=headers)
    config = deployed.get("/demo/config")

    assert minted.status_code in (400, 401, 403)
    assert minted.get_json()["success"] is False
    assert "token" not in minted.get_json()
    assert config.status_code == 405


@pytest.fixture
def demo_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FlaskClient:
    for name, value in {**BASE_ENV, "SUPABASE_JWT_SECRET": SECRET}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BADGES_CATALOG", str(demo.write_catalog(tmp_path / "pg")))
    return demo.app().test_client()


def test_the_demo_mints_a_token_the_function_accepts_and_refuses_bad_requests(
    demo_app: FlaskClient,
):
    user = uuid.uuid4()

    minted = demo_app.post("/demo/token", json={"user_id": str(user)})
    expired = demo_app.post("/demo/token", json={"user_id": str(user), "expires_in": -60})
    claims = jwt.decode(
        minted.get_json()["token"], SECRET, algorithms=["HS256"], audience="authenticated"
    )
    lapsed = jwt.decode(expired.get_json()["token"], options={"verify_signature": False})

    assert (minted.status_code, claims["sub"], claims["role"]) == (200, str(user), "authenticated")
    assert lapsed["exp"] < time.time()
    assert demo_app.post("/demo/token", json={"user_id": "ada"}).status_code == 400
    too_long = {"user_id": str(user), "expires_in": 10**9}
    assert demo_app.post("/demo/token", json=too_long).status_code == 400


def fetch(client: FlaskClient, path: str) -> tuple[int, str, bytes]:
    """A file the demo serves, read whole (a file response is streamed: closed once read)."""
    with client.get(path) as response:
        return response.status_code, response.mimetype or "", response.data


def test_the_demo_serves_the_page_and_its_modules_but_not_the_build(demo_app: FlaskClient):
    status, _, page = fetch(demo_app, "/")
    module = fetch(demo_app, "/vendor/supabase-js.js")[:2]
    config = demo_app.get("/demo/config").get_json()

    assert status == 200
    assert b'<script type="module" src="app.js">' in page
    assert module == (200, "text/javascript")
    for hidden in ("/package.json", "/tools/bundle.mjs", "/../pyproject.toml", "/nope.js"):
        assert fetch(demo_app, hidden)[0] == 404, hidden
    assert config["users"][0]["name"] == "Ada Lovelace"
    assert set(config) == {"users"}  # the rest comes from the function's own answers

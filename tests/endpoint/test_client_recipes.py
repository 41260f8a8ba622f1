"""The client recipes of docs/clients.md, run as written against a real `badges serve`.

The blocks the document marks `<!-- tested: NAME -->` are taken from it verbatim: the JavaScript
ones run under Node.js with the real @supabase/supabase-js (pinned in tests/js/package.json,
installed by `npm ci` into the git-ignored tests/js/node_modules), driven by tests/js/driver.mjs;
the Python one with the supabase-py of the project's environment. Tokens come from `badges token`,
as the document says.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import types
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from supabase import ClientOptions, create_client
from supabase_functions import SyncFunctionsClient

from badges import devtokens
from badges.settings import DEV_JWT_SECRET
from tests.conftest import PROJECT_DIR
from tests.endpoint.test_serve import new_data_dir, serve_env, serving
from tests.system import InstallFailed, npm_ci

DOC = PROJECT_DIR / "docs" / "clients.md"
JS_DIR = PROJECT_DIR / "tests" / "js"
TESTED = re.compile(r"<!-- tested: (?P<name>[\w.-]+) -->\n```\w+\n(?P<code>.*?\n)```\n", re.S)
NODE_MAJOR = 20  # what the pinned supabase-js needs (its package.json's engines)
# Each user's bucket of client writes: small, so that a few writes reach 429; a token comes back
# every second, so Retry-After is 1. (A longer wait would reuse a kept-alive connection as the
# server closes it: gunicorn keeps an idle one 2 s, Node's fetch 4 s.)
BURST = 5
PER_MINUTE = 60


def recipes() -> dict[str, str]:
    found = {m["name"]: m["code"] for m in TESTED.finditer(DOC.read_text(encoding="utf-8"))}
    assert set(found) == {"badges-errors.js", "badges.js", "badges-fetch.js", "badges_client.py"}
    return found


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[str]:
    """`badges serve` on the test database (migrated and given the v1 catalog as it starts),
    verifying tokens with the development secret, as `make run` does."""
    env = {
        "DATABASE_URL": database_url,
        "BADGES_RATE_LIMIT_BURST": str(BURST),
        "BADGES_RATE_LIMIT_PER_MINUTE": str(PER_MINUTE),
    }
    with serving(new_data_dir("badges-recipes-"), **env) as (port, _, _):
        yield f"http://127.0.0.1:{port}"


def badges_token(*args: str) -> str:
    """A token as the document says to take one: `badges token …`, in the server's environment."""
    done = subprocess.run(  # noqa: S603 - the project's own command
        [sys.executable, "-m", "badges.cli", "token", *args],
        env=serve_env(new_data_dir("badges-token-")),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def user_token(user: uuid.UUID) -> str:
    return badges_token("--user", str(user))


def expired_token(user: uuid.UUID) -> str:
    """A token whose exp is past (beyond the 10 s of tolerated clock skew); `badges token` makes
    only live ones."""
    return devtokens.user_token(user, DEV_JWT_SECRET, expires_in=-60)


@pytest.fixture(scope="session")
def node() -> str:
    """node, with the pinned @supabase/supabase-js installed in tests/js/node_modules."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(
            "the supabase-js recipes of docs/clients.md need Node.js "
            f"{NODE_MAJOR}+ and npm on PATH; not found"
        )
    version = subprocess.run(  # noqa: S603 - node from PATH
        [node, "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < NODE_MAJOR:
        pytest.skip(f"the supabase-js recipes need Node.js {NODE_MAJOR}+; found {version}")
    try:
        npm_ci(JS_DIR, "@supabase/supabase-js")
    except InstallFailed as exc:
        pytest.fail(str(exc))
    return node


def run_js_recipes(node: str, url: str, users: dict[str, Any]) -> dict[str, Any]:
    """The recipes written where node resolves @supabase/supabase-js from, driven by driver.mjs."""
    (JS_DIR / ".recipes").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=JS_DIR / ".recipes"))
    try:
        for name, code in recipes().items():
            if name.endswith(".js"):
                (folder / name).write_text(code, encoding="utf-8")
        done = subprocess.run(  # noqa: S603 - node on the document's own recipes
            # supabase-js builds its realtime client at once, which needs a WebSocket: Node 22
            # has one, Node 20 behind this flag.
            [node, "--experimental-websocket", str(JS_DIR / "driver.mjs"), str(folder)],
            env={**os.environ, "RECIPE_INPUT": json.dumps({"url": url, "users": users})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_the_supabase_js_recipes(node: str, served: str):
    ada, bob, cy = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    users = {
        "ada": {"id": str(ada), "tokens": [expired_token(ada), user_token(ada)]},
        "bob": {"id": str(bob), "tokens": [user_token(bob)]},
        "cy": {"id": str(cy), "tokens": [user_token(cy)]},
    }

    out = run_js_recipes(node, served, users)

    # The signed-in session's token is what invoke sends: refused while expired; callBadges
    # refreshed the session once and listed.
    assert out["expired"]["error"]["status"] == 401
    assert out["expired"]["error"]["code"] == "unauthorized"
    assert out["expired"]["error"]["name"] == "BadgesError"
    assert out["grants"] == ["password", "refresh_token"]
    assert out["listed"]["answer"]["success"] is True
    assert out["listed"]["answer"]["earned_count"] == 0
    # An award, idempotent.
    assert out["first"]["answer"]["awarded"] is True
    assert out["first"]["answer"]["badge"]["id"] == "social_sharer"
    assert out["again"]["answer"]["awarded"] is False
    assert out["listedAfter"]["answer"]["earned_count"] == 1
    # The JSON error body, read from FunctionsHttpError.context; not retried.
    assert out["unknown"]["error"]["status"] == 400
    assert out["unknown"]["error"]["code"] == "unknown_action"
    assert "award" in out["unknown"]["error"]["details"]["known"]
    assert out["unknown"]["error"]["retryAfter"] is None
    # Routed from a Supabase project's client to the function's URL: the burst, then 429 with
    # Retry-After, which callBadges waited out.
    assert out["writes"][-1] == "rate_limited"
    assert out["writes"][:-1] == ["ok"] * (len(out["writes"]) - 1)
    assert len(out["writes"]) > BURST
    limited = out["limited"]["error"]
    assert limited["status"] == 429
    assert limited["retryAfter"] == 1
    assert out["retried"]["answer"]["awarded"] is False
    assert out["retriedAfterMs"] >= limited["retryAfter"] * 1000
    # The accessToken script of the document.
    assert out["script"]["answer"]["earned_count"] == 0
    # Plain fetch.
    assert out["fetched"]["answer"]["earned_count"] == 1
    assert out["fetchForbidden"]["error"]["status"] == 403
    assert out["fetchForbidden"]["error"]["code"] == "forbidden"


@pytest.fixture(scope="module")
def badges_client() -> types.ModuleType:
    """The supabase-py recipe, as a module."""
    module = types.ModuleType("badges_client")
    code = compile(recipes()["badges_client.py"], f"{DOC}:badges_client.py", "exec")
    exec(code, module.__dict__)  # noqa: S102 - the document's own recipe
    return module


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def user_functions(url: str, token: str, http: httpx.Client) -> SyncFunctionsClient:
    """supabase-py's functions client as the document creates it for a user's calls."""
    options = ClientOptions(headers={"Authorization": f"Bearer {token}"}, httpx_client=http)
    return create_client(url, "any-key", options).functions


def test_the_supabase_py_recipe(badges_client: types.ModuleType, served: str, http: httpx.Client):
    ada, bob = uuid.uuid4(), uuid.uuid4()
    call_badges, badges_error = badges_client.call_badges, badges_client.BadgesError
    functions = user_functions(served, user_token(ada), http)

    listed = call_badges(functions, {"action": "list"})
    first = call_badges(functions, {"action": "award", "badge_id": "social_sharer"})
    again = call_badges(functions, {"action": "award", "badge_id": "social_sharer"})
    listed_after = call_badges(functions, {"action": "list"})
    with pytest.raises(badges_error) as unknown:
        call_badges(functions, {"action": "fly"})
    with pytest.raises(badges_error) as expired:
        call_badges(user_functions(served, expired_token(ada), http), {"action": "list"})

    assert listed["earned_count"] == 0
    assert first["awarded"] is True
    assert again["awarded"] is False
    assert listed_after["earned_count"] == 1
    assert (unknown.value.status, unknown.value.code) == (400, "unknown_action")
    assert "award" in unknown.value.details["known"]
    assert unknown.value.retry_after is None
    assert (expired.value.status, expired.value.code) == (401, "unauthorized")

    bob_functions = user_functions(served, user_token(bob), http)
    award = {"action": "award", "badge_id": "social_sharer"}
    writes, limited = 0, None
    while limited is None and writes < 20:  # the burst, then 429
        writes += 1
        try:
            badges_client.invoke_badges(bob_functions, award)
        except badges_error as exc:
            limited = exc
    started = time.monotonic()
    retried = call_badges(bob_functions, award)

    assert limited is not None
    assert writes > BURST
    assert (limited.status, limited.code) == (429, "rate_limited")
    assert limited.retry_after == 1
    assert retried["awarded"] is False
    assert time.monotonic() - started >= limited.retry_after


def test_the_supabase_py_recipe_as_a_service_at_the_functions_own_url(
    badges_client: types.ModuleType, served: str, http: httpx.Client, conn
):
    user = uuid.uuid4()
    functions = SyncFunctionsClient(
        url=served,
        headers={"Authorization": f"Bearer {badges_token('--service')}"},
        http_client=http,
    )

    answer = badges_client.call_badges(
        functions, {"action": "award", "badge_id": "streak_7d", "user_id": str(user)}
    )

    assert answer["awarded"] is True
    awarded = conn.execute(
        "select badge_id from badges.awards where user_id = %s", (user,)
    ).fetchall()
    assert awarded == [("streak_7d",)]

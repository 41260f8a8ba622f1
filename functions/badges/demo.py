"""`badges demo` (what `make demo` runs): the web client of examples/web next to the function,
on one origin, on the embedded database with the Dev-Space catalog and a few demo users.

    /                       the page and its files (examples/web)
    /functions/v1/badges    the function, exactly as deployed (where supabase-js invokes it)
    GET  /demo/config       the demo users, for the page's user picker
    POST /demo/token        a user token for {user_id, expires_in?}: the demo's sign-in

The token route lives in this app only: the deployed targets (functions/main.py) have no such
path, and tests/web/test_demo_routes.py proves it.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import flask

from badges import demo_seed, devtokens
from badges.app import build_endpoint
from badges.catalog import CATALOGS_DIR
from badges.devdb import PROJECT_DIR
from badges.serve import (
    MAIN,
    SERVE_HOST,
    SERVE_KEEPALIVE,
    port_problem,
    quit_on_sigquit_only,
    serve_concurrency,
)
from badges.settings import DEV_JWT_SECRET, Settings

log = logging.getLogger("badges")

WEB_DIR = PROJECT_DIR / "examples" / "web"
BASE_CATALOG = CATALOGS_DIR / "devspace.toml"
EXTRA_CATALOG = WEB_DIR / "demo-catalog.toml"
DATA_DIR = PROJECT_DIR / ".data" / "demo"
FUNCTION_PATH = "/functions/v1/badges"
# What the page may fetch: its own files, not the build's node_modules or lock files.
PAGE_FILES = frozenset({".html", ".js", ".css", ".svg", ".png", ".ico"})
# A demo token lives an hour, as Supabase Auth's do; a negative lifetime makes an expired one
# (the page's "Expire my session", to show how it handles a 401).
TOKEN_SECONDS = 3600
TOKEN_SECONDS_RANGE = range(-86400, 86400 + 1)

Prepare = Callable[[], Settings]


def run(host: str | None, port: int, prepare: Prepare) -> int:
    """Prepare the database, seed it once, serve until Ctrl-C (which stops the database too)."""
    host = host or os.environ.get("BADGES_HOST", "").strip() or SERVE_HOST
    workers, threads = serve_concurrency()
    busy = port_problem(host, port)
    if busy:
        print(f"badges: {busy.replace('make run', 'make demo')}", file=sys.stderr)
        return 1
    if not os.environ.get("SUPABASE_JWT_SECRET"):
        os.environ["SUPABASE_JWT_SECRET"] = DEV_JWT_SECRET
    os.environ.setdefault("BADGES_DATA_DIR", str(DATA_DIR))
    os.environ["BADGES_CATALOG"] = str(write_catalog(Path(os.environ["BADGES_DATA_DIR"])))
    os.environ["WORKERS"], os.environ["THREADS"] = str(workers), str(threads)
    settings = prepare()
    seed_once(settings)
    serve(app(), host, port)
    return 0


def write_catalog(data_dir: Path) -> Path:
    """The Dev-Space catalog with the demo's additions, in one file beside the data folder."""
    path = data_dir.resolve().with_name(f"{data_dir.name}-catalog.toml")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = BASE_CATALOG.read_text(encoding="utf-8") + "\n" + EXTRA_CATALOG.read_text("utf-8")
    path.write_text(text, encoding="utf-8")
    return path


def seed_once(settings: Settings) -> None:
    """The demo users' activity through the real endpoint as a service, unless already there.
    Runs before gunicorn forks, and closes its pool: each worker opens its own."""
    endpoint = build_endpoint(settings)
    token = devtokens.service_token(settings.jwt_secret or DEV_JWT_SECRET)
    scratch = flask.Flask(__name__)

    def call(body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        with scratch.test_request_context("/", method="POST", json=body, headers=headers):
            response = endpoint(flask.request)
        answer: dict[str, Any] = response.get_json()
        if response.status_code != 200:
            raise RuntimeError(f"seeding the demo: {body['action']}: {answer}")
        return answer

    try:
        if demo_seed.seeded(call):
            log.info("demo users already seeded")
        else:
            demo_seed.seed(call)
            log.info("demo users seeded: %d", len(demo_seed.USERS))
    finally:
        endpoint.context.db.store.close()


def app() -> flask.Flask:
    """The demo's one origin: the page, the demo routes, and the function under FUNCTION_PATH."""
    import functions_framework

    function = functions_framework.create_app(target="badges", source=str(MAIN))
    demo = flask.Flask("badges.demo", static_folder=None)
    demo.add_url_rule("/", "page", lambda: _page_file("index.html"))
    demo.add_url_rule("/<path:name>", "file", _page_file)
    demo.add_url_rule("/demo/config", "config", _config)
    demo.add_url_rule("/demo/token", "token", _token, methods=["POST"])
    demo.wsgi_app = OneOrigin(demo.wsgi_app, function)  # type: ignore[method-assign]
    return demo


class OneOrigin:
    """WSGI: FUNCTION_PATH and below to the function, with the path as it came (the function
    answers any path; werkzeug's DispatcherMiddleware would strip it, and an empty path is
    redirected), everything else to the page."""

    def __init__(self, page: Any, function: Any) -> None:
        self.page, self.function = page, function

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        to_function = path == FUNCTION_PATH or path.startswith(f"{FUNCTION_PATH}/")
        answer: Iterable[bytes] = (self.function if to_function else self.page)(
            environ, start_response
        )
        return answer


def serve(wsgi: flask.Flask, host: str, port: int) -> None:
    from functions_framework._http import create_server

    log.info("the badges web demo on http://%s:%s (Ctrl-C stops it)", host, port)
    create_server(
        wsgi, debug=False, post_worker_init=quit_on_sigquit_only, keepalive=SERVE_KEEPALIVE
    ).run(host, port)


def _page_file(name: str) -> flask.Response:
    path = Path(name)
    if path.suffix not in PAGE_FILES or path.parts[0] in ("node_modules", "tools"):
        flask.abort(404)
    response = flask.send_from_directory(WEB_DIR, name, max_age=0)
    response.headers["Cache-Control"] = "no-cache"  # a rebuilt page shows at the next reload
    return response


def _config() -> flask.Response:
    return flask.jsonify(users=[{"id": u.id, "name": u.name} for u in demo_seed.USERS])


def _token() -> tuple[flask.Response, int] | flask.Response:
    body = flask.request.get_json(silent=True) or {}
    try:
        user = uuid.UUID(str(body.get("user_id")))
    except ValueError:
        return flask.jsonify(error="user_id must be a UUID"), 400
    expires_in = body.get("expires_in", TOKEN_SECONDS)
    if type(expires_in) is not int or expires_in not in TOKEN_SECONDS_RANGE:
        return flask.jsonify(error="expires_in must be whole seconds, at most a day"), 400
    settings = Settings.from_env()
    token = devtokens.user_token(
        user,
        settings.jwt_secret or DEV_JWT_SECRET,
        issuer=settings.jwt_issuers[0],
        expires_in=expires_in,
    )
    return flask.jsonify(user_id=str(user), token=token, expires_in=expires_in)

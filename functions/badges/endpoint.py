"""HTTP: the one place requests become calls and errors become responses.

POST any path with a JSON object {"action": …} and a bearer token: the body's size is checked
first, then the token, then the JSON, so an unauthenticated caller learns nothing else.
GET …/health answers whether the database does. OPTIONS answers CORS preflights.
Every error is the JSON body of errors.py with its status; an unexpected exception is logged
with a request id and answered 500 without a stack trace.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import flask

from badges.actions import Context, dispatch
from badges.auth import Verifier
from badges.errors import (
    BadgesError,
    Internal,
    InvalidJson,
    MethodNotAllowed,
    PayloadTooLarge,
    Unavailable,
)

log = logging.getLogger("badges")

MAX_BODY_BYTES = 64 * 1024
ALLOWED_HEADERS = "authorization, apikey, content-type, x-client-info"


class Endpoint:
    def __init__(self, context: Context, verifier: Verifier) -> None:
        self.context = context
        self.verifier = verifier

    def __call__(self, request: flask.Request) -> flask.Response:
        response = self._respond(request)
        self._add_cors(request, response)
        return response

    def _respond(self, request: flask.Request) -> flask.Response:
        request_id = uuid.uuid4().hex[:16]
        try:
            if request.method == "OPTIONS":
                return flask.Response(status=204)
            if request.method == "GET" and request.path.rstrip("/").endswith("/health"):
                return self._health()
            if request.method != "POST":
                raise MethodNotAllowed("POST a JSON object; GET is only for /health.")
            raw = _read_body(request)
            caller = self.verifier.verify(request.headers.get("Authorization"))
            body = _parse_json(raw)
            return _json(200, {"success": True, **dispatch(self.context, caller, body)})
        except Internal as exc:
            log.error("internal error in request %s: %s", request_id, exc.message)
            return error_response(internal(request_id))
        except BadgesError as exc:
            return error_response(exc)
        except Exception:
            log.exception("internal error in request %s", request_id)
            return error_response(internal(request_id))

    def _health(self) -> flask.Response:
        try:
            self.context.db.ping()
        except Unavailable as exc:
            return error_response(exc, {"status": "unavailable"})
        return _json(200, {"status": "ok"})

    def _add_cors(self, request: flask.Request, response: flask.Response) -> None:
        origins = self.context.settings.cors_origins
        origin = request.headers.get("Origin")
        if "*" in origins:
            response.headers["Access-Control-Allow-Origin"] = "*"
        elif origin in origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        else:
            return
        response.headers["Access-Control-Allow-Methods"] = "POST, GET, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = "86400"


def _read_body(request: flask.Request) -> bytes:
    """At most MAX_BODY_BYTES, read before anything else so a huge body costs us nothing."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body is over {MAX_BODY_BYTES} bytes.")
    raw: bytes = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body is over {MAX_BODY_BYTES} bytes.")
    return raw


def _parse_json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise InvalidJson("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidJson("The body must be a JSON object.")
    return body


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def internal(request_id: str) -> Internal:
    """The 500 a caller sees: a request id to quote, never the cause."""
    return Internal(f"Internal error (request {request_id}).", details={"request_id": request_id})


def _json(status: int, body: dict[str, Any]) -> flask.Response:
    return flask.Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json"
    )


def error_response(exc: BadgesError, extra: dict[str, Any] | None = None) -> flask.Response:
    response = _json(exc.status, {**(extra or {}), **exc.body()})
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response

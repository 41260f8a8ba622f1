"""HTTP: the one place requests become calls and errors become responses.

POST any path with a JSON object {"action": …} and credentials (a bearer token, or a secret key:
auth.py): the body's size is checked first, then the credentials, then the JSON, so an
unauthenticated caller learns nothing else.
GET …/health answers whether the database does. OPTIONS answers CORS preflights.
Every error is the JSON body of errors.py with its status; an unexpected exception is logged
with a request id and answered 500 without a stack trace.

What an action leaves for after its answer (a short delivery attempt of new notifications) runs
when the server closes the response, after the body has been written: it can neither delay nor
change the answer.

JobsEndpoint is the private target for schedulers: the batch actions only, as a service.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import flask

from badges.actions import Context, Outcome, dispatch
from badges.auth import Caller, Verifier
from badges.errors import (
    BadgesError,
    Forbidden,
    Internal,
    InvalidJson,
    MethodNotAllowed,
    PayloadTooLarge,
    Unavailable,
)

log = logging.getLogger("badges")

MAX_BODY_BYTES = 64 * 1024
ALLOWED_HEADERS = "authorization, apikey, content-type, x-client-info"
# The response headers a browser script may read beyond the CORS-safelisted ones: how long to
# wait after a 429 or 503.
EXPOSED_HEADERS = "Retry-After"
# What schedulers call on badges_jobs.
JOB_ACTIONS = frozenset({"deliver_notifications", "check_badges", "check_streaks", "backfill"})


class Endpoint:
    def __init__(self, context: Context, verifier: Verifier) -> None:
        self.context = context
        self.verifier = verifier

    def __call__(self, request: flask.Request) -> flask.Response:
        response = self._respond(request)
        self._add_cors(request, response)
        return response

    def _respond(self, request: flask.Request) -> flask.Response:
        try:
            if request.method == "OPTIONS":
                return flask.Response(status=204)
            if request.method == "GET" and _is_health(request):
                return self._health()
            if request.method != "POST":
                return _not_allowed(request)
            raw = _read_body(request)
            caller = self._caller(request)
            body = _parse_json(raw)
            return _answer(self._dispatch(caller, body))
        except Internal as exc:
            request_id = new_request_id()
            log.error("internal error in request %s: %s", request_id, exc.message)
            return error_response(internal(request_id))
        except BadgesError as exc:
            return error_response(exc)
        except Exception:
            request_id = new_request_id()
            log.exception("internal error in request %s", request_id)
            return error_response(internal(request_id))

    def _caller(self, request: flask.Request) -> Caller:
        return self.verifier.verify(
            request.headers.get("Authorization"), request.headers.get("apikey")
        )

    def _dispatch(self, caller: Caller, body: dict[str, Any]) -> Outcome:
        return dispatch(self.context, caller, body)

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
        if request.method != "OPTIONS":  # browsers read it on the answer itself, not a preflight
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS


class JobsEndpoint(Endpoint):
    """badges_jobs: deliver_notifications, check_badges, check_streaks and backfill, run as the
    service. With BADGES_JOBS_AUTH=iam it trusts the platform (a private Cloud Function or Cloud
    Run service: IAM has checked the scheduler's OIDC token); otherwise it wants a service
    caller like the main function's (a service_role token or a secret key)."""

    def _caller(self, request: flask.Request) -> Caller:
        if self.context.settings.jobs_auth == "iam":
            return Caller.service()
        caller = super()._caller(request)
        if not caller.is_service:
            raise Forbidden("Only a service caller may run jobs.")
        return caller

    def _dispatch(self, caller: Caller, body: dict[str, Any]) -> Outcome:
        if body.get("action") not in JOB_ACTIONS:
            raise Forbidden(f"badges_jobs runs only {', '.join(sorted(JOB_ACTIONS))}.")
        return super()._dispatch(caller, body)


def _answer(outcome: Outcome) -> flask.Response:
    response = _json(200, {"success": True, **outcome.body})
    after = outcome.after_response
    if after is not None:
        response.call_on_close(lambda: _quietly(after))
    return response


def _is_health(request: flask.Request) -> bool:
    return request.path.rstrip("/").endswith("/health")


def _not_allowed(request: flask.Request) -> flask.Response:
    response = error_response(MethodNotAllowed("POST a JSON object; GET is only for /health."))
    # RFC 9110 (15.5.6): a 405 names the methods the resource has.
    response.headers["Allow"] = "GET, POST, OPTIONS" if _is_health(request) else "POST, OPTIONS"
    return response


def _quietly(work: Callable[[], object]) -> None:
    """Work after the response: its failure is logged, never the caller's concern."""
    try:
        work()
    except Exception:
        log.exception("work after a response failed (the answer had been sent)")


def _too_large(exc: PayloadTooLarge) -> flask.Response:
    """413 without reading the rest of the body: a streamed response is one functions-framework's
    after-request hook does not drain the request for (it would read, and hold, all of it, or
    wait for bytes a lying Content-Length promised). What happens to the connection's unread
    bytes is the server's business (gunicorn discards them)."""
    body = json.dumps(exc.body()).encode()
    response = flask.Response(iter([body]), status=exc.status, mimetype="application/json")
    response.headers["Content-Length"] = str(len(body))
    return response


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
        # UTF-8 strictly (a leading BOM tolerated): json.loads on bytes would also guess
        # UTF-16/32 and pass encoded surrogates.
        body = json.loads(raw.decode("utf-8-sig"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise InvalidJson("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidJson("The body must be a JSON object.")
    return body


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def new_request_id() -> str:
    """16 hex digits naming one failed request in the log (and in its 500's body): made only
    when something failed, not for every request."""
    return uuid.uuid4().hex[:16]


def internal(request_id: str) -> Internal:
    """The 500 a caller sees: a request id to quote, never the cause."""
    return Internal(f"Internal error (request {request_id}).", details={"request_id": request_id})


def _json(status: int, body: dict[str, Any]) -> flask.Response:
    return flask.Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json"
    )


def error_response(exc: BadgesError, extra: dict[str, Any] | None = None) -> flask.Response:
    if isinstance(exc, PayloadTooLarge):
        return _too_large(exc)
    response = _json(exc.status, {**(extra or {}), **exc.body()})
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response

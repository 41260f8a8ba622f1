"""Wiring: settings → store → context (with the delivery worker) + verifier → endpoint. Built
once per process, lazily, so a server that forks workers opens its connection pool in each
worker, not before."""

from __future__ import annotations

import logging
import threading

import flask

from badges.actions import Context
from badges.auth import Verifier
from badges.delivery.worker import make_deliverer
from badges.endpoint import Endpoint, error_response, internal, new_request_id
from badges.settings import Settings
from badges.store import make_store
from badges.store.db import BadgesDb

log = logging.getLogger("badges")


def build_endpoint(settings: Settings, kind: type[Endpoint] = Endpoint) -> Endpoint:
    db = BadgesDb(make_store(settings))
    context = Context(db=db, settings=settings, deliverer=make_deliverer(db, settings))
    return kind(context, Verifier(settings))


class LazyEndpoint:
    """The endpoint built from the environment on the first request."""

    def __init__(self, kind: type[Endpoint] = Endpoint) -> None:
        self._kind = kind
        self._endpoint: Endpoint | None = None
        self._lock = threading.Lock()

    def __call__(self, request: flask.Request) -> flask.Response:
        try:
            endpoint = self.get()
        except Exception:
            # A configuration error (bad setting, missing DATABASE_URL): still a JSON answer.
            request_id = new_request_id()
            log.exception("cannot build the badges function (request %s)", request_id)
            return error_response(internal(request_id))
        return endpoint(request)

    def get(self) -> Endpoint:
        endpoint = self._endpoint  # built: no lock (every request asks)
        if endpoint is not None:
            return endpoint
        with self._lock:
            if self._endpoint is None:
                self._endpoint = build_endpoint(Settings.from_env(), self._kind)
            return self._endpoint

    def close(self) -> None:
        with self._lock:
            if self._endpoint is not None:
                self._endpoint.context.db.store.close()
                self._endpoint = None

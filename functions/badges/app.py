"""Wiring: settings → store → context + verifier → endpoint. Built once per process, lazily,
so a server that forks workers opens its connection pool in each worker, not before."""

from __future__ import annotations

import threading

import flask

from badges.actions import Context
from badges.auth import Verifier
from badges.endpoint import Endpoint
from badges.settings import Settings
from badges.store import make_store
from badges.store.db import BadgesDb


def build_endpoint(settings: Settings) -> Endpoint:
    db = BadgesDb(make_store(settings))
    return Endpoint(Context(db=db, settings=settings), Verifier(settings))


class LazyEndpoint:
    """The endpoint built from the environment on the first request."""

    def __init__(self) -> None:
        self._endpoint: Endpoint | None = None
        self._lock = threading.Lock()

    def __call__(self, request: flask.Request) -> flask.Response:
        return self.get()(request)

    def get(self) -> Endpoint:
        with self._lock:
            if self._endpoint is None:
                self._endpoint = build_endpoint(Settings.from_env())
            return self._endpoint

    def close(self) -> None:
        with self._lock:
            if self._endpoint is not None:
                self._endpoint.context.db.store.close()
                self._endpoint = None

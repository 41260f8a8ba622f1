"""PostgresStore: the SQL functions over a psycopg 3 connection pool (DATABASE_URL).

Works with the embedded database, any Postgres, and a Supabase project's direct or pooled
connection string, transaction-mode poolers (Supabase's on port 6543, PgBouncer) included:

- no prepared statement is ever created (a transaction pooler hands each transaction to any of
  its server connections, which would not know the statement);
- nothing is set on the session: the statement timeout travels with each call, as
  `set local statement_timeout = …; select badges.f(…)` in one simple-protocol message (one
  implicit transaction, one round trip), because a transaction pooler neither keeps a session's
  settings nor forwards the startup parameter `options` (PgBouncer refuses it, or drops it when
  told to ignore it). Parameters are therefore bound client-side, by psycopg's quoting.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from badges.settings import Settings
from badges.store.sqlstate import error_for, unavailable

log = logging.getLogger("badges.store")


class PostgresStore:
    def __init__(
        self,
        conninfo: str,
        *,
        pool_size: int = 10,
        timeout: float = 5.0,
        statement_timeout: float = 0.0,
    ) -> None:
        self._conninfo = conninfo
        self._pool_size = pool_size
        self._timeout = timeout
        self._statement_timeout_ms = round(statement_timeout * 1000)
        # Every call's prefix: its transaction's statement timeout (see the module's docstring).
        self._prefix = (
            sql.SQL("set local statement_timeout = {}; ").format(
                sql.Literal(self._statement_timeout_ms)
            )
            if self._statement_timeout_ms > 0
            else None
        )
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()
        # Each call's SQL text, composed once (composing it costs more than the rest of the
        # call's Python): function and parameter names are identifiers, quoted as such.
        self._queries: dict[tuple[str, tuple[str, ...]], bytes] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> PostgresStore:
        if not settings.database_url:
            raise ValueError("DATABASE_URL is not set")
        return cls(
            settings.database_url,
            pool_size=settings.db_pool_size,
            timeout=settings.db_timeout,
            statement_timeout=settings.db_statement_timeout,
        )

    def call(self, function: str, params: Mapping[str, Any]) -> Any:
        query = self._query(function, tuple(params))
        values = {k: Jsonb(v) if isinstance(v, dict | list) else v for k, v in params.items()}
        try:
            with self.pool().connection() as conn:
                cursor = psycopg.ClientCursor(conn)
                cursor.execute(query, values)
                if self._prefix is not None:
                    cursor.nextset()  # past the SET, to the function's result
                row = cursor.fetchone()
        except psycopg.Error as exc:
            raise _translate(exc) from exc
        return None if row is None else row[0]

    def pool(self) -> ConnectionPool:
        """The pool, opened on first use: after a server forks its workers, not before."""
        pool = self._pool  # once open, no lock to take on every call
        if pool is not None:
            return pool
        with self._lock:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self._conninfo,
                    min_size=1,
                    max_size=self._pool_size,
                    timeout=self._timeout,
                    reconnect_timeout=max(self._timeout, 30.0),
                    kwargs=self._connection_options(),
                    open=False,
                    name="badges",
                )
                self._pool.open(wait=False)
            return self._pool

    def _connection_options(self) -> dict[str, Any]:
        return {
            "autocommit": True,
            "prepare_threshold": None,
            "connect_timeout": max(1, math.ceil(self._timeout)),
        }

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    def _query(self, function: str, names: tuple[str, ...]) -> bytes:
        key = (function, names)
        if key not in self._queries:
            args = sql.SQL(", ").join(
                sql.SQL("{} => {}").format(sql.Identifier(n), sql.Placeholder(n)) for n in names
            )
            query = sql.SQL("select badges.{}({})").format(sql.Identifier(function), args)
            query = query if self._prefix is None else self._prefix + query
            self._queries[key] = query.as_bytes(None)
        return self._queries[key]


def _translate(exc: psycopg.Error) -> Exception:
    if exc.sqlstate is None and isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        log.warning("database unavailable: %r", exc)  # the answer (503) says only "try again"
        return unavailable()  # connection refused or lost, pool timeout
    return error_for(exc.sqlstate, exc.diag.message_primary or str(exc), exc.diag.message_detail)

"""PostgresStore: the SQL functions over a psycopg 3 connection pool (DATABASE_URL).

Works with the embedded database, any Postgres, and a Supabase project's direct or pooled
connection string: prepared statements are off so transaction-mode poolers work too.
"""

from __future__ import annotations

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
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()
        self._queries: dict[tuple[str, tuple[str, ...]], sql.Composed] = {}

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
                row = conn.execute(query, values).fetchone()
        except psycopg.Error as exc:
            raise _translate(exc) from exc
        return None if row is None else row[0]

    def pool(self) -> ConnectionPool:
        """The pool, opened on first use: after a server forks its workers, not before."""
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
        options: dict[str, Any] = {
            "autocommit": True,
            "prepare_threshold": None,
            "connect_timeout": max(1, math.ceil(self._timeout)),
        }
        if self._statement_timeout_ms > 0:
            # A startup parameter, not a SET: it holds behind a transaction-mode pooler too.
            options["options"] = f"-c statement_timeout={self._statement_timeout_ms}"
        return options

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    def _query(self, function: str, names: tuple[str, ...]) -> sql.Composed:
        key = (function, names)
        if key not in self._queries:
            args = sql.SQL(", ").join(
                sql.SQL("{} => {}").format(sql.Identifier(n), sql.Placeholder(n)) for n in names
            )
            self._queries[key] = sql.SQL("select badges.{}({})").format(
                sql.Identifier(function), args
            )
        return self._queries[key]


def _translate(exc: psycopg.Error) -> Exception:
    if exc.sqlstate is None and isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return unavailable()  # connection refused or lost, pool timeout
    return error_for(exc.sqlstate, exc.diag.message_primary or str(exc), exc.diag.message_detail)

"""Stores: how the function reaches the SQL functions in supabase/migrations.

Two adapters implement one Protocol: PostgresStore (psycopg 3 pool, DATABASE_URL) and
SupabaseStore (supabase-py RPC over PostgREST, SUPABASE_URL + service key). Both call the same
SQL functions with the same named parameters (badges.store.db lists them) and translate errors
by SQLSTATE through one table (badges.store.sqlstate).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from badges.settings import Settings


class Store(Protocol):
    def call(self, function: str, params: Mapping[str, Any]) -> Any:
        """Call badges.<function> with named parameters in its own transaction; return its JSON
        result. Raises BadgesError subclasses only."""
        ...

    def close(self) -> None: ...


def make_store(settings: Settings) -> Store:
    """The store the settings select (imports lazily: a deploy needs only the one it uses)."""
    if settings.store == "supabase":
        from badges.store.supabase import SupabaseStore

        return SupabaseStore.from_settings(settings)
    from badges.store.postgres import PostgresStore

    return PostgresStore.from_settings(settings)

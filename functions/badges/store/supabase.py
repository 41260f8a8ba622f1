"""SupabaseStore: the SQL functions as PostgREST RPCs through supabase-py (SUPABASE_URL and the
service-role key), for deploys that have no direct database connection string.

Every call is one POST /rest/v1/rpc/<function> with the named parameters as a JSON object, and
PostgREST runs it as one transaction in schema badges (the Content-Profile header). Database
errors are mapped by the SQLSTATE PostgREST passes on in `code`, through the table PostgresStore
uses too; PostgREST's HTTP status is not trusted for them (it answers 400 for every custom code).
Failures that carry no SQLSTATE are judged by the response itself: transport errors and 5xx
answers of the gateway in front of PostgREST mean "unavailable", anything else is a bug.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx
from postgrest.exceptions import APIError
from supabase import Client, SupabaseException, create_client
from supabase.lib.client_options import SyncClientOptions

from badges.errors import BadgesError, Internal
from badges.settings import Settings
from badges.store.sqlstate import error_for, unavailable

log = logging.getLogger("badges.store")

SCHEMA = "badges"

# Gateway answers (or PostgREST's own PGRST000-PGRST003) for "the database cannot be reached now".
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})


class GatewayUnavailableError(Exception):
    """Raised from the response hook: postgrest-py's APIError no longer carries the status."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.status_code} {response.reason_phrase} from {response.url}")


class SupabaseStore:
    def __init__(
        self,
        url: str,
        service_key: str,
        *,
        timeout: float = 5.0,
        http_client: httpx.Client | None = None,
    ) -> None:
        """`http_client` replaces the one built here (tests pass a MockTransport); its own
        timeout then applies, and it gets the gateway-status hook but is never closed here."""
        # Our own httpx client, not supabase-py's postgrest_client_timeout: that one truncates
        # seconds to an int (0.5 becomes 0) and warns it is deprecated.
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=httpx.Timeout(timeout))
        hooks = self._http.event_hooks["response"]
        if _raise_if_unavailable not in hooks:
            hooks.append(_raise_if_unavailable)
        options = SyncClientOptions(
            schema=SCHEMA,
            auto_refresh_token=False,
            persist_session=False,
            # postgrest-py retries only GET/HEAD, sleeping up to 30 s: retrying is our callers'
            # choice (Unavailable carries Retry-After), within their own deadline.
            postgrest_client_retry=False,
            httpx_client=self._http,
        )
        try:
            self._client: Client = create_client(url, service_key, options=options)
        except SupabaseException as exc:
            raise ValueError(f"SUPABASE_URL or SUPABASE_SERVICE_ROLE_KEY: {exc.message}") from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> SupabaseStore:
        if not settings.supabase_url:
            raise ValueError("SUPABASE_URL is not set (the supabase store needs it)")
        if not settings.supabase_service_key:
            raise ValueError("SUPABASE_SERVICE_ROLE_KEY is not set (the supabase store needs it)")
        return cls(
            settings.supabase_url, settings.supabase_service_key, timeout=settings.db_timeout
        )

    def call(self, function: str, params: Mapping[str, Any]) -> Any:
        try:
            return self._client.rpc(function, dict(params)).execute().data
        except APIError as exc:
            raise _translate(exc) from exc
        except (GatewayUnavailableError, httpx.TransportError) as exc:
            # Connection refused or reset, timeout, gateway 5xx: no database answer to map, and
            # a passing state, so the client is told to retry.
            log.warning("supabase store unavailable calling %s: %r", function, exc)
            raise unavailable() from exc
        except httpx.HTTPError as exc:
            # Too many redirects, an undecodable body: configuration, not a passing outage.
            log.error("supabase store failed calling %s: %r", function, exc)
            raise Internal("Internal error.") from exc

    def close(self) -> None:
        if self._owns_http:
            self._http.close()


def _raise_if_unavailable(response: httpx.Response) -> None:
    """502/503/504, or any 5xx that is not JSON (an HTML page of a proxy or CDN): PostgREST or
    the database behind it could not be reached."""
    status = response.status_code
    is_json = "json" in response.headers.get("content-type", "")
    if status in UNAVAILABLE_STATUSES or (status >= 500 and not is_json):
        raise GatewayUnavailableError(response)


def _translate(exc: APIError) -> BadgesError:
    """By the SQLSTATE in `code`. PostgREST's own codes (PGRST202 function not in the schema
    cache, PGRST301 JWT rejected, ...) and the HTTP status postgrest-py puts there for a non-JSON
    4xx are no SQLSTATE: error_for logs them and answers Internal, as they are bugs or config."""
    details = None if exc.details is None else str(exc.details)
    return error_for(exc.code, exc.message or "", details)

"""SupabaseStore on the wire: the exact PostgREST requests supabase-py sends for every BadgesDb
method, and what PostgREST's answers become.

httpx.MockTransport stands in for PostgREST, with bodies shaped as PostgREST sends them; the
parameter names each request must carry are read from the SQL functions in the real test
database, so a renamed or added SQL parameter fails here, not in production.
"""

from __future__ import annotations

import inspect
import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest

from badges.errors import (
    BadgeInactive,
    BadgesError,
    Forbidden,
    IdempotencyConflict,
    Internal,
    InvalidRequest,
    Unavailable,
    UnknownBadge,
    UnknownLevel,
    UnknownMetric,
    UnknownProvider,
)
from badges.settings import Settings
from badges.store import make_store
from badges.store.db import BadgesDb, BoardPage, MetricEvent
from badges.store.supabase import SupabaseStore

URL = "https://abcdefghijklmnop.supabase.co"
KEY = "service-role-key"
USER = UUID("6f1c2b9e-3d4a-4e8b-9f0a-1b2c3d4e5f60")
SYNC_PAYLOAD = {
    "badges": [{"id": "streak_3d", "rule": "streak"}],
    "providers": [{"id": "openai"}],
    "metrics": [],
    "levels": [],
    "streak_freezes": None,
    "leaderboards": [],
}

Conn = psycopg.Connection[tuple[Any, ...]]
Reply = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakePostgrest:
    """The MockTransport handler: records every request, answers with `reply`."""

    reply: Reply = field(default=lambda request: httpx.Response(200, json={}))
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.reply(request)

    def answer(self, status: int, body: Any) -> None:
        self.reply = lambda request: httpx.Response(status, json=body)

    def only_request(self) -> httpx.Request:
        assert len(self.requests) == 1, "expected exactly one request (no retries)"
        return self.requests[0]


@pytest.fixture
def postgrest() -> FakePostgrest:
    return FakePostgrest()


@pytest.fixture
def http(postgrest: FakePostgrest) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.MockTransport(postgrest)) as client:
        yield client


@pytest.fixture
def rest_db(http: httpx.Client) -> BadgesDb:
    """BadgesDb as the function builds it for the supabase store, over the fake PostgREST."""
    return BadgesDb(SupabaseStore(URL, KEY, http_client=http))


def sql_parameters(conn: Conn, function: str) -> list[str]:
    """The parameter names of badges.<function>, from pg_proc (one function, no overloads:
    PostgREST could not choose between overloads by named arguments alone)."""
    rows = conn.execute(
        "select coalesce(p.proargnames, '{}') from pg_proc p"
        " join pg_namespace n on n.oid = p.pronamespace"
        " where n.nspname = 'badges' and p.proname = %s",
        (function,),
    ).fetchall()
    assert len(rows) == 1, f"badges.{function}: expected one function, found {len(rows)}"
    return list(rows[0][0])


# ---- every BadgesDb method: request shape and reply -------------------------------------------


@dataclass(frozen=True)
class Sample:
    """A call of one BadgesDb method, the SQL function it must reach, and a reply for it."""

    function: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    reply: Any = field(default_factory=lambda: {"success": True, "data": {"n": 1}})


SAMPLES: dict[str, Sample] = {
    "ping": Sample("ping", reply=True),
    "award_badge": Sample("award_badge", (USER, "social_sharer"), {"client": True}),
    "revoke_badge": Sample("revoke_badge", (USER, "streak_3d", "cheating", "admin")),
    "record_activity": Sample("record_activity", (USER, "Europe/Paris")),
    "record_score": Sample("record_score", (USER, "openai", True)),
    "check_streaks": Sample("check_streaks", (USER,)),
    "check_streaks_all": Sample("check_streaks_all"),
    "grant_freezes": Sample("grant_freezes", (USER, 2)),
    "check_quiz_master": Sample("check_quiz_master", (USER,)),
    "list_badges": Sample("list_badges", (USER,)),
    "get_catalog": Sample("get_catalog"),
    "get_badge": Sample("get_badge", (None, "social_sharer")),
    "badge_holders": Sample(
        "badge_holders", (USER, "social_sharer", 20, (datetime(2026, 11, 23, 10, tzinfo=UTC), USER))
    ),
    "leaderboard": Sample("leaderboard", (None, 10, 0)),
    "board_leaderboard": Sample(
        "board_leaderboard",
        (
            USER,
            "weekly",
            "previous",
            BoardPage(5, 0, (3, datetime(2026, 11, 23, tzinfo=UTC), USER)),
        ),
    ),
    "around_me": Sample("around_me", (USER, "weekly", "2026-11-23", 3)),
    "archive_boards": Sample("archive_boards", reply=2),
    "score_leaderboard": Sample(
        "score_leaderboard", (USER, 5, 0, (3, datetime(2026, 11, 23, 10, tzinfo=UTC), USER))
    ),
    "take_rate_token": Sample("take_rate_token", (USER, "award", 40, 60), reply=39.5),
    "sync_catalog": Sample("sync_catalog", (SYNC_PAYLOAD,)),
    "track": Sample(
        "track", (USER, MetricEvent("interaction", 2, "post-1", "k-1")), {"client": True}
    ),
    "check_badges": Sample("check_badges", (USER,)),
    "check_badges_all": Sample(
        "check_badges_all", ("first_log",), {"notify": False, "revoke": True}
    ),
    "progress": Sample("progress", (USER,)),
    "level_status": Sample("level_status", (USER, "newcomer")),
    "claim_notifications": Sample("claim_notifications", (50, 1030, 10, None)),
    "finish_notifications": Sample(
        "finish_notifications",
        (str(USER), [{"id": 1, "sent": ["webhook"], "error": None}], 10, 30.0, 3600.0),
    ),
    "outbox_rows": Sample("outbox_rows", ("dead", 20, None)),
    "requeue_notifications": Sample("requeue_notifications", ([3, 4],)),
    "inbox": Sample("inbox", (USER,), {"unread_only": True, "limit": 20, "before": 99}),
    "mark_notifications_read": Sample("mark_notifications_read", (USER, None)),
    "feed": Sample("feed", (20, (datetime(2026, 11, 23, 10, tzinfo=UTC), USER, "first_log"))),
    "preferences": Sample("preferences", (USER, True, False)),
    "profile": Sample(
        "profile", (None, USER, 20, (datetime(2026, 11, 23, 10, tzinfo=UTC), "first_log"))
    ),
    "set_showcase": Sample("set_showcase", (USER, ["first_log", "team_spirit"])),
    "current_level": Sample("current_level", (USER,)),
    "register_push_token": Sample(
        "register_push_token", (USER, "ExponentPushToken[abc]", "android"), {"take_over": True}
    ),
    "unregister_push_token": Sample("unregister_push_token", (USER, "ExponentPushToken[abc]")),
    "consistency_report": Sample("consistency_report"),
    "create_share": Sample("create_share", (USER, "social_sharer")),
    "open_share": Sample("open_share", (USER, "0" * 32)),
}


def public_methods(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if name[0] != "_"}


def test_every_badges_db_method_has_a_sample_call_here() -> None:
    """A new BadgesDb method fails this until SAMPLES covers it, so its wire call is checked."""
    assert set(SAMPLES) == public_methods(BadgesDb)


@pytest.mark.parametrize("method", sorted(SAMPLES))
def test_each_method_posts_one_rpc_to_its_sql_function_with_every_parameter_and_returns_the_reply(
    method: str, rest_db: BadgesDb, postgrest: FakePostgrest, conn: Conn
) -> None:
    sample = SAMPLES[method]
    postgrest.answer(200, sample.reply)

    result = getattr(rest_db, method)(*sample.args, **sample.kwargs)

    request = postgrest.only_request()
    assert request.method == "POST"
    assert str(request.url) == f"{URL}/rest/v1/rpc/{sample.function}"
    assert request.headers["apikey"] == KEY
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["Content-Profile"] == "badges"
    assert request.headers["Accept-Profile"] == "badges"
    assert request.headers["Content-Type"] == "application/json"
    assert sorted(json.loads(request.content)) == sorted(sql_parameters(conn, sample.function))
    assert result == sample.reply


@pytest.mark.parametrize(
    ("method", "expected_body"),
    [
        (
            "award_badge",
            {"p_user_id": str(USER), "p_badge_id": "social_sharer", "p_client": True},
        ),
        (
            "record_activity",
            {"p_user_id": str(USER), "p_timezone": "Europe/Paris", "p_at": None},
        ),
        (
            "leaderboard",
            {
                "p_user_id": None,
                "p_limit": 10,
                "p_offset": 0,
                "p_after_value": None,
                "p_after_at": None,
                "p_after_user": None,
            },
        ),
        ("mark_notifications_read", {"p_user_id": str(USER), "p_ids": [], "p_all": True}),
        (
            "badge_holders",
            {
                "p_user_id": str(USER),
                "p_badge_id": "social_sharer",
                "p_limit": 20,
                "p_after_at": "2026-11-23T10:00:00+00:00",
                "p_after_user": str(USER),
            },
        ),
        ("get_badge", {"p_user_id": None, "p_badge_id": "social_sharer"}),
        ("set_showcase", {"p_user_id": str(USER), "p_badge_ids": ["first_log", "team_spirit"]}),
        (
            "profile",
            {
                "p_viewer": None,
                "p_user_id": str(USER),
                "p_limit": 20,
                "p_before_at": "2026-11-23T10:00:00+00:00",
                "p_before_badge": "first_log",
            },
        ),
        (
            "feed",
            {
                "p_limit": 20,
                "p_before_at": "2026-11-23T10:00:00+00:00",
                "p_before_user": str(USER),
                "p_before_badge": "first_log",
            },
        ),
        (
            "sync_catalog",
            {"p_catalog": SYNC_PAYLOAD},
        ),
    ],
)
def test_parameters_travel_as_json_uuids_as_strings_and_jsonb_as_arrays(
    method: str, expected_body: dict[str, Any], rest_db: BadgesDb, postgrest: FakePostgrest
) -> None:
    sample = SAMPLES[method]
    getattr(rest_db, method)(*sample.args, **sample.kwargs)
    assert json.loads(postgrest.only_request().content) == expected_body


# ---- PostgREST answers → our errors -----------------------------------------------------------


def pgrst(code: str, message: str, details: str | None = None, hint: str | None = None) -> Any:
    """An error body as PostgREST sends it (for SQLSTATEs and its own PGRST codes alike)."""
    return {"code": code, "message": message, "details": details, "hint": hint}


def html(status: int) -> Reply:
    page = f"<html><body><h1>{status}</h1></body></html>"
    return lambda request: httpx.Response(status, text=page, headers={"content-type": "text/html"})


def as_json(status: int, body: Any) -> Reply:
    return lambda request: httpx.Response(status, json=body)


ERROR_REPLIES = [
    # SQLSTATEs raised by the SQL functions: PostgREST answers 400 for all of them.
    pytest.param(
        as_json(400, pgrst("BD001", "unknown badge", "No enabled badge has the id 'x'.")),
        UnknownBadge,
        id="BD001",
    ),
    pytest.param(
        as_json(400, pgrst("BD002", "unknown provider", "No active quiz provider has the id 'x'.")),
        UnknownProvider,
        id="BD002",
    ),
    pytest.param(
        as_json(400, pgrst("BD003", "badge not client-awardable", "Server only.")),
        Forbidden,
        id="BD003",
    ),
    pytest.param(
        as_json(400, pgrst("BD004", "rate limit must be positive")), InvalidRequest, id="BD004"
    ),
    pytest.param(
        as_json(400, pgrst("BD005", "unknown metric", "No enabled metric has the id 'x'.")),
        UnknownMetric,
        id="BD005",
    ),
    pytest.param(
        as_json(400, pgrst("BD006", "badge not available now", "Outside its window.")),
        BadgeInactive,
        id="BD006",
    ),
    pytest.param(
        as_json(400, pgrst("BD007", "unknown level", "No enabled level has the id 'x'.")),
        UnknownLevel,
        id="BD007",
    ),
    pytest.param(
        as_json(400, pgrst("BD008", "idempotency key reused", "Used for another event.")),
        IdempotencyConflict,
        id="BD008",
    ),
    pytest.param(
        as_json(400, pgrst("22P02", 'invalid input syntax for type uuid: "nope"')),
        InvalidRequest,
        id="22P02",
    ),
    # Transient database states, whatever status PostgREST picks for them.
    pytest.param(
        as_json(500, pgrst("57014", "canceling statement due to statement timeout")),
        Unavailable,
        id="57014-statement-timeout",
    ),
    pytest.param(
        as_json(503, pgrst("53300", "sorry, too many clients already")),
        Unavailable,
        id="53300-too-many-connections",
    ),
    pytest.param(
        as_json(503, pgrst("PGRST001", "Database client error. Retrying the connection.")),
        Unavailable,
        id="PGRST001-no-database",
    ),
    pytest.param(
        as_json(504, pgrst("PGRST003", "Timed out acquiring connection from connection pool.")),
        Unavailable,
        id="PGRST003-pool-timeout",
    ),
    # PostgREST's own errors are our bugs or our configuration.
    pytest.param(
        as_json(
            404,
            pgrst(
                "PGRST202",
                "Could not find the function badges.nope(p_x) in the schema cache",
                "Searched for the function badges.nope with parameter p_x or with a single "
                "unnamed json/jsonb parameter, but no matches were found in the schema cache.",
            ),
        ),
        Internal,
        id="PGRST202-no-such-function",
    ),
    pytest.param(
        as_json(
            406,
            pgrst(
                "PGRST106",
                "Invalid schema: badges",
                hint="Only the following schemas are exposed: public, graphql_public",
            ),
        ),
        Internal,
        id="PGRST106-schema-not-exposed",
    ),
    pytest.param(
        as_json(401, pgrst("PGRST301", "No suitable key or wrong key type")),
        Internal,
        id="PGRST301-bad-jwt",
    ),
    pytest.param(
        as_json(500, pgrst("XX000", "internal error")), Internal, id="XX000-unknown-sqlstate"
    ),
    # Answers of the gateway in front of PostgREST, without a PostgREST code.
    pytest.param(
        as_json(401, {"message": "Invalid API key", "hint": "Double check your API key."}),
        Internal,
        id="gateway-401-json",
    ),
    pytest.param(
        as_json(502, {"message": "An invalid response was received from the upstream server"}),
        Unavailable,
        id="gateway-502-json",
    ),
    pytest.param(html(503), Unavailable, id="gateway-503-html"),
    pytest.param(html(500), Unavailable, id="proxy-500-html"),
    pytest.param(html(520), Unavailable, id="cdn-520-html"),
    pytest.param(html(404), Internal, id="proxy-404-html"),
]


@pytest.mark.parametrize(("reply", "expected"), ERROR_REPLIES)
def test_postgrest_errors_map_by_code_and_outages_by_status(
    reply: Reply, expected: type[BadgesError], rest_db: BadgesDb, postgrest: FakePostgrest
) -> None:
    postgrest.reply = reply

    with pytest.raises(BadgesError) as caught:
        rest_db.award_badge(USER, "x", client=True)

    assert type(caught.value) is expected
    assert caught.value.status == expected.status
    assert (caught.value.retry_after is not None) == (expected is Unavailable)
    postgrest.only_request()


def test_the_detail_postgrest_passes_on_is_part_of_the_message(
    rest_db: BadgesDb, postgrest: FakePostgrest
) -> None:
    postgrest.answer(400, pgrst("BD001", "unknown badge", "No enabled badge has the id 'x'."))

    with pytest.raises(UnknownBadge) as caught:
        rest_db.award_badge(USER, "x", client=True)

    assert caught.value.message == "Unknown badge: No enabled badge has the id 'x'."
    assert caught.value.status == 404


def raising(exc: Exception) -> Reply:
    def reply(request: httpx.Request) -> httpx.Response:
        raise exc

    return reply


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ConnectTimeout("timed out"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_transport_failures_are_unavailable_and_not_retried(
    exc: Exception, rest_db: BadgesDb, postgrest: FakePostgrest
) -> None:
    postgrest.reply = raising(exc)

    with pytest.raises(Unavailable) as caught:
        rest_db.ping()

    assert caught.value.retry_after is not None
    postgrest.only_request()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A local port that accepts connections (into the backlog) and never answers."""
    with socket.create_server(("127.0.0.1", 0), backlog=8) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def test_the_db_timeout_bounds_a_call_even_below_one_second(silent_server: str) -> None:
    """supabase-py's own postgrest timeout would round 0.3 s down to 0; ours is used as is."""
    settings = Settings(
        store="supabase", supabase_url=silent_server, supabase_service_key=KEY, db_timeout=0.3
    )
    store = SupabaseStore.from_settings(settings)
    started = time.monotonic()
    try:
        with pytest.raises(Unavailable):
            BadgesDb(store).ping()
    finally:
        store.close()
    assert 0.25 < time.monotonic() - started < 3


# ---- one mapping for both stores --------------------------------------------------------------

REAL_ERRORS = [
    pytest.param("award_badge", ("no_such_badge",), {"client": False}, UnknownBadge, id="BD001"),
    pytest.param("record_score", ("no_such_provider", True), {}, UnknownProvider, id="BD002"),
    pytest.param("award_badge", ("streak_3d",), {"client": True}, Forbidden, id="BD003"),
    pytest.param("record_activity", ("Not/AZone",), {}, InvalidRequest, id="BD004"),
    pytest.param("take_rate_token", ("b", 0, 1), {}, InvalidRequest, id="BD004-no-detail"),
    pytest.param(
        "track", (MetricEvent("no_such_metric"),), {"client": False}, UnknownMetric, id="BD005"
    ),
    pytest.param("level_status", ("no_such_level",), {}, UnknownLevel, id="BD007"),
]


@pytest.mark.parametrize(("method", "args", "kwargs", "expected"), REAL_ERRORS)
def test_a_database_error_means_the_same_through_postgres_and_through_postgrest(
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    expected: type[BadgesError],
    db: BadgesDb,
    rest_db: BadgesDb,
    postgrest: FakePostgrest,
) -> None:
    """The real database raises; PostgREST would pass that error on as code/message/details/hint
    with status 400. Both stores must answer the same error class, status and message."""
    user = uuid4()
    with pytest.raises(BadgesError) as direct:
        getattr(db, method)(user, *args, **kwargs)
    pg_error = direct.value.__cause__
    assert isinstance(pg_error, psycopg.Error)
    diag = pg_error.diag
    postgrest.answer(
        400, pgrst(str(pg_error.sqlstate), str(diag.message_primary), diag.message_detail)
    )

    with pytest.raises(BadgesError) as via_rest:
        getattr(rest_db, method)(user, *args, **kwargs)

    assert type(direct.value) is type(via_rest.value) is expected
    assert direct.value.status == via_rest.value.status
    assert direct.value.message == via_rest.value.message


# ---- construction and lifetime ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "missing"),
    [
        (Settings(store="supabase", supabase_service_key=KEY), "SUPABASE_URL"),
        (Settings(store="supabase", supabase_url=URL), "SUPABASE_SERVICE_ROLE_KEY"),
        (
            Settings(store="supabase", supabase_url="ftp://example.com", supabase_service_key=KEY),
            "SUPABASE_URL",
        ),
    ],
    ids=["no-url", "no-key", "not-http"],
)
def test_from_settings_names_the_missing_or_bad_variable(settings: Settings, missing: str) -> None:
    with pytest.raises(ValueError, match=missing):
        SupabaseStore.from_settings(settings)


def test_make_store_builds_the_supabase_store_without_touching_the_network() -> None:
    store = make_store(Settings(store="supabase", supabase_url=URL, supabase_service_key=KEY))
    try:
        assert isinstance(store, SupabaseStore)
    finally:
        store.close()


def test_close_leaves_an_injected_http_client_open(http: httpx.Client) -> None:
    SupabaseStore(URL, KEY, http_client=http).close()
    assert not http.is_closed

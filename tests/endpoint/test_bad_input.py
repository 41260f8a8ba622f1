"""Bad input over HTTP, property-based: whatever a caller sends, the answer is one of the
documented errors with the documented body (or a 200 for a valid request), never a 500, and a
refused request leaves the database exactly as it was.

One database and one client for the whole module (hypothesis runs hundreds of examples per
test), rate limiting off. "Unchanged" is a snapshot of every table of schema badges (row count
and md5 of the rows as text), rate_limits excepted.

BADGES_HYPOTHESIS_EXAMPLES sets the examples per property (default 150; the properties run per
action take an eighth of it per action). Without it the runs are derandomized (make test sees
the same examples every run); with it each run explores new ones. The soak variant at the end
(`make soak`) runs every property with BADGES_HYPOTHESIS_EXAMPLES examples, or ten times the
default without it, random each run.

The bugs these properties found (500s for UTC offsets PostgreSQL refuses, events dated before
year 1, the body of an oversized request read anyway, non-UTF-8 bodies served) are fixed and
pinned by the regression tests at the end.
"""

from __future__ import annotations

import base64
import io
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st
from psycopg import sql
from pydantic import ValidationError

from badges import errors
from badges import models as m
from badges.actions import ACTIONS
from badges.catalog import CATALOGS_DIR
from badges.endpoint import MAX_BODY_BYTES
from tests.endpoint import strategies as s
from tests.endpoint.conftest import MakeClient, Tokens

EXAMPLES = int(os.environ.get("BADGES_HYPOTHESIS_EXAMPLES", "150"))
PER_ACTION = max(10, EXAMPLES // 8)
RANDOM = "BADGES_HYPOTHESIS_EXAMPLES" in os.environ
SOAK_EXAMPLES = EXAMPLES if RANDOM else 10 * EXAMPLES


def _property(examples: int, *, derandomize: bool = not RANDOM) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=derandomize,
        database=None,  # no .hypothesis folder in the repository
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )


# code -> status of every documented error (errors.py is the table).
STATUS_OF = {cls.code: cls.status for cls in errors.BadgesError.__subclasses__()}
# What bad input may be answered with: not 401 (the tests send valid tokens), not 429 (rate
# limiting is off), never 500 or 503.
BAD_INPUT_STATUSES = {400, 403, 404, 405, 409, 413}
# What a request that passes validation may still be refused with, by its handler or SQL.
HANDLER_STATUSES = {400, 403, 404, 409}

# The v1 catalog plus a user-trackable metric with badges on it, a level and a badge earned by a
# share, so track (and what it awards), level_status, share and share_opened have valid
# requests too.
EXTRA_CATALOG = """
[[metrics]]
id = "interaction"
name = "Interactions"
description = "Likes and comments."
unit = "interactions"
unit_one = "interaction"
user_trackable = true
user_max_amount = 5

[[badges]]
id = "verified_sharer"
name = "Verified Sharer"
description = "A link you shared was opened."
icon = "🔗"
category = "social"
tier = "bronze"
rule = "shared"
sort_order = 70

[[badges]]
id = "first_interaction"
name = "First Interaction"
description = "Interacted once."
icon = "👋"
category = "social"
tier = "bronze"
rule = "metric"
metric = "interaction"
threshold = 1
sort_order = 80

[[badges]]
id = "two_posts"
name = "Two Posts"
description = "Interacted with two posts."
icon = "✌️"
category = "social"
tier = "bronze"
rule = "distinct"
metric = "interaction"
threshold = 2
sort_order = 90

[[levels]]
id = "newcomer"
name = "Newcomer"
description = "Interacted once."
sort_order = 10
requirements = [{ metric = "interaction", count = 1 }]

[[leaderboards]]
id = "weekly_interactions"
name = "Interactions this week"
metric = "interaction"
period = "weekly"
timezone = "America/Los_Angeles"
"""


# --- the world: one database, one client --------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    text: str

    @property
    def body(self) -> Any:
        return json.loads(self.text)

    @property
    def code(self) -> str:
        if self.status == 200:
            return "success"
        try:
            return str(self.body["error"]["code"])
        except (ValueError, KeyError, TypeError):
            return f"not the documented body ({self.content_type})"


@dataclass
class World:
    client: FlaskClient
    tokens: Tokens
    conn: psycopg.Connection[Any]
    snapshot_query: sql.Composable
    # The last snapshot taken: what the database holds unless an answer since was a 200.
    current: dict[str, tuple[int, str]] = field(default_factory=dict)
    share_id: str = ""  # the seeded user's share, for share_opened

    def token(self, caller: str) -> str:
        return self.tokens.service() if caller == "service" else self.tokens.user(s.SEED_USER)

    def send(
        self,
        data: bytes,
        caller: str | None = "service",
        *,
        method: str = "POST",
        path: str = "/",
        content_type: str | None = "application/json",
        **kwargs: Any,
    ) -> Reply:
        headers = {} if caller is None else {"Authorization": f"Bearer {self.token(caller)}"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        response = self.client.open(path, method=method, data=data, headers=headers, **kwargs)
        response.close()  # runs after-response work, as a server does
        return Reply(response.status_code, response.mimetype, response.get_data(as_text=True))

    def post(self, body: dict[str, Any], caller: str = "service") -> Reply:
        return self.send(json.dumps(body).encode(), caller)

    def snapshot(self) -> dict[str, tuple[int, str]]:
        rows = self.conn.execute(self.snapshot_query).fetchall()
        return {name: (count, digest) for name, count, digest in rows}

    def refresh(self) -> None:
        self.current = self.snapshot()

    def assert_unchanged(self) -> None:
        after = self.snapshot()
        changed = sorted(t for t in after if after[t] != self.current.get(t))
        assert not changed, f"tables changed by a refused request: {changed}"


def _snapshot_query(conn: psycopg.Connection[Any]) -> sql.Composable:
    tables = [
        row[0]
        for row in conn.execute(
            "select tablename from pg_tables where schemaname = 'badges'"
            " and tablename <> 'rate_limits' order by 1"
        )
    ]
    assert len(tables) > 10, tables
    return sql.SQL(" union all ").join(
        sql.SQL(
            "select {name}, count(*), md5(coalesce(string_agg(t::text, ',' order by t::text), ''))"
            " from badges.{table} t"
        ).format(name=sql.Literal(t), table=sql.Identifier(t))
        for t in tables
    )


@pytest.fixture(scope="module")
def world(
    make_client: MakeClient,
    make_catalog_database: Callable[[Path], str],
    tokens: Tokens,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    catalog = tmp_path_factory.mktemp("catalog") / "catalog.toml"
    catalog.write_text((CATALOGS_DIR / "default.toml").read_text() + EXTRA_CATALOG)
    url = make_catalog_database(catalog)
    client = make_client(DATABASE_URL=url, BADGES_RATE_LIMIT_PER_MINUTE="0")
    with psycopg.connect(url, autocommit=True) as conn:
        world = World(client, tokens, conn, _snapshot_query(conn))
        seed(world)
        world.refresh()
        yield world


# --- valid requests to make bad: every action, as each caller that may call it ---------------


@dataclass(frozen=True)
class Case:
    """A valid request: the action with every field set that the model has, so each can be
    made bad."""

    action: str
    fields: dict[str, Any]
    callers: tuple[str, ...] = ("user", "service")
    per_user: bool = True  # the request names the user (a service call must)

    def body(self, world: World) -> dict[str, Any]:
        user = {"user_id": str(s.SEED_USER)} if self.per_user else {}
        fields = {k: world.share_id if v is SHARE_ID else v for k, v in self.fields.items()}
        return {"action": self.action, **user, **fields}

    @property
    def id(self) -> str:
        return "-".join([self.action, *self.fields, *self.callers])


SERVICE = ("service",)
SHARE_ID = object()  # stands for the seeded user's share id
WRITES = [
    Case("award", {"badge_id": "social_sharer"}),
    Case("revoke", {"badge_id": "social_sharer", "reason": "seeded"}, SERVICE),
    Case("record_activity", {"timezone": "Europe/Berlin"}),
    Case("record_score", {"provider_id": "openai", "quiz_correct": True}),
    Case("track", {"metric": "interaction", "amount": 2, "item": "p1", "idempotency_key": "k1"}),
    Case(
        "track",
        {"metric": "interaction", "amount": 3, "item": "p2", "idempotency_key": "k2"}
        | {"occurred_at": s.PAST},
        SERVICE,
    ),
    Case("check_badges", {"all": True}, SERVICE, per_user=False),
    Case("check_streaks", {"all": True}, SERVICE, per_user=False),
    Case("grant_freezes", {"count": 2}, SERVICE),
    Case("backfill", {"badge_id": "streak_3d", "notify": True}, SERVICE, per_user=False),
    Case("mark_notifications_read", {"ids": [1, 2]}),
    Case("mark_notifications_read", {"all": True}),
    Case("preferences", {"feed_opt_out": True}),
    Case("register_push_token", {"token": s.PUSH_TOKEN, "platform": "ios"}),
    Case("unregister_push_token", {"token": s.PUSH_TOKEN}),
    Case("deliver_notifications", {"max_seconds": 1}, SERVICE, per_user=False),
    Case("requeue_notifications", {"ids": [1]}, SERVICE, per_user=False),
    Case("requeue_notifications", {"all": True}, SERVICE, per_user=False),
    Case("share", {"badge_id": "verified_sharer"}),
    Case("share_opened", {"share_id": SHARE_ID}),
    Case("preferences", {"feed_opt_out": False, "profile_public": True}),
    # first_interaction: earned by the track case above, and revoked by no case.
    Case("showcase", {"badge_ids": ["first_interaction"]}),
]
# Reads and checks too: a bad one must be refused as cleanly.
READS = [
    Case("list", {}),
    Case("check_streaks", {"all": False}),
    Case("check_badges", {"all": False}),
    Case("check_quiz_master", {}),
    Case("leaderboard", {"limit": 5, "offset": 0}),
    Case("leaderboard", {"board": "weekly_interactions", "period": "previous", "limit": 5}),
    Case("around_me", {"board": "weekly_interactions", "period": "current", "radius": 3}),
    Case("score_leaderboard", {"limit": 5, "offset": 0}),
    Case("catalog", {}),
    Case("badge", {"badge_id": "social_sharer"}),
    Case("badge_holders", {"badge_id": "social_sharer", "limit": 5}),
    Case("progress", {}),
    Case("level_status", {"level": "newcomer"}),
    Case("notifications", {"unread_only": True, "limit": 5, "before": 100}),
    Case("feed", {"limit": 5}),
    Case("preferences", {}),
    Case("profile", {"limit": 5}),
    Case("current_level", {}),
    Case("outbox", {"status": "pending", "limit": 5, "before": 100}, SERVICE, per_user=False),
]
CASES = WRITES + READS


def seed(world: World) -> None:
    """Every valid request once, each answered 200 (the mutations start from requests that
    are valid as they are), leaving rows for a bad request to damage."""
    share = world.post({"action": "share", "badge_id": "verified_sharer"}, "user")
    world.share_id = share.body["share_id"]
    for case in CASES:
        for caller in case.callers:
            reply = world.post(case.body(world), caller)
            assert reply.status == 200, (case.id, caller, reply.text)
    for case in WRITES[:5]:  # something to revoke, read and requeue
        world.post(case.body(world))


def test_every_action_has_a_valid_request_to_make_bad():
    """The mutation property covers every action, and every client write among the writes."""
    assert {c.action for c in CASES} == set(ACTIONS)
    assert {c.action for c in WRITES} >= {n for n, a in ACTIONS.items() if a.client_write}


def test_every_valid_request_the_mutations_start_from_is_answered_200(world: World):
    """The base requests of the mutation property are valid as they are, for each caller: the
    one bad field is the only reason a mutated request is refused."""
    for case in CASES:
        for caller in case.callers:
            reply = world.post(case.body(world), caller)
            assert (reply.status, reply.body["success"]) == (200, True), (case.id, reply.text)
    world.refresh()


# --- what the README says a body gets, before any handler runs -------------------------------


def _reject_constant(name: str) -> object:
    raise ValueError(name)


def parse(raw: bytes) -> Any:
    """The body as the README reads it: UTF-8 JSON (a BOM tolerated), no NaN/Infinity.
    Raises ValueError (or RecursionError) for anything else."""
    return json.loads(raw.decode("utf-8-sig"), parse_constant=_reject_constant)


def expected_refusal(raw: bytes, caller: str) -> tuple[int, str] | None:
    """The documented refusal of a body by the checks that run before any SQL (README, "Request
    and answer": size, JSON, action, caller, user_id, fields), or None if the request reaches
    its handler."""
    if len(raw) > MAX_BODY_BYTES:
        return 413, "payload_too_large"
    try:
        body = parse(raw)
    except (ValueError, RecursionError):
        return 400, "invalid_json"
    if not isinstance(body, dict):
        return 400, "invalid_json"
    name = body.get("action")
    if not isinstance(name, str) or name not in ACTIONS:
        return 400, "unknown_action"
    action = ACTIONS[name]
    service = caller == "service"
    if action.service_only and not service:
        return 403, "forbidden"
    try:
        named = m.Request.model_validate(body).user_id
        if not (service or action.names_any_user) and named not in (None, s.SEED_USER):
            return 403, "forbidden"
        action.request.model_validate(body)
    except ValidationError:
        return 400, "invalid_request"
    return None


# --- checks -------------------------------------------------------------------------------


def assert_documented_error(reply: Reply, expected: tuple[int, str] | None = None) -> None:
    """The error body of the README: {"success": false, "error": {"code", "message",
    "details"?}}, a documented code whose status is the answer's, and a bad-input status."""
    assert reply.content_type == "application/json", (reply.status, reply.text[:300])
    body = reply.body
    assert set(body) == {"success", "error"}, body
    assert body["success"] is False
    error = body["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "details"}, error
    assert error["code"] in STATUS_OF, error
    assert STATUS_OF[error["code"]] == reply.status, (reply.status, error)
    assert isinstance(error["message"], str)
    assert error["message"].strip()
    assert reply.status in BAD_INPUT_STATUSES, (reply.status, error)
    if expected is not None:
        assert (reply.status, error["code"]) == expected, error
    if error["code"] == "invalid_request" and "details" in error:
        assert isinstance(error["details"], list)
        assert all({"type", "loc", "msg"} <= set(d) for d in error["details"]), error


def check_answer(world: World, raw: bytes, caller: str, **send: Any) -> Reply:
    """Post raw: a 200 only for a request that passes every check before SQL; otherwise the
    refusal the README documents for it (or, past those checks, a handler's documented 4xx),
    and the database unchanged."""
    expected = expected_refusal(raw, caller)
    note(f"expected: {expected}")
    reply = world.send(raw, caller, **send)
    note(f"answer: {reply.status} {reply.text[:500]}")
    event(f"answer {reply.status} {reply.code}")
    if reply.status == 200:
        assert expected is None, (expected, reply.text[:300])
        assert reply.content_type == "application/json"
        assert reply.body["success"] is True
        world.refresh()
        return reply
    assert_documented_error(reply, expected)
    if expected is None:
        assert reply.status in HANDLER_STATUSES, reply.text[:300]
    world.assert_unchanged()
    return reply


# --- 1. any JSON value ----------------------------------------------------------------------


def check_any_json_value(world: World, data: st.DataObject) -> None:
    body = data.draw(s.bodies, label="body")
    caller = data.draw(st.sampled_from(["user", "service"]), label="caller")
    # ASCII with escapes (lone surrogates as \ud800), or UTF-8.
    ascii_only = data.draw(st.booleans(), label="ascii")
    text = json.dumps(body, ensure_ascii=ascii_only)
    raw = text.encode("utf-8", "surrogatepass")  # a careless client's encoding of a surrogate
    check_answer(world, raw, caller)


@_property(EXAMPLES)
@given(data=st.data())
def test_any_json_value_is_answered_with_a_documented_code_and_body_never_a_500(
    world: World, data: st.DataObject
):
    """Any JSON value as the body (null, booleans, integers up to 4000 digits and at every
    bound, floats, text with NUL, lone surrogates, emoji, RTL marks, long text, nested lists and
    objects, and objects shaped like requests: a real action with some fields, plausible or
    hostile), as a user and as the service: a 200 only for a request that passes validation;
    otherwise the refusal the README documents for it, with the documented error body, and the
    database unchanged. Never a 500."""
    check_any_json_value(world, data)


# --- 2. a valid request with one bad field --------------------------------------------------


def check_one_bad_field(world: World, data: st.DataObject, case: Case) -> None:
    caller = data.draw(st.sampled_from(case.callers), label="caller")
    body = case.body(world)
    name = data.draw(st.sampled_from(sorted(ACTIONS[case.action].request.model_fields)))
    if name in body and data.draw(st.integers(0, 9), label="remove?") == 0:
        del body[name]
        note(f"removed {name}")
    else:
        body[name] = data.draw(s.bad_values, label=name)
    raw = json.dumps(body).encode()
    expected = expected_refusal(raw, caller)
    if expected is None:
        event("skipped, the value is valid for the field")
    assume(expected is not None)
    reply = world.send(raw, caller)
    note(f"answer: {reply.status} {reply.text[:500]}")
    event(f"answer {reply.status} {reply.code}")
    assert_documented_error(reply, expected)
    if expected == (400, "invalid_request"):
        assert reply.body["error"]["details"], reply.body
    world.assert_unchanged()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
@_property(PER_ACTION)
@given(data=st.data())
def test_a_valid_request_with_one_bad_field_is_refused_as_documented_and_changes_nothing(
    world: World, data: st.DataObject, case: Case
):
    """Every action (all the writes: award, revoke, record_activity, record_score, track, share,
    share_opened, check_badges and check_streaks with all, backfill, mark_notifications_read,
    preferences, register/unregister_push_token, deliver/requeue_notifications; and the reads),
    from a valid request with one field replaced by a bad value (wrong type, out of range,
    huge, too long, unicode, NUL, nested, bool for int, another field's value…) or removed:
    exactly the documented refusal (400 invalid_request with pydantic's details, 400
    unknown_action for a bad action, 403 for another user's id, 413 over 64 KiB), and the
    database unchanged."""
    check_one_bad_field(world, data, case)


# --- 2b. valid requests with values at their bounds ---------------------------------------


def check_valid_request(world: World, data: st.DataObject, action: str) -> None:
    callers = ["service"] if ACTIONS[action].service_only else ["user", "service"]
    caller = data.draw(st.sampled_from(callers), label="caller")
    body = data.draw(s.valid_request(action), label="body")
    if caller == "user" and "user_id" in body:
        body["user_id"] = str(s.SEED_USER)  # a user may name only themselves
    raw = json.dumps(body).encode()
    valid = expected_refusal(raw, caller) is None
    if not valid:
        event("skipped, refused before SQL (fields valid alone, not together)")
    assume(valid)
    check_answer(world, raw, caller)


@pytest.mark.parametrize("action", sorted(ACTIONS))
@_property(PER_ACTION)
@given(data=st.data())
def test_a_valid_request_with_values_at_their_bounds_is_served_or_refused_as_documented(
    world: World, data: st.DataObject, action: str
):
    """Requests that pass every check before SQL, with values at their bounds (ids up to
    2**63 - 1, 1000 ids, amounts of ±1,000,000, texts at their length in 4-byte characters,
    any IANA zone, occurred_at back to year 1 with any offset, feed cursors of any instant, any
    push token), as a user and as the service: a 200, or a documented refusal from the SQL
    functions (400, 403, 404, 409) with the database unchanged. Never a 500."""
    check_valid_request(world, data, action)


# --- 3. bodies that are not JSON objects, content types, sizes --------------------------------


def check_raw_body(world: World, data: st.DataObject) -> None:
    raw = data.draw(s.raw_bodies, label="raw")
    content_type = data.draw(st.sampled_from(s.CONTENT_TYPES), label="content_type")
    caller = data.draw(st.sampled_from(["user", "service"]), label="caller")
    check_answer(world, raw, caller, content_type=content_type)


@_property(EXAMPLES)
@given(data=st.data())
def test_any_bytes_with_any_content_type_get_a_documented_answer_and_change_nothing(
    world: World, data: st.DataObject
):
    """Random bytes, JSON requests corrupted at the byte level, and near-JSON (a BOM, trailing
    commas, single quotes, NaN, invalid UTF-8, deep nesting), under any Content-Type (none,
    JSON, text, form, multipart, XML, garbage): a 200 only if the bytes are a valid request,
    else the documented refusal; the database unchanged."""
    check_raw_body(world, data)


NON_JSON_TYPES = [
    None,
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/xml",
    "application/octet-stream",
]


@pytest.mark.parametrize("content_type", NON_JSON_TYPES)
def test_the_content_type_is_ignored_a_json_body_is_read_as_json_under_any(
    world: World, content_type: str | None
):
    """Pinned behaviour: the body is read as JSON whatever the Content-Type says (curl -d sends
    form-encoded; some clients send text/plain), consistently: a JSON request under another
    type is served, and a form, XML or multipart body under it is invalid_json."""
    reply = world.send(b'{"action": "catalog"}', "user", content_type=content_type)
    assert (reply.status, reply.body["success"]) == (200, True)

    for raw in (b"action=catalog", b"<action>catalog</action>", b"--xyz\r\n\r\n--xyz--"):
        refused = world.send(raw, "user", content_type=content_type)
        assert_documented_error(refused, (400, "invalid_json"))
    world.assert_unchanged()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "invalid_json"),
        (b"   ", "invalid_json"),
        (b'{"action": "catalog"', "invalid_json"),
        (b'{"action": "\xff\xfe"}', "invalid_json"),  # invalid UTF-8
        (b'{"action": "\xc0\xa2catalog"}', "invalid_json"),  # an overlong encoding
        (b'{"action": "catalog", "limit": NaN}', "invalid_json"),
        (b'{"action": "catalog", "x": Infinity}', "invalid_json"),
        (b'{"action": "catalog", "x": -Infinity}', "invalid_json"),
        (b'{"action": "catalog", "x": 1' + b"0" * 5000 + b"}", "invalid_json"),  # > 4300 digits
        (b"[" * 30_000 + b"]" * 30_000, "invalid_json"),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "invalid_json"),
        (b'{"action": "catalog", "x": ' + b"[" * 30_000 + b"]" * 30_000 + b"}", "invalid_json"),
        (b'{"action": "fly", "action": "fly"}', "unknown_action"),
        (b'{"action": "catalog", "action": "fly"}', "unknown_action"),  # the last key wins
        (b'{"action": "leaderboard", "limit": 5, "limit": 500}', "invalid_request"),
        (b'{"action": "leaderboard", "limit": 1e999}', "invalid_request"),  # a float, infinite
    ],
    ids=lambda v: v[:40].decode("latin-1") if isinstance(v, bytes) else v,
)
@pytest.mark.parametrize("caller", ["user", "service"])
def test_malformed_json_is_refused_as_documented_and_changes_nothing(
    world: World, raw: bytes, code: str, caller: str
):
    """Empty, truncated, invalid UTF-8, NaN/Infinity, numbers past Python's 4300 digits, nesting
    deeper than the parser goes (30,000 levels, inside 64 KiB), duplicate keys (the last one
    wins, as in Python's json): 400 with the documented code; the database unchanged."""
    reply = world.send(raw, caller)
    assert_documented_error(reply, (400, code))
    world.assert_unchanged()


def test_with_a_key_twice_the_last_value_is_the_one_read(world: World):
    """Pinned: duplicate keys are not refused; the last value wins (a valid last one is served,
    a bad last one refused, whatever came first)."""
    served = world.send(b'{"action": "leaderboard", "limit": 500, "limit": 5}', "user")
    refused = world.send(b'{"action": "leaderboard", "limit": 5, "limit": 500}', "user")

    assert world.send(b'{"action": "fly", "action": "catalog"}', "user").status == 200
    assert served.status == 200
    assert_documented_error(refused, (400, "invalid_request"))


def test_nesting_of_100k_levels_is_refused_never_a_500(world: World):
    """100,000 nested arrays (200 KB) are refused by size before parsing; the deepest nesting that
    fits in 64 KiB is refused by the parser: never a RecursionError's 500."""
    deep = world.send(b"[" * 100_000 + b"]" * 100_000, "service")
    fits = world.send(b"[" * (MAX_BODY_BYTES // 2) + b"]" * (MAX_BODY_BYTES // 2), "service")
    assert_documented_error(deep, (413, "payload_too_large"))
    assert_documented_error(fits, (400, "invalid_json"))
    world.assert_unchanged()


def _padded(size: int) -> bytes:
    """A valid catalog request of exactly size bytes (padded with spaces)."""
    raw = b'{"action": "catalog"}'
    return raw[:-1] + b" " * (size - len(raw)) + b"}"


def test_a_body_of_64_kib_is_served_and_one_byte_more_is_payload_too_large(world: World):
    """The limit is 65,536 bytes inclusive, checked before the token: one byte over is 413 even
    without a token, and a valid request of exactly 64 KiB is served."""
    at_limit = world.send(_padded(MAX_BODY_BYTES), "user")
    over = world.send(_padded(MAX_BODY_BYTES + 1), "user")
    over_anonymous = world.send(_padded(MAX_BODY_BYTES + 1), None)

    assert at_limit.status == 200
    assert_documented_error(over, (413, "payload_too_large"))
    assert_documented_error(over_anonymous, (413, "payload_too_large"))
    world.assert_unchanged()


def test_a_body_over_64_kib_without_content_length_is_payload_too_large(world: World):
    """A chunked body (no Content-Length; the server marks the input terminated) is read up to
    the limit and refused."""
    over = _padded(MAX_BODY_BYTES + 1)
    chunked = {"wsgi.input_terminated": True}
    reply = world.send(b"", "user", input_stream=io.BytesIO(over), environ_overrides=chunked)

    assert_documented_error(reply, (413, "payload_too_large"))
    world.assert_unchanged()


def test_a_content_length_under_the_real_size_is_believed(world: World):
    """Pinned: a Content-Length claiming less than is sent is believed: only that many bytes
    are this request's body, so a request cut short is invalid_json, and a complete one is
    served (the rest is not this request's body)."""
    over = _padded(MAX_BODY_BYTES + 1)
    cut = world.send(over, "user", environ_overrides={"CONTENT_LENGTH": "100"})
    whole = world.send(
        b'{"action": "catalog"}' + b"x" * MAX_BODY_BYTES,
        "user",
        environ_overrides={"CONTENT_LENGTH": "21"},
    )

    assert_documented_error(cut, (400, "invalid_json"))
    assert whole.status == 200
    world.assert_unchanged()


# --- 4. methods ----------------------------------------------------------------------------

segments = st.text(st.characters(codec="ascii", categories=["L", "N"], include_characters="-_."))
paths = st.one_of(
    st.sampled_from(["/", "/badges", "/functions/v1/badges", "/health/x", "/functions/v1/health"]),
    st.lists(segments.filter(bool), max_size=4).map(lambda parts: "/" + "/".join(parts)),
).filter(lambda p: p not in ("/robots.txt", "/favicon.ico"))  # functions-framework's own (README)


def check_other_method(world: World, data: st.DataObject) -> None:
    method = data.draw(
        st.one_of(
            st.sampled_from(["PUT", "DELETE", "PATCH", "TRACE", "CONNECT", "PROPFIND"]),
            st.from_regex(r"\A[A-Z]{3,10}\Z").filter(
                lambda v: v not in {"POST", "GET", "HEAD", "OPTIONS"}
            ),
        ),
        label="method",
    )
    path = data.draw(paths, label="path")
    raw = json.dumps(data.draw(s.request_objects, label="body")).encode()
    caller = data.draw(st.sampled_from(["user", "service", None]), label="caller")
    reply = world.send(raw, caller, method=method, path=path)
    event(f"answer {reply.status} {reply.code}")
    assert_documented_error(reply, (405, "method_not_allowed"))
    world.assert_unchanged()


@_property(max(20, EXAMPLES // 2))
@given(data=st.data())
def test_a_method_other_than_post_get_and_options_is_method_not_allowed(
    world: World, data: st.DataObject
):
    """PUT, DELETE, PATCH and any other method, on any path, with or without a token, with a
    request as its body: 405 method_not_allowed with the documented body; nothing done."""
    check_other_method(world, data)


def test_get_anywhere_but_health_is_method_not_allowed(world: World):
    """GET is for …/health only: elsewhere, even with a valid request as body, it is 405."""
    for path in ("/", "/badges", "/healthz", "/health/x"):
        reply = world.send(b'{"action": "catalog"}', "user", method="GET", path=path)
        assert_documented_error(reply, (405, "method_not_allowed"))


# --- regressions: bugs these properties found, fixed -----------------------------------------


def _cursor(at: str) -> str:
    raw = json.dumps([at, str(uuid.uuid4()), "social_sharer"]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("offset", ["+16:00", "-16:00", "+23:59"])
def test_a_dated_track_with_an_offset_postgres_refuses_is_invalid_request(
    world: World, offset: str
):
    """Was a 500 (SQLSTATE 22009 unmapped), now 400. Repro: as the service, {"action":
    "track", "user_id": "<uuid>", "metric": "interaction", "occurred_at":
    "2025-01-01T00:00:00+16:00"} (any metric)."""
    at = "2025-01-01T00:00:00" + offset
    reply = world.post(
        {"action": "track", "user_id": str(uuid.uuid4()), "metric": "nope", "occurred_at": at}
    )
    assert_documented_error(reply, (400, "invalid_request"))


def test_a_feed_cursor_with_an_offset_postgres_refuses_is_invalid_request(world: World):
    """Was a 500 to any user (SQLSTATE 22009), now 400. Repro: as any user, {"action":
    "feed", "before": base64url of '["2025-01-01T00:00:00+16:00", "<uuid>", "social_sharer"]'}
    (unpadded)."""
    reply = world.post({"action": "feed", "before": _cursor("2025-01-01T00:00:00+16:00")}, "user")
    assert_documented_error(reply, (400, "invalid_request"))


def test_a_track_dated_before_year_1_utc_is_refused_or_the_feed_pages_past_it(world: World):
    """Was accepted, and the feed refused its own cursor after it; events before 1970 are now
    refused. Repro: as the service, track "interaction" (a metric with a threshold-1
    badge) for two users with "occurred_at": "0001-01-01T00:00:00+14:00", then page the feed
    with limit 1: the next_before of the page showing the first is answered 400."""
    answers = [
        world.post(
            {
                "action": "track",
                "user_id": str(uuid.uuid4()),
                "metric": "interaction",
                "occurred_at": "0001-01-01T00:00:00+14:00",
            }
        )
        for _ in range(2)
    ]
    world.refresh()
    if all(a.status != 200 for a in answers):
        return  # refused: fine
    pages, before = [], None
    for _ in range(1000):
        body = {"action": "feed", "limit": 100} | ({"before": before} if before else {})
        page = world.post(body, "user")
        pages.append(page)
        if page.status != 200 or not page.body["next_before"]:
            break
        before = page.body["next_before"]
    assert pages[-1].status == 200, pages[-1].text[:300]
    earned = [e["earned_at"] for p in pages for e in p.body["entries"]]
    assert all(datetime.fromisoformat(at) for at in earned)


def test_a_content_length_over_64_kib_is_payload_too_large_without_reading_the_body(
    world: World,
):
    """Was a 500 (functions-framework's after-request hook read the declared body). Repro: a
    Content-Length of 1,000,000,000 and a 2-byte body (under gunicorn, `badges serve`: no answer
    until the whole declared body was sent; an honest 300 MB body raised the worker's peak
    memory from 56 MB to 355 MB before the 413 went out; now answered in 0.3 s)."""
    reply = world.send(b"{}", "user", environ_overrides={"CONTENT_LENGTH": str(10**9)})
    assert_documented_error(reply, (413, "payload_too_large"))


@pytest.mark.parametrize("path", ["/robots.txt", "/favicon.ico"])
def test_robots_txt_and_favicon_ico_are_functions_frameworks_404(world: World, path: str):
    """The two paths "any path" leaves out (README): functions-framework answers them itself,
    for every method, with its own 404, before the function sees the request."""
    reply = world.send(b'{"action": "catalog"}', "user", path=path)
    assert reply.status == 404, (reply.status, reply.content_type)


@pytest.mark.parametrize(
    "raw",
    [
        '{"action": "catalog"}'.encode("utf-16"),
        '{"action": "catalog"}'.encode("utf-16-be"),
        '{"action": "catalog"}'.encode("utf-32"),
        b'{"action": "catalog", "x": "\xed\xa0\x80"}',
    ],
    ids=["utf-16", "utf-16-be", "utf-32", "cesu-8-surrogate"],
)
def test_a_body_that_is_not_utf_8_is_invalid_json(world: World, raw: bytes):
    """Was served: the body is now decoded strictly as UTF-8. Repro: '{"action": "catalog"}'
    encoded as UTF-16 was served (200)."""
    assert_documented_error(world.send(raw, "user"), (400, "invalid_json"))


# --- the soak variant ------------------------------------------------------------------------

PROPERTIES: dict[str, tuple[int, Callable[[World, st.DataObject], None]]] = {
    "any_json_value": (SOAK_EXAMPLES, check_any_json_value),
    "raw_body": (SOAK_EXAMPLES, check_raw_body),
    "other_method": (SOAK_EXAMPLES // 2, check_other_method),
    **{
        f"one_bad_field-{c.id}": (
            SOAK_EXAMPLES // 8,
            lambda world, data, c=c: check_one_bad_field(world, data, c),
        )
        for c in CASES
    },
    **{
        f"valid_request-{a}": (
            SOAK_EXAMPLES // 8,
            lambda world, data, a=a: check_valid_request(world, data, a),
        )
        for a in sorted(ACTIONS)
    },
}


@pytest.mark.soak
@pytest.mark.parametrize("name", sorted(PROPERTIES))
def test_the_bad_input_properties_hold_over_many_more_random_examples(world: World, name: str):
    """make soak: every property above with many more examples, new random ones each run."""
    examples, check = PROPERTIES[name]

    @_property(examples, derandomize=False)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        check(world, data)

    run()

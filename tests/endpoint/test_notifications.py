"""Notifications over HTTP: the one short delivery attempt after a request that awarded (the
webhook receiver faked with `responses`), the inbox, the feed, preferences, push tokens and the
operators' outbox actions. Every outcome is read back from the database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
import pytest
import requests
import responses
from psycopg.rows import dict_row

from tests.endpoint.conftest import Api, MakeClient, Tokens
from tests.endpoint.test_errors import assert_error

WEBHOOK_URL = "https://hooks.example.test/badges"
WEBHOOK_SECRET = "test-webhook-secret-0123456789"
WEBHOOK_ENV = {"BADGES_WEBHOOK_URL": WEBHOOK_URL, "BADGES_WEBHOOK_SECRET": WEBHOOK_SECRET}
EXPO_URL = "https://expo.example.test/--/api/v2/push/send"
CLIENT_BADGES = {"social_sharer"}  # the v1 badges a user's own token may award

# What the inbox test user earns, in this order: the inbox lists it newest first.
INBOX_BADGES = ("social_sharer", "streak_3d", "streak_7d", "quiz_master_3")

Conn = psycopg.Connection[Any]


@pytest.fixture(scope="module")
def webhook_api(make_client: MakeClient, tokens: Tokens) -> Api:
    """The function with the webhook channel, trying new notifications right after a request."""
    return Api(make_client(**WEBHOOK_ENV), tokens)


@pytest.fixture(scope="module")
def deferred_api(make_client: MakeClient, tokens: Tokens) -> Api:
    """The webhook channel too, but left to the delivery job (BADGES_IMMEDIATE_DELIVERY=false)."""
    return Api(make_client(**WEBHOOK_ENV, BADGES_IMMEDIATE_DELIVERY="false"), tokens)


@pytest.fixture(scope="module")
def expo_api(make_client: MakeClient, tokens: Tokens) -> Api:
    """The function with the Expo push channel (at a fake address), trying right after."""
    return Api(make_client(BADGES_EXPO_PUSH="true", BADGES_EXPO_PUSH_URL=EXPO_URL), tokens)


@pytest.fixture
def iso_api(make_client: MakeClient, iso_url: str, tokens: Tokens) -> Api:
    """The function over this test's own database (no channel: in-app only)."""
    return Api(make_client(DATABASE_URL=iso_url, BADGES_DB_POOL_SIZE="2"), tokens)


@pytest.fixture
def inbox_user(api: Api, user: uuid.UUID) -> uuid.UUID:
    for badge in INBOX_BADGES:
        award(api, user, badge)
    return user


def award(api: Api, user: uuid.UUID, badge: str) -> dict[str, Any]:
    """A new award: on the user's word for a client badge, else by a service naming the user."""
    if badge in CLIENT_BADGES:
        body = api.ok("award", as_user=user, badge_id=badge)
    else:
        body = api.ok("award", service=True, user_id=str(user), badge_id=badge)
    assert body["awarded"] is True
    return body


@contextmanager
def receiver(url: str = WEBHOOK_URL, **reply: Any) -> Iterator[list[requests.PreparedRequest]]:
    """The receiver at url answering every POST with reply. Yields the list of every outbound
    request (to any address), filled when the block ends."""
    sent: list[requests.PreparedRequest] = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(url, **reply)
        try:
            yield sent
        finally:
            sent.extend(call.request for call in mock.calls)


def outbox_row(conn: Conn, user: uuid.UUID, badge: str = "social_sharer") -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "select * from badges.outbox where user_id = %s and badge_id = %s", (user, badge)
        )
        rows = cur.fetchall()
    assert len(rows) == 1, rows
    return rows[0]


def earned_messages(conn: Conn, badges: tuple[str, ...]) -> dict[str, str]:
    rows = conn.execute(
        "select d.id, badges.earned_message(d) from badges.definitions d where d.id = any(%s)",
        (list(badges),),
    ).fetchall()
    return dict(rows)


def inbox_ids(api: Api, user: uuid.UUID, **params: Any) -> list[int]:
    return [n["id"] for n in api.ok("notifications", as_user=user, **params)["notifications"]]


def feed_of(api: Api, **params: Any) -> dict[str, Any]:
    return api.ok("feed", as_user=uuid.uuid4(), **params)


def feed_keys(api: Api, **params: Any) -> list[tuple[str, str]]:
    return [(e["user_id"], e["badge"]["id"]) for e in feed_of(api, **params)["entries"]]


def cursor_of(key: object) -> str:
    """A feed cursor as the function spells one, around any JSON."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def push_token() -> str:
    return f"ExponentPushToken[{uuid.uuid4().hex}]"


def push_tokens_of(conn: Conn, user: uuid.UUID) -> list[str]:
    rows = conn.execute(
        "select token from badges.push_tokens where user_id = %s order by updated_at desc",
        (user,),
    ).fetchall()
    return [token for (token,) in rows]


# The immediate attempt after an awarding request.


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ({"status": 500}, "webhook: HTTP 500"),
        ({"body": requests.exceptions.ConnectionError("refused")}, "webhook: ConnectionError"),
        ({"body": requests.exceptions.ReadTimeout("slow")}, "webhook: no answer within 2 s"),
    ],
    ids=["http-500", "connection-error", "timeout"],
)
def test_a_failing_channel_never_fails_the_award_and_leaves_the_row_to_the_job(
    webhook_api: Api, conn: Conn, user: uuid.UUID, reply: dict[str, Any], error: str
):
    """Pinned: the answer is the award's; award and outbox row are committed; one attempt was
    made and recorded (attempts 1, the channel's error, a retry scheduled)."""
    with receiver(**reply) as sent:
        answer = webhook_api.ok("award", as_user=user, badge_id="social_sharer")

    assert answer["awarded"] is True
    assert len(sent) == 1
    row = outbox_row(conn, user)
    assert row["dedupe_key"] == f"badge.earned:{user}:social_sharer"
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 1, error)
    assert row["delivered_channels"] == []
    assert row["next_attempt_at"] > row["last_attempt_at"]
    awarded = conn.execute(
        "select badge_id from badges.awards where user_id = %s", (user,)
    ).fetchall()
    assert awarded == [("social_sharer",)]


@pytest.mark.parametrize("badge", ["social_sharer", "streak_3d"])
def test_a_receiver_taking_the_immediate_attempt_leaves_the_row_delivered(
    webhook_api: Api, conn: Conn, user: uuid.UUID, badge: str
):
    """Pinned, for a user's own award and a service's award naming the user: the signed request
    (X-Badges-Signature computed here independently, Idempotency-Key the dedupe key, the body
    the outbox payload) and the row delivered to the webhook."""
    with receiver(status=202) as requests_sent:
        award(webhook_api, user, badge)

    assert len(requests_sent) == 1
    sent = requests_sent[0]
    row = outbox_row(conn, user, badge)
    assert sent.url == WEBHOOK_URL
    assert sent.headers["Idempotency-Key"] == f"badge.earned:{user}:{badge}"
    digest = hmac.new(WEBHOOK_SECRET.encode(), sent.body, hashlib.sha256).hexdigest()
    assert sent.headers["X-Badges-Signature"] == f"sha256={digest}"
    assert sent.headers["X-Badges-Event"] == "badge.earned"
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.body) == row["payload"]
    assert row["payload"]["user_id"] == str(user)
    assert row["payload"]["badge"]["id"] == badge
    assert (row["status"], row["attempts"], row["last_error"]) == ("delivered", 1, None)
    assert row["delivered_channels"] == ["webhook"]


def test_a_repeated_award_makes_no_attempt(
    webhook_api: Api, deferred_api: Api, conn: Conn, user: uuid.UUID
):
    """Pinned: awarded false means no HTTP call, even with the user's row never tried."""
    award(deferred_api, user, "social_sharer")  # the row stays never tried (attempts 0)

    with receiver(status=200) as sent:
        again = webhook_api.ok("award", as_user=user, badge_id="social_sharer")

    assert again["awarded"] is False
    assert len(sent) == 0
    row = outbox_row(conn, user)
    assert (row["status"], row["attempts"]) == ("pending", 0)


@pytest.mark.parametrize("api_fixture", ["deferred_api", "api"], ids=["deferred", "no-channel"])
def test_no_attempt_is_made_with_immediate_delivery_off_or_no_channel(
    request: pytest.FixtureRequest, conn: Conn, user: uuid.UUID, api_fixture: str
):
    """Pinned: the award writes its outbox row, left pending and untried for the job."""
    api: Api = request.getfixturevalue(api_fixture)

    with receiver(status=200) as sent:
        award(api, user, "social_sharer")

    assert len(sent) == 0
    row = outbox_row(conn, user)
    assert (row["status"], row["attempts"], row["last_attempt_at"]) == ("pending", 0, None)


@pytest.mark.parametrize(
    ("ticket", "kept"),
    [
        ({"status": "ok", "id": "ticket-1"}, True),
        ({"status": "error", "details": {"error": "DeviceNotRegistered"}}, False),
    ],
    ids=["ok", "device-not-registered"],
)
def test_an_award_is_pushed_to_the_users_registered_device(
    expo_api: Api, conn: Conn, user: uuid.UUID, ticket: dict[str, Any], kept: bool
):
    """Pinned: one message to the device, titled with the badge; a device Expo no longer knows
    is forgotten and the row still counts as delivered."""
    device = push_token()
    expo_api.ok("register_push_token", as_user=user, token=device, platform="android")

    with receiver(EXPO_URL, json={"data": [ticket]}) as sent:
        award(expo_api, user, "social_sharer")

    assert len(sent) == 1
    (message,) = json.loads(sent[0].body)
    assert (message["to"], message["title"]) == (device, "📣 Social Sharer")
    assert message["body"] == "Congrats! You earned Social Sharer! Shared your progress."
    row = outbox_row(conn, user)
    assert (row["status"], row["delivered_channels"]) == ("delivered", ["expo"])
    assert push_tokens_of(conn, user) == ([device] if kept else [])


# The inbox.


def test_the_inbox_pages_newest_first_without_repeats_or_gaps(
    api: Api, conn: Conn, inbox_user: uuid.UUID
):
    """Pinned: limit and before=next_before, next_before null on the last page, unread_count,
    the shape of a notification and the catalog's wording of each message."""
    first = api.ok("notifications", as_user=inbox_user, limit=3)
    last = api.ok("notifications", as_user=inbox_user, limit=3, before=first["next_before"])

    notes = first["notifications"] + last["notifications"]
    assert [n["badge_id"] for n in notes] == list(reversed(INBOX_BADGES))
    ids = [n["id"] for n in notes]
    assert ids == sorted(set(ids), reverse=True)
    assert (first["next_before"], last["next_before"]) == (ids[2], None)
    assert first["unread_count"] == last["unread_count"] == 4
    assert {(n["type"], n["read"]) for n in notes} == {("badge.earned", False)}
    assert {n["badge_id"]: n["message"] for n in notes} == earned_messages(conn, INBOX_BADGES)
    assert notes[-1]["message"] == "Congrats! You earned Social Sharer! Shared your progress."
    assert datetime.fromisoformat(notes[0]["created_at"]).tzinfo is not None


def test_a_full_last_inbox_page_says_there_is_no_next_one(api: Api, inbox_user: uuid.UUID):
    first = api.ok("notifications", as_user=inbox_user, limit=2)
    last = api.ok("notifications", as_user=inbox_user, limit=2, before=first["next_before"])

    assert [len(p["notifications"]) for p in (first, last)] == [2, 2]
    assert last["next_before"] is None


def test_marking_by_ids_marks_only_those_and_all_marks_the_rest(api: Api, inbox_user: uuid.UUID):
    ids = inbox_ids(api, inbox_user)

    some = api.ok("mark_notifications_read", as_user=inbox_user, ids=ids[:2])
    unread = api.ok("notifications", as_user=inbox_user, unread_only=True)
    again = api.ok("mark_notifications_read", as_user=inbox_user, ids=ids[:2])
    rest = api.ok("mark_notifications_read", as_user=inbox_user, all=True)

    assert some == {"success": True, "marked": 2, "unread_count": 2}
    assert [n["id"] for n in unread["notifications"]] == ids[2:]
    assert unread["unread_count"] == 2
    assert again == {"success": True, "marked": 0, "unread_count": 2}
    assert rest == {"success": True, "marked": 2, "unread_count": 0}
    listed = api.ok("notifications", as_user=inbox_user)["notifications"]
    assert [n["read"] for n in listed] == [True] * 4
    assert inbox_ids(api, inbox_user, unread_only=True) == []


def test_another_user_neither_sees_nor_marks_someone_elses_notifications(
    api: Api, inbox_user: uuid.UUID
):
    ids = inbox_ids(api, inbox_user)
    other = uuid.uuid4()

    seen = api.ok("notifications", as_user=other)
    by_ids = api.ok("mark_notifications_read", as_user=other, ids=ids)
    by_all = api.ok("mark_notifications_read", as_user=other, all=True)
    naming = api.call("notifications", as_user=other, user_id=str(inbox_user))

    assert seen == {"success": True, "notifications": [], "unread_count": 0, "next_before": None}
    assert by_ids == by_all == {"success": True, "marked": 0, "unread_count": 0}
    assert_error(naming, 403, "forbidden")
    assert api.ok("notifications", as_user=inbox_user)["unread_count"] == 4


@pytest.mark.parametrize(
    "params",
    [{}, {"all": False}, {"ids": [1], "all": True}, {"ids": []}, {"ids": [0]}, {"ids": ["1"]}],
)
def test_mark_read_wants_either_ids_or_all(api: Api, inbox_user: uuid.UUID, params: dict[str, Any]):
    answer = api.call("mark_notifications_read", as_user=inbox_user, **params)

    assert_error(answer, 400, "invalid_request")
    assert api.ok("notifications", as_user=inbox_user)["unread_count"] == 4


def test_a_service_reads_a_users_inbox_by_user_id(api: Api, inbox_user: uuid.UUID):
    own = api.ok("notifications", as_user=inbox_user)

    assert api.ok("notifications", service=True, user_id=str(inbox_user)) == own
    assert_error(api.call("notifications", service=True), 400, "invalid_request")


# The feed and preferences.


def test_the_feed_lists_awards_of_all_users_newest_first(iso_api: Api, iso_conn: Conn):
    """Pinned: order, the entry's shape and text, earned_at the award's; no next_before when
    the page is not full."""
    a, b = uuid.uuid4(), uuid.uuid4()
    made = [(a, "social_sharer"), (b, "streak_3d"), (a, "quiz_master_3")]
    for who, badge in made:
        award(iso_api, who, badge)

    page = feed_of(iso_api)

    keys = [(e["user_id"], e["badge"]["id"]) for e in page["entries"]]
    assert keys == [(str(who), badge) for who, badge in reversed(made)]
    assert page["next_before"] is None
    oldest = page["entries"][-1]
    assert oldest == {
        "user_id": str(a),
        "badge": {
            "id": "social_sharer",
            "name": "Social Sharer",
            "icon": "📣",
            "tier": "bronze",
            "category": "social",
        },
        "earned_at": oldest["earned_at"],
        "text": "earned Social Sharer",
    }
    earned_at = iso_conn.execute(
        "select earned_at from badges.awards where user_id = %s and badge_id = 'social_sharer'",
        (a,),
    ).fetchone()
    assert earned_at == (datetime.fromisoformat(oldest["earned_at"]),)


def test_feed_pages_are_stable_when_awards_arrive_between_them(iso_api: Api):
    users = [uuid.uuid4() for _ in range(5)]
    for who in users:
        award(iso_api, who, "social_sharer")

    first = feed_of(iso_api, limit=2)
    newcomer = uuid.uuid4()
    award(iso_api, newcomer, "social_sharer")
    second = feed_of(iso_api, limit=2, before=first["next_before"])
    last = feed_of(iso_api, limit=2, before=second["next_before"])

    pages = [first, second, last]
    seen = [e["user_id"] for page in pages for e in page["entries"]]
    assert seen == [str(who) for who in reversed(users)]
    assert [p["next_before"] is None for p in pages] == [False, False, True]
    assert feed_keys(iso_api, limit=1) == [(str(newcomer), "social_sharer")]


def test_feed_pages_through_awards_of_the_same_instant_without_repeats_or_gaps(
    iso_api: Api, iso_conn: Conn
):
    """Pinned: the cursor's (earned_at, user_id, badge_id) key breaks ties."""
    users = [uuid.uuid4() for _ in range(3)]
    for who in users:
        for badge in ("social_sharer", "streak_3d"):
            award(iso_api, who, badge)
    iso_conn.execute("update badges.awards set earned_at = '2026-01-01T00:00:00Z'")

    keys: list[tuple[str, str]] = []
    before, pages = None, 0
    while pages == 0 or before is not None:
        page = feed_of(iso_api, limit=2, **({"before": before} if before else {}))
        keys += [(e["user_id"], e["badge"]["id"]) for e in page["entries"]]
        before, pages = page["next_before"], pages + 1
    expected = sorted(((u, b) for u in users for b in ("social_sharer", "streak_3d")), reverse=True)
    assert keys == [(str(u), b) for u, b in expected]
    assert pages == 3  # the last page is full, and says there is no next one


def test_the_feed_leaves_out_awards_of_hidden_badges(iso_api: Api, iso_conn: Conn):
    a, b = uuid.uuid4(), uuid.uuid4()
    award(iso_api, a, "social_sharer")
    award(iso_api, a, "streak_7d")
    award(iso_api, b, "streak_7d")

    iso_conn.execute("update badges.definitions set hidden = true where id = 'streak_7d'")

    assert feed_keys(iso_api) == [(str(a), "social_sharer")]


def test_a_user_who_opts_out_of_the_feed_leaves_it_until_opting_back_in(iso_api: Api):
    """Pinned: preferences {} only reads; the opt-out holds for awards before and after it,
    also for a user who opts out before earning anything."""
    a, b, early = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    award(iso_api, a, "social_sharer")
    award(iso_api, b, "social_sharer")

    fresh = iso_api.ok("preferences", as_user=a)
    out = iso_api.ok("preferences", as_user=a, feed_opt_out=True)
    iso_api.ok("preferences", as_user=early, feed_opt_out=True)
    award(iso_api, early, "social_sharer")
    read = iso_api.ok("preferences", as_user=a)
    while_out = feed_keys(iso_api)
    back = iso_api.ok("preferences", as_user=a, feed_opt_out=False)

    assert fresh == {"success": True, "feed_opt_out": False, "profile_public": True}
    assert out == read == {"success": True, "feed_opt_out": True, "profile_public": True}
    assert while_out == [(str(b), "social_sharer")]
    assert back == {"success": True, "feed_opt_out": False, "profile_public": True}
    assert feed_keys(iso_api) == [(str(b), "social_sharer"), (str(a), "social_sharer")]


AT = "2026-01-01T00:00:00+00:00"
SOMEONE = str(uuid.UUID(int=1))


@pytest.mark.parametrize(
    "before",
    [
        pytest.param("garbage", id="not-base64-json"),
        pytest.param("", id="empty"),
        pytest.param("!!!", id="not-base64"),
        pytest.param("x" * 201, id="too-long"),
        pytest.param(5, id="a-number"),
        pytest.param(cursor_of([1, 2, 3]), id="numbers"),
        pytest.param(cursor_of({"a": 1, "b": 2, "c": 3}), id="an-object"),
        pytest.param(cursor_of(["2026-01-01T00:00:00", SOMEONE, "x"]), id="no-utc-offset"),
        pytest.param(cursor_of([AT, "not-a-uuid", "x"]), id="not-a-uuid"),
        pytest.param(cursor_of([AT, SOMEONE, 7]), id="badge-not-text"),
        pytest.param(cursor_of([AT, 5, "x"]), id="user-a-number"),
        pytest.param(cursor_of([AT, SOMEONE, "a\x00b"]), id="nul-in-badge"),
        pytest.param(cursor_of([AT, SOMEONE, "\ud800"]), id="lone-surrogate"),
    ],
)
def test_a_feed_cursor_the_feed_never_returned_is_invalid_request(api: Api, before: object):
    assert_error(api.call("feed", before=before), 400, "invalid_request")


# Push tokens.


def test_registering_a_push_token_stores_it_for_the_user(api: Api, conn: Conn, user: uuid.UUID):
    token = push_token()

    answer = api.ok("register_push_token", as_user=user, token=token, platform="ios")

    assert answer == {"success": True, "registered": True, "token_count": 1}
    row = conn.execute(
        "select user_id, platform from badges.push_tokens where token = %s", (token,)
    ).fetchone()
    assert row == (user, "ios")


def test_a_user_cannot_take_a_token_another_user_holds(api: Api, conn: Conn, user: uuid.UUID):
    token, other = push_token(), uuid.uuid4()
    api.ok("register_push_token", as_user=user, token=token, platform="ios")

    taken = api.call("register_push_token", as_user=other, token=token, platform="android")

    assert_error(taken, 409, "push_token_taken")
    assert push_tokens_of(conn, user) == [token]
    assert push_tokens_of(conn, other) == []
    row = conn.execute("select platform from badges.push_tokens where token = %s", (token,))
    assert row.fetchone() == ("ios",)


def test_a_service_moves_a_token_to_the_user_now_on_the_device(
    api: Api, conn: Conn, user: uuid.UUID
):
    token, other = push_token(), uuid.uuid4()
    api.ok("register_push_token", as_user=user, token=token, platform="ios")

    moved = api.ok(
        "register_push_token", service=True, user_id=str(other), token=token, platform="android"
    )
    again = api.ok("register_push_token", as_user=other, token=token, platform="android")

    assert moved == {"success": True, "registered": True, "token_count": 1}
    assert again == moved  # the holder registering again is no conflict
    assert push_tokens_of(conn, user) == []
    assert push_tokens_of(conn, other) == [token]


@pytest.mark.parametrize(
    "params",
    [
        {"token": "abc"},
        {"token": "ExponentPushToken[]"},
        {"token": "ExponentPushToken[has space]"},
        {"token": "ExponentPushToken[abc"},
        {"token": 5},
        {},
        {"token": "ExponentPushToken[abc]", "platform": "windows"},
    ],
)
def test_a_malformed_push_token_is_invalid_request(
    api: Api, conn: Conn, user: uuid.UUID, params: dict[str, Any]
):
    assert_error(api.call("register_push_token", as_user=user, **params), 400, "invalid_request")
    assert push_tokens_of(conn, user) == []


def test_unregistering_removes_the_users_token_once(api: Api, conn: Conn, user: uuid.UUID):
    token, theirs, other = push_token(), push_token(), uuid.uuid4()
    api.ok("register_push_token", as_user=user, token=token)
    api.ok("register_push_token", as_user=other, token=theirs)

    first = api.ok("unregister_push_token", as_user=user, token=token)
    again = api.ok("unregister_push_token", as_user=user, token=token)
    not_mine = api.ok("unregister_push_token", as_user=user, token=theirs)

    assert first == {"success": True, "removed": True}
    assert again == not_mine == {"success": True, "removed": False}
    assert push_tokens_of(conn, other) == [theirs]


def test_a_user_keeps_their_ten_most_recent_push_tokens(api: Api, conn: Conn, user: uuid.UUID):
    registered = [push_token() for _ in range(11)]

    counts = [
        api.ok("register_push_token", as_user=user, token=t)["token_count"] for t in registered
    ]

    assert counts == [*range(1, 11), 10]
    assert push_tokens_of(conn, user) == list(reversed(registered[1:]))


# The operators' actions.


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("deliver_notifications", {}),
        ("outbox", {"status": "dead"}),
        ("requeue_notifications", {"all": True}),
    ],
)
def test_the_delivery_actions_are_for_services_only(
    api: Api, user: uuid.UUID, action: str, params: dict[str, Any]
):
    assert_error(api.call(action, as_user=user, **params), 403, "forbidden")


def test_deliver_notifications_without_channels_delivers_due_rows_in_app_only(
    iso_api: Api, iso_conn: Conn
):
    a, b = uuid.uuid4(), uuid.uuid4()
    for who, badge in [(a, "social_sharer"), (a, "streak_3d"), (b, "social_sharer")]:
        award(iso_api, who, badge)

    first = iso_api.ok("deliver_notifications", service=True)
    again = iso_api.ok("deliver_notifications", service=True, max_seconds=5)

    assert first == {"success": True, "delivered": 3, "failed": 0, "dead": 0}
    assert again == {"success": True, "delivered": 0, "failed": 0, "dead": 0}
    rows = iso_conn.execute(
        "select status, attempts, delivered_channels, last_error from badges.outbox"
    ).fetchall()
    assert rows == [("delivered", 1, [], None)] * 3


def test_outbox_lists_dead_letters_and_requeue_makes_them_due_again(iso_api: Api, iso_conn: Conn):
    a, b = uuid.uuid4(), uuid.uuid4()
    award(iso_api, a, "social_sharer")
    award(iso_api, b, "social_sharer")
    dead, pending = outbox_row(iso_conn, a)["id"], outbox_row(iso_conn, b)["id"]
    iso_conn.execute(
        "update badges.outbox set status = 'dead', attempts = 10, last_error = 'webhook: HTTP 500',"
        " finished_at = now() where id = %s",
        (dead,),
    )

    listed = iso_api.ok("outbox", service=True, status="dead")
    pending_listed = iso_api.ok("outbox", service=True, status="pending")
    not_dead = iso_api.ok("requeue_notifications", service=True, ids=[pending])
    requeued = iso_api.ok("requeue_notifications", service=True, ids=[dead])

    assert [r["id"] for r in listed["notifications"]] == [dead]
    entry = listed["notifications"][0]
    assert entry["dedupe_key"] == f"badge.earned:{a}:social_sharer"
    assert (entry["user_id"], entry["badge_id"]) == (str(a), "social_sharer")
    assert (entry["status"], entry["attempts"]) == ("dead", 10)
    assert entry["last_error"] == "webhook: HTTP 500"
    assert listed["next_before"] is None
    assert [r["id"] for r in pending_listed["notifications"]] == [pending]
    assert not_dead == {"success": True, "requeued": 0}
    assert requeued == {"success": True, "requeued": 1}
    row = outbox_row(iso_conn, a)
    assert (row["status"], row["attempts"], row["finished_at"]) == ("pending", 0, None)
    assert iso_api.ok("outbox", service=True)["notifications"] == []
    assert iso_api.ok("deliver_notifications", service=True)["delivered"] == 2


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("outbox", {"status": "failed"}),
        ("requeue_notifications", {}),
        ("deliver_notifications", {"max_seconds": 0}),
    ],
)
def test_malformed_operator_requests_are_invalid_request(
    api: Api, action: str, params: dict[str, Any]
):
    assert_error(api.call(action, service=True, **params), 400, "invalid_request")

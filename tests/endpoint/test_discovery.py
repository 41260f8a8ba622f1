"""`badge` and `badge_holders` over HTTP: what a signed-in user and a service get, the 404 that
keeps a hidden badge secret, paging with the opaque cursor, and refused cursors.

One database of this module's own: holders are global to a badge.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from tests.endpoint.conftest import Api, MakeClient, Tokens

Conn = psycopg.Connection[tuple[Any, ...]]
SECRET_BADGE = "secret_handshake"


@pytest.fixture(scope="module")
def own_url(make_database: Callable[[], str]) -> str:
    """The module's database, with a hidden badge added to the v1 catalog."""
    url = make_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into badges.definitions (id, name, rule, hidden)"
            " values (%s, 'Secret Handshake', 'manual', true)",
            (SECRET_BADGE,),
        )
    return url


@pytest.fixture(scope="module")
def own(make_client: MakeClient, own_url: str, tokens: Tokens) -> Api:
    return Api(make_client(DATABASE_URL=own_url, BADGES_RATE_LIMIT_PER_MINUTE="0"), tokens)


@pytest.fixture
def own_conn(own_url: str) -> Iterator[Conn]:
    with psycopg.connect(own_url, autocommit=True) as conn:
        yield conn


def give(api: Api, user: uuid.UUID, badge_id: str) -> None:
    assert api.ok("award", service=True, user_id=str(user), badge_id=badge_id)["awarded"] is True


def holders(api: Api, badge_id: str, **params: Any) -> dict[str, Any]:
    return api.ok("badge_holders", as_user=uuid.uuid4(), badge_id=badge_id, **params)


def cursor_of(key: object) -> str:
    """A cursor as the function spells one, around any JSON."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def test_a_user_reads_a_badge_with_its_rarity_and_their_own_state(own: Api):
    holder, other = uuid.uuid4(), uuid.uuid4()
    own.ok("award", as_user=holder, badge_id="social_sharer")

    mine = own.ok("badge", as_user=holder, badge_id="social_sharer")
    theirs = own.ok("badge", as_user=other, badge_id="streak_3d")

    assert mine["badge"]["id"] == "social_sharer"
    assert mine["badge"]["rarity"]["earned_count"] >= 1
    assert mine["me"]["earned"] is True
    assert mine["me"]["progress"] is None
    assert theirs["me"] == {
        "earned": False,
        "earned_at": None,
        "progress": {"current": 0, "target": 3},
    }


def test_a_service_gets_the_badge_alone_or_with_the_state_of_the_user_it_names(own: Api):
    holder = uuid.uuid4()
    give(own, holder, "streak_7d")

    alone = own.ok("badge", service=True, badge_id="streak_7d")
    named = own.ok("badge", service=True, user_id=str(holder), badge_id="streak_7d")

    assert alone["me"] is None
    assert named["badge"] == alone["badge"]
    assert named["me"]["earned"] is True
    assert named["me"]["progress"] == {"current": 7, "target": 7}


def test_a_user_may_not_read_another_users_state_of_a_badge(own: Api):
    answer = own.call(
        "badge", as_user=uuid.uuid4(), user_id=str(uuid.uuid4()), badge_id="streak_3d"
    )

    assert (answer.status, answer.error) == (403, "forbidden")


@pytest.mark.parametrize("action", ["badge", "badge_holders"])
def test_a_hidden_badge_is_a_404_like_an_unknown_id_unless_the_caller_earned_it(
    own: Api, action: str
):
    holder = uuid.uuid4()
    give(own, holder, SECRET_BADGE)

    hidden = own.call(action, as_user=uuid.uuid4(), badge_id=SECRET_BADGE)
    unknown = own.call(action, as_user=uuid.uuid4(), badge_id="no_such_badge")
    to_a_service = own.call(action, service=True, badge_id=SECRET_BADGE)
    to_its_holder = own.call(action, as_user=holder, badge_id=SECRET_BADGE)

    for answer, badge_id in ((hidden, SECRET_BADGE), (unknown, "no_such_badge")):
        assert answer.status == 404
        assert answer.body == {
            "success": False,
            "error": {
                "code": "unknown_badge",
                "message": f"Unknown badge: No visible badge has the id '{badge_id}'.",
            },
        }
    assert to_a_service.status == 404
    assert to_its_holder.status == 200, to_its_holder.body


def test_badge_holders_pages_newest_first_with_the_cursor_across_ties(own: Api, own_conn: Conn):
    """streak_30d, held by five users only here, three of them at the same instant; one more
    holder has a private profile and is never listed."""
    users = [uuid.uuid4() for _ in range(6)]
    for user in users:
        give(own, user, "streak_30d")
    private = users.pop()
    own_conn.execute(
        "update badges.users set profile_public = false where user_id = %s", (private,)
    )
    own_conn.execute(
        "update badges.awards set earned_at = case"
        " when user_id = %s then '2026-01-02T00:00:00Z'::timestamptz"
        " when user_id = %s then '2025-12-31T00:00:00Z' else '2026-01-01T00:00:00Z' end"
        " where badge_id = 'streak_30d'",
        (users[0], users[1]),
    )

    pages, after = [], None
    while not pages or after is not None:
        page = holders(own, "streak_30d", limit=2, **({"after": after} if after else {}))
        pages.append(page)
        after = page["next_after"]

    tied = sorted(users[2:], reverse=True)
    expected = [users[0], *tied, users[1]]
    seen = [entry["user_id"] for page in pages for entry in page["entries"]]
    assert seen == [str(u) for u in expected]
    assert [len(p["entries"]) for p in pages] == [2, 2, 1]
    assert all(isinstance(p["next_after"], str) for p in pages[:-1])
    assert set(pages[0]["entries"][0]) == {"user_id", "earned_at"}
    assert pages[0]["entries"][0]["earned_at"] == "2026-01-02T00:00:00+00:00"


@pytest.mark.parametrize(
    "after",
    [
        pytest.param("not a cursor", id="garbage"),
        pytest.param(cursor_of(["2026-01-01T00:00:00+00:00"]), id="too-short"),
        pytest.param(
            cursor_of(["2026-01-01T00:00:00+00:00", str(uuid.uuid4()), "social_sharer"]),
            id="a-feed-cursor",
        ),
        pytest.param(
            cursor_of([3, "2026-01-01T00:00:00+00:00", str(uuid.uuid4())]), id="a-board-cursor"
        ),
        pytest.param(cursor_of(["2026-01-01T00:00:00", str(uuid.uuid4())]), id="no-utc-offset"),
        pytest.param(cursor_of(["2026-01-01T00:00:00+00:00", "nope"]), id="not-a-uuid"),
        pytest.param(cursor_of({"earned_at": "2026-01-01T00:00:00Z"}), id="an-object"),
    ],
)
def test_a_cursor_badge_holders_did_not_return_is_invalid_request(own: Api, after: str):
    answer = own.call("badge_holders", as_user=uuid.uuid4(), badge_id="streak_3d", after=after)

    assert answer.status == 400
    assert answer.body["error"] == {
        "code": "invalid_request",
        "message": "Invalid after: not a cursor of this badge's holders.",
    }


def test_a_cursor_with_an_offset_postgres_refuses_is_invalid_request_not_a_500(own: Api):
    after = cursor_of(["2026-01-01T00:00:00+16:00", str(uuid.uuid4())])

    answer = own.call("badge_holders", as_user=uuid.uuid4(), badge_id="streak_3d", after=after)

    assert (answer.status, answer.error) == (400, "invalid_request")


@pytest.mark.parametrize("limit", [0, 101, "20", 2.5])
def test_a_limit_out_of_bounds_or_not_an_integer_is_invalid_request(own: Api, limit: object):
    answer = own.call("badge_holders", service=True, badge_id="streak_3d", limit=limit)

    assert (answer.status, answer.error) == (400, "invalid_request")

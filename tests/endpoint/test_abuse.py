"""Abuse of client-driven writes: the per-user rate limit lives in the database, so it holds
across function instances; a client badge with rule `shared` is earned only when a different
user opens the sharer's link, which the server observes, never on the sharer's word."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from badges.catalog import load_catalog
from badges.store.db import BadgesDb
from badges.store.postgres import PostgresStore
from tests.endpoint.conftest import Api, MakeClient, Tokens

Conn = psycopg.Connection[tuple[Any, ...]]
PROVIDERS = ("openai", "anthropic", "google", "meta", "mistral")
VERIFIED = {"id": "verified_sharer", "name": "Verified Sharer", "rule": "shared", "icon": "🔗"}


def scores_of(conn: Conn, user: uuid.UUID) -> int:
    row = conn.execute("select count(*) from badges.quiz_scores where user_id = %s", (user,))
    return int((row.fetchone() or (0,))[0])


def test_the_rate_limit_holds_across_function_instances_and_a_limited_write_changes_nothing(
    make_client: MakeClient, iso_url: str, iso_conn: Conn, user: uuid.UUID
):
    limits = {"BADGES_RATE_LIMIT_BURST": "3", "BADGES_RATE_LIMIT_PER_MINUTE": "1"}
    instances = [Api(make_client(DATABASE_URL=iso_url, **limits), Tokens()) for _ in range(2)]

    answers = [
        instances[i % 2].call("record_score", as_user=user, provider_id=p, quiz_correct=True)
        for i, p in enumerate(PROVIDERS)
    ]

    assert [a.status for a in answers] == [200, 200, 200, 429, 429]
    assert {a.error for a in answers[3:]} == {"rate_limited"}
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers[3:])
    assert scores_of(iso_conn, user) == 3


@pytest.fixture
def shared_api(make_client: MakeClient, iso_url: str) -> Api:
    """The v1 catalog plus a badge earned by a share someone else opens."""
    store = PostgresStore(iso_url, pool_size=1)
    payload = load_catalog().sync_payload()
    BadgesDb(store).sync_catalog(payload | {"badges": [*payload["badges"], VERIFIED]})
    store.close()
    return Api(make_client(DATABASE_URL=iso_url), Tokens())


def earned(api: Api, user: uuid.UUID) -> set[str]:
    return {b["id"] for b in api.ok("list", as_user=user)["badges"] if b["earned"]}


def test_a_shared_badge_cannot_be_awarded_on_the_sharers_word(shared_api: Api, user: uuid.UUID):
    answer = shared_api.call("award", as_user=user, badge_id="verified_sharer")

    assert (answer.status, answer.error) == (403, "forbidden")
    assert "verified_sharer" not in earned(shared_api, user)


def test_a_share_counts_once_per_other_user_and_awards_the_sharer(
    shared_api: Api, iso_conn: Conn, user: uuid.UUID
):
    friend, stranger = uuid.uuid4(), uuid.uuid4()
    share = shared_api.ok("share", as_user=user, badge_id="verified_sharer")
    again = shared_api.ok("share", as_user=user, badge_id="verified_sharer")
    sid = share["share_id"]

    own = shared_api.ok("share_opened", as_user=user, share_id=sid)
    assert "verified_sharer" not in earned(shared_api, user)
    first = shared_api.ok("share_opened", as_user=friend, share_id=sid)
    repeat = shared_api.ok("share_opened", as_user=friend, share_id=sid)
    other = shared_api.ok("share_opened", as_user=stranger, share_id=sid)

    assert again["share_id"] == sid
    assert len(sid) == 32
    assert [a["counted"] for a in (own, first, repeat, other)] == [False, True, False, True]
    assert "verified_sharer" in earned(shared_api, user)
    assert earned(shared_api, friend) == set()
    row = iso_conn.execute(
        "select count(*) from badges.notifications where user_id = %s and badge_id = %s",
        (user, "verified_sharer"),
    ).fetchone()
    assert row == (1,)


def opened_by_anonymous(api: Api, share_id: str) -> tuple[int, dict[str, Any]]:
    """share_opened by a fresh anonymous Supabase sign-in (is_anonymous: true in its token)."""
    token = api.tokens.user(uuid.uuid4(), is_anonymous=True)
    answer = api.post({"action": "share_opened", "share_id": share_id}, token)
    return answer.status, answer.body


def test_an_anonymous_sign_in_cannot_open_a_share_for_credit(
    shared_api: Api, iso_conn: Conn, user: uuid.UUID
):
    sid = shared_api.ok("share", as_user=user, badge_id="verified_sharer")["share_id"]

    # Each anonymous sign-in is a new user id: three of them would otherwise earn the badge.
    answers = [opened_by_anonymous(shared_api, sid) for _ in range(3)]

    assert {status for status, _ in answers} == {403}
    assert {body["error"]["code"] for _, body in answers} == {"forbidden"}
    assert "anonymous" in answers[0][1]["error"]["message"]
    assert "verified_sharer" not in earned(shared_api, user)
    opened = iso_conn.execute("select count(*) from badges.share_opens").fetchone()
    assert opened == (0,)


def test_anonymous_openers_count_where_the_setting_allows_them(
    make_client: MakeClient, iso_url: str, shared_api: Api, user: uuid.UUID
):
    allowing = Api(make_client(DATABASE_URL=iso_url, BADGES_SHARE_ALLOW_ANONYMOUS="true"), Tokens())
    sid = shared_api.ok("share", as_user=user, badge_id="verified_sharer")["share_id"]

    status, body = opened_by_anonymous(allowing, sid)

    assert (status, body["counted"]) == (200, True)


@pytest.mark.parametrize(
    ("action", "params", "status", "code"),
    [
        ("share_opened", {"share_id": "0" * 32}, 404, "unknown_share"),
        ("share_opened", {"share_id": "not-a-share"}, 400, "invalid_request"),
        ("share", {"badge_id": "social_sharer"}, 400, "invalid_request"),
        ("share", {"badge_id": "no_such_badge"}, 404, "unknown_badge"),
    ],
)
def test_share_errors_are_the_documented_ones(
    shared_api: Api, user: uuid.UUID, action: str, params: dict[str, Any], status: int, code: str
):
    answer = shared_api.call(action, as_user=user, **params)
    assert (answer.status, answer.error) == (status, code)

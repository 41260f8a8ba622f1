"""badges.leaderboard and badges.score_leaderboard: competition ranks, ties, paging and `me`.

Ranks and totals are over all users, so nothing here uses the shared database: the read-only
tests share one seeded database per board (module scope), the others take their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from badges.store.db import BadgesDb
from badges.store.postgres import PostgresStore
from tests.sql.conftest import CATALOG_BADGES, PROVIDERS


def give_badges(db: BadgesDb, user: UUID, n: int) -> None:
    for badge_id in CATALOG_BADGES[:n]:
        db.award_badge(user, badge_id, client=False)


def give_correct_answers(db: BadgesDb, user: UUID, n: int) -> None:
    for provider in PROVIDERS[:n]:
        db.record_score(user, provider, True)


@dataclass(frozen=True)
class Board:
    function: str
    counter: str
    give: Callable[[BadgesDb, UUID, int], None]

    def read(self, db: BadgesDb, me: UUID | None, limit: int = 50, offset: int = 0) -> Any:
        return getattr(db, self.function)(me, limit, offset)

    def entry(self, rank: int, user: UUID, value: int) -> dict[str, Any]:
        return {"rank": rank, "user_id": str(user), self.counter: value}


BOARDS = [
    pytest.param(Board("leaderboard", "badge_count", give_badges), id="badges"),
    pytest.param(Board("score_leaderboard", "correct_count", give_correct_answers), id="score"),
]


@dataclass(frozen=True)
class Seeded:
    board: Board
    db: BadgesDb
    users: dict[str, UUID]

    def read(self, me: UUID | None, limit: int = 50, offset: int = 0) -> Any:
        return self.board.read(self.db, me, limit, offset)


@pytest.fixture(scope="module", params=BOARDS)
def seeded(request: pytest.FixtureRequest, make_database: Callable[[], str]) -> Iterator[Seeded]:
    """A database of its own with four users on the board, valued 3, 2, 2, 1: `first` reached 2
    before `second` although its id sorts after it, so the id is not what breaks the tie.
    Tests using it only read."""
    board: Board = request.param
    store = PostgresStore(make_database(), pool_size=2)
    db = BadgesDb(store)
    low_id, high_id = sorted([uuid4(), uuid4()])
    users = {"top": uuid4(), "first": high_id, "second": low_id, "last": uuid4()}
    for name, value in (("top", 3), ("first", 2), ("second", 2), ("last", 1)):
        board.give(db, users[name], value)
    try:
        yield Seeded(board, db, users)
    finally:
        store.close()


def test_ties_share_a_rank_and_the_next_rank_skips(seeded: Seeded):
    """Competition ranking "1224"; within a tie whoever reached the value first is first."""
    board, four = seeded.board, seeded.users
    result = seeded.read(None)

    assert result["entries"] == [
        board.entry(1, four["top"], 3),
        board.entry(2, four["first"], 2),
        board.entry(2, four["second"], 2),
        board.entry(4, four["last"], 1),
    ]
    assert result["total"] == 4
    assert result["me"] is None


@pytest.mark.parametrize(
    ("limit", "offset", "names", "ranks"),
    [
        (2, 0, ["top", "first"], [1, 2]),
        (2, 1, ["first", "second"], [2, 2]),
        (2, 2, ["second", "last"], [2, 4]),
        (10, 3, ["last"], [4]),
        (10, 4, [], []),
        (1, 0, ["top"], [1]),
    ],
)
def test_paging_keeps_global_ranks(
    seeded: Seeded, limit: int, offset: int, names: list[str], ranks: list[int]
):
    result = seeded.read(None, limit, offset)

    assert [(e["user_id"], e["rank"]) for e in result["entries"]] == [
        (str(seeded.users[n]), r) for n, r in zip(names, ranks, strict=True)
    ]
    assert result["total"] == 4


@pytest.mark.parametrize(
    ("name", "rank", "value"),
    [("top", 1, 3), ("first", 2, 2), ("second", 2, 2), ("last", 4, 1)],
)
def test_me_is_the_callers_entry_even_off_the_page(
    seeded: Seeded, name: str, rank: int, value: int
):
    user = seeded.users[name]
    result = seeded.read(user, limit=1, offset=0)

    assert result["me"] == seeded.board.entry(rank, user, value)
    assert len(result["entries"]) == 1


def test_me_is_null_for_a_user_not_on_the_board(seeded: Seeded):
    assert seeded.read(uuid4())["me"] is None


@pytest.mark.parametrize("board", BOARDS)
def test_total_counts_only_users_above_zero(iso_db: BadgesDb, board: Board):
    assert board.read(iso_db, None) == {
        "entries": [],
        "me": None,
        "total": 0,
        "next_after": None,
    }
    board.give(iso_db, uuid4(), 1)
    board.give(iso_db, uuid4(), 2)

    assert board.read(iso_db, None)["total"] == 2


def test_a_user_back_at_zero_badges_leaves_the_badge_board(iso_db: BadgesDb):
    board = Board("leaderboard", "badge_count", give_badges)
    stays, leaves = uuid4(), uuid4()
    give_badges(iso_db, stays, 1)
    iso_db.award_badge(leaves, "social_sharer", client=False)
    iso_db.revoke_badge(leaves, "social_sharer", "test", "test")

    result = board.read(iso_db, leaves)

    assert result == {
        "entries": [board.entry(1, stays, 1)],
        "me": None,
        "total": 1,
        "next_after": None,
    }


def test_a_revoked_badge_lowers_the_rank(iso_db: BadgesDb):
    board = Board("leaderboard", "badge_count", give_badges)
    a, b = uuid4(), uuid4()
    give_badges(iso_db, a, 2)
    give_badges(iso_db, b, 1)
    iso_db.revoke_badge(a, CATALOG_BADGES[0], "test", "test")
    iso_db.revoke_badge(a, CATALOG_BADGES[1], "test", "test")
    give_badges(iso_db, a, 1)

    assert board.read(iso_db, a)["entries"] == [board.entry(1, b, 1), board.entry(1, a, 1)]


def after_key(page: dict[str, Any]) -> tuple[int, datetime, UUID] | None:
    """The BoardKey of a page's next_after (as the function's cursor carries it)."""
    key = page["next_after"]
    if key is None:
        return None
    return key["value"], datetime.fromisoformat(key["at"]), UUID(key["user_id"])


@pytest.fixture(scope="module")
def wide(make_database: Callable[[], str]) -> Iterator[BadgesDb]:
    """A badge board of 24 users valued 1 to 6 (four users per value, reached in turn)."""
    store = PostgresStore(make_database(), pool_size=2)
    db = BadgesDb(store)
    for i in range(24):
        give_badges(db, uuid4(), 1 + i % 6)
    try:
        yield db
    finally:
        store.close()


def test_offset_pages_start_at_the_right_entry_in_any_value_and_keep_global_ranks(wide: BadgesDb):
    whole = wide.leaderboard(None, 100, 0)["entries"]
    assert [e["rank"] for e in whole] == [1 + 4 * (i // 4) for i in range(24)]

    for offset in range(26):
        page = wide.leaderboard(None, 5, offset)
        assert page["entries"] == whole[offset : offset + 5], offset
        assert (page["next_after"] is not None) == (offset + 5 < 24)


def test_keyset_pages_walk_the_whole_board_in_order_once(wide: BadgesDb):
    whole = wide.leaderboard(None, 100, 0)["entries"]
    walked: list[dict[str, Any]] = []
    page = wide.leaderboard(None, 5, 0)
    while True:
        walked += page["entries"]
        key = after_key(page)
        if key is None:
            break
        page = wide.leaderboard(None, 5, 0, key)
    assert walked == whole


def test_a_keyset_page_is_the_same_as_the_offset_page_after_its_key(wide: BadgesDb):
    for offset in (1, 4, 7, 19):
        key = after_key(wide.leaderboard(None, offset, 0))
        assert key is not None
        assert wide.leaderboard(None, 5, 0, key) == wide.leaderboard(None, 5, offset)


def test_me_and_total_are_the_same_from_the_top_at_an_offset_and_after_a_cursor(wide: BadgesDb):
    """The top and cursor pages sum the per-value counts; an offset page ranks every value:
    the two ways agree, for every user, wherever the page starts."""
    whole = wide.leaderboard(None, 100, 0)["entries"]
    key = after_key(wide.leaderboard(None, 7, 0))
    for entry in whole:
        me = UUID(entry["user_id"])
        answers = [
            wide.leaderboard(me, 3, 0),
            wide.leaderboard(me, 3, 9),
            wide.leaderboard(me, 3, 0, key),
        ]
        assert [(a["me"], a["total"]) for a in answers] == [(entry, 24)] * 3

"""Discovery: badges.get_badge (one badge, its rarity and the caller's state of it) and
badges.badge_holders (a badge's public holders, newest first, keyset-paged).

Holders are global to a badge, so those tests take a database of their own (iso_db); the
caller's own state is read on the shared database with fresh users.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from badges.errors import UnknownBadge
from badges.store.db import BadgesDb, HolderKey
from tests.sql.conftest import Conn, rows
from tests.sql.rules_fixtures import listed

JsonObject = dict[str, Any]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def hold(db: BadgesDb, conn: Conn, user: UUID, badge_id: str, at: datetime) -> None:
    """An award of badge_id to user, earned at `at` (set in SQL: awards are made now)."""
    db.award_badge(user, badge_id, client=False)
    conn.execute(
        "update badges.awards set earned_at = %s where user_id = %s and badge_id = %s",
        (at, user, badge_id),
    )


def key(next_after: JsonObject | None) -> HolderKey | None:
    """The next_after of a page as the cursor the next call takes."""
    if next_after is None:
        return None
    return datetime.fromisoformat(next_after["earned_at"]), UUID(next_after["user_id"])


def every_page(
    db: BadgesDb, badge_id: str, limit: int, viewer: UUID | None = None
) -> list[list[JsonObject]]:
    """Each page of the badge's holders, following next_after to the last page."""
    pages, after = [], None
    while True:
        page = db.badge_holders(viewer, badge_id, limit, after)
        pages.append(page["entries"])
        after = key(page["next_after"])
        if after is None:
            return pages
        assert len(pages) < 100, "the cursor does not advance"


def holder_ids(pages: list[list[JsonObject]]) -> list[str]:
    return [e["user_id"] for page in pages for e in page]


def newest_first(holders: dict[UUID, datetime]) -> list[str]:
    """The order badge_holders promises: earned_at descending, then user_id descending."""
    ordered = sorted(holders, key=lambda u: (holders[u], u), reverse=True)
    return [str(u) for u in ordered]


def unknown_badge(badge_id: str) -> str:
    """The one message for an id no badge has and for a badge the caller may not see."""
    return f"Unknown badge: No visible badge has the id {badge_id!r}."


# --- badge_holders: order and paging ------------------------------------------------------------


def test_holders_are_listed_newest_first_then_by_user_id_descending(
    iso_db: BadgesDb, iso_conn: Conn
):
    low, high = sorted([uuid4(), uuid4()])
    times = {uuid4(): T0, high: T0 + timedelta(days=1), low: T0 + timedelta(days=1)}
    newest = uuid4()
    times[newest] = T0 + timedelta(days=2)
    for user, at in times.items():
        hold(iso_db, iso_conn, user, "streak_7d", at)

    page = iso_db.badge_holders(None, "streak_7d", 10)

    assert [e["user_id"] for e in page["entries"]] == newest_first(times)
    assert [e["user_id"] for e in page["entries"]][1:3] == [str(high), str(low)]
    assert page["entries"][0] == {
        "user_id": str(newest),
        "earned_at": (T0 + timedelta(days=2)).isoformat(),
    }
    assert page["next_after"] is None


@pytest.mark.parametrize(("limit", "sizes"), [(2, [2, 2, 2, 2]), (3, [3, 3, 2]), (8, [8])])
def test_pages_follow_the_cursor_across_ties_of_earned_at_without_repeats_or_gaps(
    iso_db: BadgesDb, iso_conn: Conn, limit: int, sizes: list[int]
):
    """Six holders share one instant, so only user_id tells them apart; a full last page says
    there is no next one."""
    times = {uuid4(): T0 for _ in range(6)}
    times |= {uuid4(): T0 - timedelta(hours=1), uuid4(): T0 + timedelta(seconds=1)}
    for user, at in times.items():
        hold(iso_db, iso_conn, user, "social_sharer", at)

    pages = every_page(iso_db, "social_sharer", limit)

    assert [len(p) for p in pages] == sizes
    assert holder_ids(pages) == newest_first(times)


def test_an_award_made_between_pages_neither_shifts_nor_repeats_the_next_page(
    iso_db: BadgesDb, iso_conn: Conn
):
    times = {uuid4(): T0 - timedelta(minutes=i) for i in range(4)}
    for user, at in times.items():
        hold(iso_db, iso_conn, user, "social_sharer", at)

    first = iso_db.badge_holders(None, "social_sharer", 2)
    newcomer = uuid4()
    iso_db.award_badge(newcomer, "social_sharer", client=True)  # now: the newest holder
    second = iso_db.badge_holders(None, "social_sharer", 2, key(first["next_after"]))

    assert holder_ids([first["entries"], second["entries"]]) == newest_first(times)
    assert second["next_after"] is None
    assert iso_db.badge_holders(None, "social_sharer", 1)["entries"][0]["user_id"] == str(newcomer)


def test_a_badge_nobody_holds_has_one_empty_page(iso_db: BadgesDb):
    assert iso_db.badge_holders(uuid4(), "streak_30d", 20) == {"entries": [], "next_after": None}


# --- badge_holders: who is listed ---------------------------------------------------------------


def test_holders_with_a_private_profile_are_left_out_and_those_without_a_users_row_count_as_public(
    iso_db: BadgesDb, iso_conn: Conn
):
    """Pinned: a private holder between two public ones is skipped within a page and across a
    page boundary; a holder the service has no users row for is listed."""
    public, private, unregistered, last = (uuid4() for _ in range(4))
    times = {public: T0, private: T0 - timedelta(hours=1), unregistered: T0 - timedelta(hours=2)}
    times[last] = T0 - timedelta(hours=3)
    for user, at in times.items():
        hold(iso_db, iso_conn, user, "social_sharer", at)
    iso_conn.execute(
        "update badges.users set profile_public = false where user_id = %s", (private,)
    )
    iso_conn.execute("delete from badges.users where user_id = %s", (unregistered,))

    one_by_one = every_page(iso_db, "social_sharer", 1)
    at_once = every_page(iso_db, "social_sharer", 10)

    expected = [str(public), str(unregistered), str(last)]
    assert holder_ids(one_by_one) == holder_ids(at_once) == expected
    assert str(private) not in json.dumps([one_by_one, at_once])


def test_a_holder_who_makes_their_profile_public_again_is_listed_again(
    iso_db: BadgesDb, iso_conn: Conn
):
    user = uuid4()
    hold(iso_db, iso_conn, user, "streak_3d", T0)
    iso_conn.execute("update badges.users set profile_public = false where user_id = %s", (user,))
    hidden = iso_db.badge_holders(None, "streak_3d", 10)["entries"]
    iso_conn.execute("update badges.users set profile_public = true where user_id = %s", (user,))

    assert hidden == []
    assert holder_ids([iso_db.badge_holders(None, "streak_3d", 10)["entries"]]) == [str(user)]


# --- visibility: hidden, disabled, unknown ------------------------------------------------------


@pytest.fixture
def hidden_holder(iso_db: BadgesDb, iso_conn: Conn) -> UUID:
    """streak_30d made hidden, held by one user (whose id this is)."""
    holder = uuid4()
    hold(iso_db, iso_conn, holder, "streak_30d", T0)
    iso_conn.execute("update badges.definitions set hidden = true where id = 'streak_30d'")
    return holder


@pytest.mark.parametrize("viewer", ["a user who does not hold it", "a service naming no user"])
def test_a_hidden_badge_is_unknown_unless_the_viewer_holds_it(
    iso_db: BadgesDb, hidden_holder: UUID, viewer: str
):
    """Pinned: the same 404 and message as an id no badge has, for both actions."""
    who = uuid4() if viewer.startswith("a user") else None
    for read in (
        lambda badge_id: iso_db.badge_holders(who, badge_id, 10),
        lambda badge_id: iso_db.get_badge(who, badge_id),
    ):
        with pytest.raises(UnknownBadge) as hidden:
            read("streak_30d")
        with pytest.raises(UnknownBadge) as unknown:
            read("no_such_badge")
        assert hidden.value.message == unknown_badge("streak_30d")
        assert unknown.value.message == unknown_badge("no_such_badge")


def test_the_holder_of_a_hidden_badge_sees_it_and_its_holders(
    iso_db: BadgesDb, hidden_holder: UUID
):
    holders = iso_db.badge_holders(hidden_holder, "streak_30d", 10)
    shown = iso_db.get_badge(hidden_holder, "streak_30d")

    assert holder_ids([holders["entries"]]) == [str(hidden_holder)]
    assert shown["badge"]["hidden"] is True
    assert shown["me"] == {
        "earned": True,
        "earned_at": T0.isoformat(),
        "progress": {"current": 30, "target": 30},
    }


def test_a_disabled_badge_has_no_holders_to_show_even_to_one_but_badge_shows_it_to_its_holders(
    iso_db: BadgesDb, iso_conn: Conn
):
    """badge_holders: a disabled badge is unknown (the issue's rule); badge: visible as in
    list, where a user keeps seeing a badge they earned after it is disabled."""
    holder, other = uuid4(), uuid4()
    hold(iso_db, iso_conn, holder, "streak_7d", T0)
    iso_conn.execute("update badges.definitions set enabled = false where id = 'streak_7d'")

    with pytest.raises(UnknownBadge) as holders:
        iso_db.badge_holders(holder, "streak_7d", 10)
    with pytest.raises(UnknownBadge) as not_earned:
        iso_db.get_badge(other, "streak_7d")
    earned = iso_db.get_badge(holder, "streak_7d")

    assert holders.value.message == not_earned.value.message == unknown_badge("streak_7d")
    assert earned["me"]["earned"] is True
    assert listed(iso_db.list_badges(holder), "streak_7d") == earned["badge"] | earned["me"]


# --- badge: the definition, rarity and the caller's state ---------------------------------------


def test_badge_is_the_catalog_entry_with_rarity_and_the_callers_state_as_list_shows_them(
    iso_db: BadgesDb,
):
    """Four users known, two holding social_sharer: 50.0 percent. The answer is the catalog's
    entry and the list's state of the same badge, for each caller."""
    sharers, quizzer = (uuid4(), uuid4()), uuid4()
    for sharer in sharers:
        iso_db.award_badge(sharer, "social_sharer", client=True)
    iso_db.record_score(quizzer, "openai", True)
    iso_db.record_score(quizzer, "google", True)
    iso_db.record_activity(uuid4(), "UTC")

    sharer = iso_db.get_badge(sharers[0], "social_sharer")
    quiz = iso_db.get_badge(quizzer, "quiz_master_3")

    assert sharer["badge"]["rarity"] == {"earned_count": 2, "earned_percent": 50.0}
    assert quiz["badge"]["rarity"] == {"earned_count": 0, "earned_percent": 0.0}
    assert quiz["me"] == {
        "earned": False,
        "earned_at": None,
        "progress": {"current": 2, "target": 3},
    }
    assert sharer["me"]["earned"] is True
    assert sharer["me"]["progress"] is None  # a client badge has no numeric goal
    catalog = iso_db.get_catalog()
    for user, answer in ((sharers[0], sharer), (quizzer, quiz)):
        badge_id = answer["badge"]["id"]
        assert answer["badge"] == listed(catalog, badge_id)
        assert answer["badge"] | answer["me"] == listed(iso_db.list_badges(user), badge_id)


def test_an_earned_badge_shows_when_it_was_earned_and_its_goal_reached(
    db: BadgesDb, conn: Conn, user: UUID
):
    for provider in ("openai", "google", "meta", "mistral"):
        db.record_score(user, provider, True)  # quiz_master_3 at the third

    mine = db.get_badge(user, "quiz_master_3")["me"]

    earned_at = rows(
        conn,
        "select earned_at from badges.awards where user_id = %s and badge_id = 'quiz_master_3'",
        user,
    )
    assert mine == {
        "earned": True,
        "earned_at": mine["earned_at"],
        "progress": {"current": 3, "target": 3},
    }
    assert earned_at == [(datetime.fromisoformat(mine["earned_at"]),)]


def test_a_service_naming_no_user_gets_the_badge_without_a_personal_part(db: BadgesDb, user: UUID):
    db.award_badge(user, "social_sharer", client=True)

    anonymous = db.get_badge(None, "social_sharer")

    assert anonymous["me"] is None
    assert anonymous["badge"] == db.get_badge(user, "social_sharer")["badge"]


def test_badge_tells_a_user_their_own_state_never_another_users(db: BadgesDb):
    holder, other = uuid4(), uuid4()
    db.award_badge(holder, "social_sharer", client=True)
    db.record_score(holder, "openai", True)
    db.record_activity(other, "UTC")

    theirs = db.get_badge(other, "social_sharer")
    quiz = db.get_badge(other, "quiz_master_3")

    assert theirs["me"] == {"earned": False, "earned_at": None, "progress": None}
    assert quiz["me"]["progress"] == {"current": 0, "target": 3}
    assert str(holder) not in json.dumps([theirs, quiz])

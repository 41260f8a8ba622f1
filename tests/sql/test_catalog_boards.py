"""Catalog leaderboards: periods in the board's time zone, the increase within a period, the
same ranking rules as the built-in boards (competition ranks, ties by who reached the value
first, then user id), paging and around_me, history archived once (by the batch or the first
read, concurrently), rank badges with their placings, and the refill of a board from the record.

Time travel: track takes p_at (a service's dated event), which puts the event in the period it
falls in; a period is final five minutes after its end. Each test has its own database with the
catalog below.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import psycopg
import pytest

from badges.catalog import load_catalog, parse_catalog
from badges.errors import InvalidRequest, UnknownMetric
from badges.store.db import BadgesDb, BoardPage
from tests.sql.conftest import Conn, call, rows

LA = ZoneInfo("America/Los_Angeles")
WEEK = timedelta(days=7)

CATALOG = """
[[metrics]]
id = "points"
name = "Points"
user_trackable = true
user_max_amount = 10

[[leaderboards]]
id = "weekly_points"
name = "Points this week"
metric = "points"
period = "weekly"
timezone = "America/Los_Angeles"

[[leaderboards]]
id = "sunday_weeks"
name = "Points, weeks from Sunday"
metric = "points"
period = "weekly"
timezone = "America/Los_Angeles"
week_start = "sunday"

[[leaderboards]]
id = "all_points"
name = "Points, all time"
metric = "points"

[[leaderboards]]
id = "daily_badges"
name = "Badges today"
metric = "badge_count"
period = "daily"

[[leaderboards]]
id = "monthly_quiz"
name = "Quiz this month"
metric = "quiz_correct"
period = "monthly"

[[leaderboards]]
id = "winter"
name = "Winter season"
metric = "points"
period = "season"
starts_at = 2026-12-21T00:00:00Z
ends_at = 2027-03-20T00:00:00Z

[[badges]]
id = "weekly_podium"
name = "Podium"
description = "Top 3 of a week."
rule = "rank"
board = "weekly_points"
threshold = 3
tier = "gold"
"""


def payload(extra: str = "") -> dict[str, Any]:
    """The v1 catalog plus the boards above (and extra TOML)."""
    v1 = load_catalog().sync_payload()
    ours = parse_catalog(CATALOG + extra).sync_payload()
    return {
        **v1,
        **{k: ours[k] for k in ("metrics", "leaderboards")},
        "badges": v1["badges"] + ours["badges"],
    }


@pytest.fixture
def boards(iso_db: BadgesDb, iso_conn: Conn) -> Iterator[Conn]:
    iso_db.sync_catalog(payload())
    # The boards existed long before the events the tests date into past periods.
    iso_conn.execute("update badges.leaderboards set created_at = '2020-01-01'")
    return iso_conn


def track(conn: Conn, user: UUID, amount: int, at: datetime | None = None) -> None:
    call(conn, "track", p_user_id=user, p_metric="points", p_amount=amount, p_client=False, p_at=at)


def page(
    conn: Conn,
    board: str,
    period: str | None = None,
    me: UUID | None = None,
    limit: int = 10,
    offset: int = 0,
) -> dict[str, Any]:
    result: dict[str, Any] = call(
        conn,
        "board_leaderboard",
        p_user_id=me,
        p_board_id=board,
        p_period=period,
        p_limit=limit,
        p_offset=offset,
    )
    return result


def ranking(answer: dict[str, Any]) -> list[tuple[int, str, int]]:
    return [(e["rank"], e["user_id"], e["value"]) for e in answer["entries"]]


def ids(n: int) -> list[UUID]:
    return sorted(uuid4() for _ in range(n))


def this_week_start(now: datetime) -> datetime:
    local = now.astimezone(LA)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday, datetime.min.time(), LA)


# --- periods ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("board", "local", "expected"),
    [
        # Sunday 23:30 in Los Angeles is Monday 07:30 UTC: it counts in the week it ends.
        ("weekly_points", datetime(2026, 11, 29, 23, 30, tzinfo=LA), date(2026, 11, 23)),
        ("weekly_points", datetime(2026, 11, 30, 0, 30, tzinfo=LA), date(2026, 11, 30)),
        ("sunday_weeks", datetime(2026, 11, 28, 23, 30, tzinfo=LA), date(2026, 11, 22)),
        ("sunday_weeks", datetime(2026, 11, 29, 23, 30, tzinfo=LA), date(2026, 11, 29)),
        ("daily_badges", datetime(2026, 11, 29, 23, 30, tzinfo=UTC), date(2026, 11, 29)),
        ("monthly_quiz", datetime(2026, 11, 30, 23, 59, tzinfo=UTC), date(2026, 11, 1)),
        ("winter", datetime(2027, 1, 5, tzinfo=UTC), date(2026, 12, 21)),
        ("winter", datetime(2027, 3, 20, tzinfo=UTC), None),  # the season has ended
        ("all_points", datetime(2026, 11, 29, tzinfo=UTC), date.min),
    ],
)
def test_an_instant_falls_in_the_period_of_the_boards_zone_and_week_start(
    boards: Conn, board: str, local: datetime, expected: date | None
):
    [(period,)] = rows(
        boards,
        "select badges.board_period(l, %s)::text from badges.leaderboards l where l.id = %s",
        local,
        board,
    )
    assert period == (
        None if expected is None else "-infinity" if expected == date.min else expected.isoformat()
    )


def test_a_sunday_late_evening_event_in_los_angeles_ranks_in_that_week(boards: Conn):
    user = uuid4()
    track(boards, user, 3, datetime(2026, 11, 29, 23, 30, tzinfo=LA))
    track(boards, user, 5, datetime(2026, 11, 30, 0, 30, tzinfo=LA))
    assert rows(
        boards,
        "select period::text, value from badges.board_entries "
        "where board_id = 'weekly_points' and user_id = %s order by 1",
        user,
    ) == [("2026-11-23", 3), ("2026-11-30", 5)]
    week = page(boards, "weekly_points", "2026-11-29", user)
    assert week["period"]["start"] == "2026-11-23"
    assert week["me"] == {"rank": 1, "user_id": str(user), "value": 3}


def test_period_bounds_follow_the_zone_across_daylight_saving(boards: Conn):
    # The week of 2026-11-02 in Los Angeles starts in PST (UTC-8); the one of 2026-10-26 in PDT.
    answer = page(boards, "weekly_points", "2026-11-04")
    assert answer["period"]["starts_at"].startswith("2026-11-02T08:00:00")
    assert answer["period"]["ends_at"].startswith("2026-11-09T08:00:00")
    answer = page(boards, "weekly_points", "2026-10-27")
    assert answer["period"]["starts_at"].startswith("2026-10-26T07:00:00")


@pytest.mark.parametrize(
    ("board", "period", "message"),
    [
        ("winter", "previous", "the board has one period"),
        ("all_points", "previous", "the board has one period"),
        ("all_points", "2026-01-01", "the board has one period"),
        ("weekly_points", "2026-02-30", "invalid period"),
        ("weekly_points", "yesterday", "invalid period"),
        ("weekly_points", "2999-01-01", "period not started"),
        ("winter", "2026-12-01", "date outside the season"),
    ],
)
def test_a_period_the_board_does_not_have_is_refused(
    boards: Conn, board: str, period: str, message: str
):
    with pytest.raises(psycopg.Error) as raised:
        page(boards, board, period)
    assert raised.value.sqlstate == "BD004"
    assert raised.value.diag.message_primary == message


def test_an_unknown_or_disabled_board_is_bd013(boards: Conn, iso_db: BadgesDb):
    with pytest.raises(psycopg.Error) as raised:
        page(boards, "no_such_board")
    assert raised.value.sqlstate == "BD013"
    smaller = payload()
    smaller["leaderboards"] = [b for b in smaller["leaderboards"] if b["id"] != "all_points"]
    iso_db.sync_catalog(smaller)
    with pytest.raises(psycopg.Error) as raised:
        page(boards, "all_points")
    assert raised.value.sqlstate == "BD013"


# --- ranking ----------------------------------------------------------------------------------


def test_ranks_are_competition_ranks_with_ties_by_who_reached_the_value_first(boards: Conn):
    a, b, c, d = ids(4)
    start = datetime.now(UTC) - timedelta(seconds=40)
    for user, amount, seconds in [(d, 5, 0), (c, 3, 1), (b, 3, 2), (a, 1, 3)]:
        track(boards, user, amount, start + timedelta(seconds=seconds))
    answer = page(boards, "all_points", me=a)
    assert ranking(answer) == [(1, str(d), 5), (2, str(c), 3), (2, str(b), 3), (4, str(a), 1)]
    assert answer["me"] == {"rank": 4, "user_id": str(a), "value": 1}
    assert answer["total"] == 4
    assert answer["period"] == {"start": None, "starts_at": None, "ends_at": None, "final": False}


def test_a_board_ranks_the_increase_within_the_period_not_the_total(boards: Conn):
    user, other = uuid4(), uuid4()
    now = datetime.now(UTC)
    track(boards, user, 10, now - 2 * WEEK)  # an earlier week: in the total only
    track(boards, user, 1, now)
    track(boards, other, 2, now)
    week = page(boards, "weekly_points", me=user)
    assert ranking(week) == [(1, str(other), 2), (2, str(user), 1)]
    assert page(boards, "all_points", me=user)["me"]["value"] == 11


def test_a_decrease_is_what_the_total_really_lost(boards: Conn):
    user = uuid4()
    track(boards, user, 3)
    track(boards, user, -5)  # the total stops at 0: the board loses 3, not 5
    assert page(boards, "all_points", me=user)["me"] is None
    track(boards, user, 2)
    assert page(boards, "all_points", me=user)["me"]["value"] == 2


def test_the_badge_and_quiz_boards_count_awards_and_correct_providers(boards: Conn):
    user = uuid4()
    call(boards, "award_badge", p_user_id=user, p_badge_id="social_sharer", p_client=False)
    call(boards, "record_score", p_user_id=user, p_provider_id="openai", p_quiz_correct=True)
    call(boards, "record_score", p_user_id=user, p_provider_id="openai", p_quiz_correct=True)
    call(boards, "record_score", p_user_id=user, p_provider_id="google", p_quiz_correct=True)
    assert page(boards, "daily_badges", me=user)["me"]["value"] == 1
    assert page(boards, "monthly_quiz", me=user)["me"]["value"] == 2
    call(
        boards,
        "revoke_badge",
        p_user_id=user,
        p_badge_id="social_sharer",
        p_reason="test",
        p_revoked_by="test",
    )
    assert page(boards, "daily_badges", me=user)["me"] is None


def test_events_outside_a_season_are_not_counted(boards: Conn):
    user = uuid4()
    track(boards, user, 4, datetime(2026, 12, 20, 23, 59, tzinfo=UTC))
    track(boards, user, 2, datetime(2027, 1, 2, tzinfo=UTC))
    track(boards, user, 9, datetime(2027, 3, 20, tzinfo=UTC))
    assert rows(
        boards,
        "select period::text, value from badges.board_entries "
        "where board_id = 'winter' and user_id = %s",
        user,
    ) == [("2026-12-21", 2)]


def test_offset_and_cursor_pages_walk_the_same_order(boards: Conn, iso_db: BadgesDb):
    users = ids(25)
    now = datetime.now(UTC) - timedelta(minutes=1)
    for i, user in enumerate(users):
        track(boards, user, 1 + i % 4, now + timedelta(milliseconds=i))
    whole = ranking(page(boards, "all_points", limit=100))
    assert len(whole) == 25
    by_offset = [
        e for o in range(0, 25, 7) for e in ranking(page(boards, "all_points", limit=7, offset=o))
    ]
    assert by_offset == whole
    walked: list[tuple[int, str, int]] = []
    after = None
    while True:
        answer = iso_db.board_leaderboard(None, "all_points", None, BoardPage(7, 0, after))
        walked += ranking(answer)
        if answer["next_after"] is None:
            break
        key = answer["next_after"]
        after = (key["value"], datetime.fromisoformat(key["at"]), UUID(key["user_id"]))
    assert walked == whole


# --- around me --------------------------------------------------------------------------------


def around(
    conn: Conn, user: UUID, radius: int, board: str = "all_points", period: str | None = None
) -> dict[str, Any]:
    result: dict[str, Any] = call(
        conn, "around_me", p_user_id=user, p_board_id=board, p_period=period, p_radius=radius
    )
    return result


@pytest.fixture
def ladder(boards: Conn) -> list[UUID]:
    """Ten users with 10, 9, …, 1 points (the first is on top), plus two tied at 5."""
    users = ids(10)
    for i, user in enumerate(users):
        track(boards, user, 10 - i)
    return users


def test_around_me_in_the_middle_shows_radius_entries_on_each_side(
    boards: Conn, ladder: list[UUID]
):
    answer = around(boards, ladder[5], 2)
    assert [e["user_id"] for e in answer["entries"]] == [str(u) for u in ladder[3:8]]
    assert [e["rank"] for e in answer["entries"]] == [4, 5, 6, 7, 8]
    assert answer["me"] == {"rank": 6, "user_id": str(ladder[5]), "value": 5}
    assert answer["total"] == 10


def test_around_me_at_the_top_and_the_bottom_shows_one_side(boards: Conn, ladder: list[UUID]):
    top = around(boards, ladder[0], 3)
    assert [e["user_id"] for e in top["entries"]] == [str(u) for u in ladder[:4]]
    bottom = around(boards, ladder[-1], 3)
    assert [e["user_id"] for e in bottom["entries"]] == [str(u) for u in ladder[-4:]]
    assert bottom["me"]["rank"] == 10


def test_around_me_among_ties_keeps_the_board_order(boards: Conn):
    users = ids(5)
    base = datetime.now(UTC) - timedelta(minutes=1)
    for i, user in enumerate(users):  # all at 2 points, reached one after the other
        track(boards, user, 2, base + timedelta(seconds=i))
    answer = around(boards, users[2], 1)
    assert [(e["rank"], e["user_id"]) for e in answer["entries"]] == [
        (1, str(users[1])),
        (1, str(users[2])),
        (1, str(users[3])),
    ]


def test_around_me_off_the_board_has_no_entries(boards: Conn, ladder: list[UUID]):
    answer = around(boards, uuid4(), 5)
    assert answer["entries"] == []
    assert answer["me"] is None
    assert answer["total"] == 10


@pytest.mark.parametrize("radius", [0, 26, None])
def test_around_me_radius_is_one_to_twenty_five(boards: Conn, radius: int | None):
    with pytest.raises(psycopg.Error) as raised:
        around(boards, uuid4(), radius)  # type: ignore[arg-type]
    assert raised.value.sqlstate == "BD004"


# --- ranks on boards of many distinct values ---------------------------------------------------

# Values spanning every level of badges.board_buckets (groups of 256 at each of 8 levels), with
# ties, and values on both sides of each group's edge.
WIDE_VALUES = [
    *[1, 1, 2, 254, 255, 255, 256, 257, 511, 512, 65_535, 65_536, 65_536, 65_537],
    *[2**24 - 1, 2**24, 2**24 + 5, 2**32, 2**32, 2**40 + 1, 2**48 - 1, 2**48],
    *[2**56 - 1, 2**56, 2**56 + 3, 2**60, 2**60, 2**62 + 7],
]


def put_entries(conn: Conn, board: str, entries: list[tuple[UUID, int, datetime]]) -> None:
    """Entries on a live all-time board with their per-value deltas, as badges.bump_boards writes
    them (track cannot reach values this large: a service's event adds at most 1,000,000)."""
    for user, value, at in entries:
        conn.execute(
            "insert into badges.board_entries (board_id, period, user_id, value, at)"
            " values (%s, '-infinity', %s, %s, %s)",
            (board, user, value, at),
        )
        conn.execute(
            "insert into badges.board_deltas (board, period, value, users)"
            " values (%s, '-infinity', %s, 1)",
            (board, value),
        )


def expected_ranking(entries: list[tuple[UUID, int, datetime]]) -> list[tuple[int, str, int]]:
    ordered = sorted(entries, key=lambda e: (-e[1], e[2], e[0]))
    return [(1 + sum(1 for o in entries if o[1] > v), str(u), v) for u, v, _ in ordered]


def check_every_read(conn: Conn, entries: list[tuple[UUID, int, datetime]]) -> None:
    whole = expected_ranking(entries)
    n = len(whole)
    for offset in (0, 1, 3, 13, n - 2, n - 1, n, n + 4):
        answer = page(conn, "all_points", me=entries[offset % n][0], limit=5, offset=offset)
        assert ranking(answer) == whole[offset : offset + 5], offset
        assert answer["total"] == n
        mine = next(e for e in whole if e[1] == str(entries[offset % n][0]))
        assert answer["me"] == {"rank": mine[0], "user_id": mine[1], "value": mine[2]}
    for i in (0, 7, n // 2, n - 1):
        user = UUID(whole[i][1])
        answer = around(conn, user, 3)
        assert [(e["rank"], e["user_id"], e["value"]) for e in answer["entries"]] == whole[
            max(0, i - 3) : i + 4
        ]
        assert answer["me"] == {"rank": whole[i][0], "user_id": whole[i][1], "value": whole[i][2]}
        assert answer["total"] == n


def test_ranks_pages_and_around_me_hold_on_values_that_span_every_level(boards: Conn):
    base = datetime.now(UTC) - timedelta(hours=1)
    entries = [(uuid4(), value, base + timedelta(seconds=i)) for i, value in enumerate(WIDE_VALUES)]
    put_entries(boards, "all_points", entries[::2])
    boards.execute("select badges.fold_counts()")
    put_entries(boards, "all_points", entries[1::2])  # pending: read beside the folded counts
    check_every_read(boards, entries)

    boards.execute("select badges.fold_counts()")
    levels = rows(
        boards,
        "select count(distinct level) from badges.board_buckets where board = 'all_points'",
    )
    assert levels == [(7,)]
    check_every_read(boards, entries)
    checks = call(boards, "consistency_report")["checks"]
    assert (checks["board"], checks["board_buckets"]) == (0, 0)


def test_coarse_counts_follow_values_that_move_and_empty_their_groups(boards: Conn):
    users = ids(6)
    for amount in (5, 300, 70_000, -70_290):  # 5, 305, 70,305, then back to 15
        for user in users[:3]:
            track(boards, user, amount)
        boards.execute("select badges.fold_counts()")
    for i, user in enumerate(users[3:]):
        track(boards, user, 1_000_000 * (i + 1))
    boards.execute("select badges.fold_counts()")

    checks = call(boards, "consistency_report")["checks"]
    assert (checks["board"], checks["board_buckets"]) == (0, 0)
    assert rows(boards, "select count(*) from badges.board_buckets where users = 0") == [(0,)]
    answer = page(boards, "all_points", me=users[0], limit=10)
    assert [e["value"] for e in answer["entries"]] == [3_000_000, 2_000_000, 1_000_000, 15, 15, 15]
    assert [e["rank"] for e in answer["entries"]] == [1, 2, 3, 4, 4, 4]
    assert answer["me"]["rank"] == 4


# --- history ----------------------------------------------------------------------------------


def last_week_ranking(conn: Conn, scores: dict[UUID, int]) -> None:
    at = this_week_start(datetime.now(UTC)) - timedelta(days=3)
    for i, (user, amount) in enumerate(scores.items()):
        track(conn, user, amount, at + timedelta(seconds=i))


def archived(conn: Conn, board: str = "weekly_points") -> list[tuple[Any, ...]]:
    """The placings kept for the board's archived periods (ranks up to 100)."""
    return rows(
        conn,
        "select period::text, user_id, rank, value "
        "from badges.board_placings where board_id = %s order by 1, 3, 2",
        board,
    )


def test_the_first_read_of_a_finished_period_archives_it_and_it_stays(boards: Conn):
    a, b = ids(2)
    last_week_ranking(boards, {a: 5, b: 7})
    answer = page(boards, "weekly_points", "previous", a)
    assert answer["period"]["final"] is True
    assert ranking(answer) == [(1, str(b), 7), (2, str(a), 5)]
    assert answer["me"] == {"rank": 2, "user_id": str(a), "value": 5}
    assert answer["total"] == 2
    before = archived(boards)
    assert [(user, rank) for _, user, rank, _ in before] == [(b, 1), (a, 2)]
    # The week is closed: a late event dated into it changes nothing there.
    last_week_ranking(boards, {a: 100})
    assert page(boards, "weekly_points", "previous", a) == answer
    assert archived(boards) == before
    assert around(boards, a, 1, "weekly_points", "previous")["entries"] == answer["entries"]


def test_a_period_is_archived_exactly_once_under_concurrent_reads_and_the_batch(
    boards: Conn, iso_url: str
):
    scores = {user: 1 + i % 5 for i, user in enumerate(ids(40))}
    last_week_ranking(boards, scores)
    answers: list[Any] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(8)

    def reader(kind: str) -> None:
        try:
            with psycopg.connect(iso_url, autocommit=True) as conn:
                barrier.wait()
                if kind == "batch":
                    answers.append(("batch", call(conn, "archive_boards")))
                else:
                    answers.append(("read", page(conn, "weekly_points", "previous", limit=100)))
        except BaseException as exc:
            failures.append(exc)

    threads = [
        threading.Thread(target=reader, args=("batch" if i % 4 == 0 else "read",)) for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    reads = [a for kind, a in answers if kind == "read"]
    assert all(r == reads[0] for r in reads)
    assert len(reads[0]["entries"]) == 40
    assert rows(
        boards, "select count(*) from badges.board_periods where board_id = 'weekly_points'"
    ) == [(1,)]
    assert len(archived(boards)) == 40
    assert call(boards, "archive_boards") == 0


def test_events_racing_the_archive_are_in_its_final_ranking_or_not_at_all(
    boards: Conn, iso_url: str
):
    """Writers dating events into last week while it is archived: each event lands before the
    archive (and is in its total and placings) or after it (and changes nothing)."""
    users = ids(30)
    last_week_ranking(boards, dict.fromkeys(users[:10], 1))
    at = this_week_start(datetime.now(UTC)) - timedelta(days=2)
    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def writer(chunk: list[UUID]) -> None:
        try:
            with psycopg.connect(iso_url, autocommit=True) as conn:
                barrier.wait()
                for user in chunk:
                    track(conn, user, 3, at)
        except BaseException as exc:
            failures.append(exc)

    def archiver() -> None:
        try:
            with psycopg.connect(iso_url, autocommit=True) as conn:
                barrier.wait()
                call(conn, "archive_boards")
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(users[k::3],)) for k in range(3)]
    threads.append(threading.Thread(target=archiver))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    [(period, total)] = rows(
        boards,
        "select period, total from badges.board_periods where board_id = 'weekly_points'",
    )
    entries = rows(
        boards,
        "select user_id, value from badges.board_entries"
        " where board_id = 'weekly_points' and period = %s and value > 0",
        period,
    )
    assert total == len(entries)
    placed = {(user, value) for _, user, _, value in archived(boards)}
    assert placed == set(entries)  # 30 users at most: all within the top 100
    answer = page(boards, "weekly_points", "previous", limit=100)
    assert answer["total"] == total
    assert {(UUID(e["user_id"]), e["value"]) for e in answer["entries"]} == set(entries)


def test_the_batch_archives_the_previous_period_of_every_periodic_board(boards: Conn):
    user = uuid4()
    last_week_ranking(boards, {user: 3})
    archived_now = call(boards, "archive_boards")
    # weekly_points and sunday_weeks have entries; daily_badges' and monthly_quiz's previous
    # periods are archived empty (the boards existed then); winter has not ended.
    periods = rows(boards, "select board_id, total from badges.board_periods order by 1")
    assert archived_now == len(periods)
    assert {b for b, _ in periods} == {
        "weekly_points",
        "sunday_weeks",
        "daily_badges",
        "monthly_quiz",
    }
    assert dict(periods)["weekly_points"] == 1


def test_a_past_period_before_the_board_existed_is_read_empty_and_not_archived(boards: Conn):
    boards.execute("update badges.leaderboards set created_at = now()")
    answer = page(boards, "weekly_points", "2025-01-01")
    assert answer["entries"] == []
    assert answer["period"]["final"] is True
    assert rows(boards, "select count(*) from badges.board_periods") == [(0,)]


# --- rank badges ------------------------------------------------------------------------------


def test_a_rank_badge_is_awarded_once_and_every_placing_is_recorded_once(boards: Conn):
    star, other = ids(2)
    start = this_week_start(datetime.now(UTC))
    for weeks_ago, star_points in [(3, 9), (2, 1), (1, 9)]:
        at = start - weeks_ago * WEEK + timedelta(days=1)
        fillers = ids(3)
        for i, user in enumerate([*fillers, other]):
            track(boards, user, 5 - i, at + timedelta(seconds=i))
        track(boards, star, star_points, at + timedelta(seconds=9))
    # Weeks 3 and 1 ago: star is first; two weeks ago: fifth (out of the top 3).
    assert call(boards, "archive_boards") >= 3
    assert call(boards, "archive_boards") == 0
    assert rows(
        boards,
        "select count(*) from badges.awards where badge_id = 'weekly_podium' and user_id = %s",
        star,
    ) == [(1,)]
    assert rows(
        boards,
        "select count(*) from badges.notifications "
        "where badge_id = 'weekly_podium' and user_id = %s",
        star,
    ) == [(1,)]
    listed = {b["id"]: b for b in call(boards, "list_badges", p_user_id=star)["badges"]}
    last_week = (start - WEEK).date().isoformat()
    assert listed["weekly_podium"]["placings"] == {
        "times": 2,
        "latest": {"period": last_week, "rank": 1},
    }
    assert listed["weekly_podium"]["board"] == "weekly_points"
    assert "placings" not in listed["social_sharer"]
    me = call(boards, "get_badge", p_user_id=star, p_badge_id="weekly_podium")["me"]
    assert me["placings"]["times"] == 2
    # other was 4th each week: never on the podium.
    assert rows(
        boards,
        "select count(*) from badges.awards where badge_id = 'weekly_podium' and user_id = %s",
        other,
    ) == [(0,)]


def test_a_new_rank_badge_is_backfilled_from_the_archive(boards: Conn, iso_db: BadgesDb):
    a, b = ids(2)
    last_week_ranking(boards, {a: 5, b: 7})
    call(boards, "archive_boards")
    winner = """
[[badges]]
id = "weekly_winner"
name = "Winner"
rule = "rank"
board = "weekly_points"
threshold = 1
"""
    iso_db.sync_catalog(payload(winner))
    result = call(boards, "check_badges_all", p_badge_id="weekly_winner")
    assert result["awarded_count"] == 1
    assert rows(boards, "select user_id from badges.awards where badge_id = 'weekly_winner'") == [
        (b,)
    ]


def test_a_rank_badge_must_name_a_board_whose_periods_end(iso_db: BadgesDb):
    bad = payload()
    bad["badges"] = [
        *bad["badges"],
        {
            **next(x for x in bad["badges"] if x["id"] == "weekly_podium"),
            "id": "forever",
            "board": "all_points",
        },
    ]
    with pytest.raises(InvalidRequest, match=r"(?i)rank badge without a periodic board"):
        iso_db.sync_catalog(bad)


# --- sync and refill --------------------------------------------------------------------------


def test_a_new_board_is_filled_from_the_record(iso_db: BadgesDb, iso_conn: Conn):
    iso_db.sync_catalog(payload())
    users = ids(3)
    for i, user in enumerate(users):
        for badge in ["social_sharer", "streak_3d", "streak_7d"][: i + 1]:
            call(iso_conn, "award_badge", p_user_id=user, p_badge_id=badge, p_client=False)
        track(iso_conn, user, 2 + i, datetime.now(UTC) - 2 * WEEK)
    extra = """
[[leaderboards]]
id = "most_badges"
name = "Most badges"
metric = "badge_count"
"""
    iso_db.sync_catalog(payload(extra))
    assert ranking(page(iso_conn, "most_badges")) == [
        (1, str(users[2]), 3),
        (2, str(users[1]), 2),
        (3, str(users[0]), 1),
    ]
    # The record of an earlier week is not in this week's board; all_time has the totals.
    assert ranking(page(iso_conn, "weekly_points")) == []
    assert [v for *_, v in ranking(page(iso_conn, "all_points"))] == [4, 3, 2]


def test_a_board_whose_ranking_changes_is_refilled_and_a_rename_is_not(
    boards: Conn, iso_db: BadgesDb
):
    user = uuid4()
    track(boards, user, 4)
    renamed = payload()
    for board in renamed["leaderboards"]:
        board["name"] += " (renamed)"
    iso_db.sync_catalog(renamed)
    before = rows(boards, "select board_id, value, at from badges.board_entries order by 1")
    assert before
    moved = payload()
    for board in moved["leaderboards"]:
        if board["id"] == "weekly_points":
            board["timezone"] = "Asia/Tokyo"
    iso_db.sync_catalog(moved)
    assert (
        rows(boards, "select board_id, value, at from badges.board_entries order by 1") == before
    )  # refilled from the same events: the same entries
    assert call(boards, "rebuild_counts")["board"] >= 1
    assert page(boards, "weekly_points", me=user)["me"]["value"] == 4


def test_an_unknown_time_zone_or_metric_is_refused(iso_db: BadgesDb):
    bad = payload()
    bad["leaderboards"][0]["timezone"] = "Mars/Olympus"
    with pytest.raises(InvalidRequest, match=r"(?i)unknown time zone"):
        iso_db.sync_catalog(bad)
    bad = payload()
    bad["leaderboards"][0]["metric"] = "nope"
    with pytest.raises(UnknownMetric, match=r"(?i)unknown metric"):
        iso_db.sync_catalog(bad)


def test_the_catalog_lists_the_enabled_boards_in_order(boards: Conn):
    listed = call(boards, "get_catalog")["leaderboards"]
    assert [b["id"] for b in listed] == sorted(b["id"] for b in listed)  # sort_order 0: by id
    weekly = next(b for b in listed if b["id"] == "weekly_points")
    assert weekly == {
        "id": "weekly_points",
        "name": "Points this week",
        "description": "",
        "metric": "points",
        "period": "weekly",
        "timezone": "America/Los_Angeles",
        "week_start": 1,
        "starts_at": None,
        "ends_at": None,
    }


# --- consistency ------------------------------------------------------------------------------


def test_the_consistency_report_checks_the_boards_counts_and_all_time_totals(boards: Conn):
    users = ids(3)
    for i, user in enumerate(users):
        track(boards, user, 2 + i)
        track(boards, user, -1)
        call(boards, "award_badge", p_user_id=user, p_badge_id="social_sharer", p_client=False)
    checks = call(boards, "consistency_report")["checks"]
    assert (checks["board"], checks["board_total"]) == (0, 0)

    boards.execute(
        "update badges.board_entries set value = value + 1"
        " where board_id = 'all_points' and user_id = %s",
        (users[0],),
    )
    checks = call(boards, "consistency_report")["checks"]
    assert checks["board_total"] == 1
    assert checks["board"] == 2  # the per-value counts of the old and the new value
    call(boards, "rebuild_counts")
    assert call(boards, "consistency_report")["checks"]["board"] == 0

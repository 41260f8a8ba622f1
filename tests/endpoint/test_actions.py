"""Every action through HTTP: the success answers of the v1 contract."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import uuid4

import pytest

from tests.conftest import BADGE_FIELDS, CATALOG_BADGES
from tests.endpoint.conftest import Api


def test_award_of_a_client_badge_is_new_once_and_ignores_client_supplied_names(api: Api, user):
    first = api.ok(
        "award", as_user=user, badge_id="social_sharer", badge_name="Forged Name", icon_emoji="💀"
    )
    again = api.ok("award", as_user=user, badge_id="social_sharer")

    assert first["awarded"] is True
    assert again["awarded"] is False
    assert first["earned_at"] == again["earned_at"]
    assert first["badge"]["name"] == "Social Sharer"  # the catalog's, not the client's
    assert set(first["badge"]) == BADGE_FIELDS


def test_service_awards_a_server_badge_for_the_named_user(api: Api, user):
    body = api.ok("award", service=True, user_id=str(user), badge_id="streak_30d")

    assert body["awarded"] is True
    listed = api.ok("list", as_user=user)
    assert next(b for b in listed["badges"] if b["id"] == "streak_30d")["earned"] is True


def test_list_shows_every_visible_badge_with_earned_state_and_progress(api: Api, user):
    api.ok("award", as_user=user, badge_id="social_sharer")
    api.ok("record_score", as_user=user, provider_id="openai", quiz_correct=True)

    body = api.ok("list", as_user=user)

    by_id = {b["id"]: b for b in body["badges"]}
    assert set(by_id) == set(CATALOG_BADGES)
    assert (body["earned_count"], body["total_count"]) == (1, 6)
    assert by_id["social_sharer"]["earned"] is True
    assert by_id["social_sharer"]["progress"] is None
    assert by_id["quiz_master_3"]["progress"] == {"current": 1, "target": 3}
    assert by_id["quiz_master_all"]["progress"] == {"current": 1, "target": 5}
    assert by_id["streak_3d"]["progress"] == {"current": 1, "target": 3}  # scoring is activity
    assert by_id["streak_3d"]["earned_at"] is None


def test_record_activity_starts_a_streak_in_the_users_timezone(api: Api, user):
    body = api.ok("record_activity", as_user=user, timezone="Asia/Tokyo")
    again = api.ok("record_activity", as_user=user)

    assert body == {
        "success": True,
        "current_streak": 1,
        "longest_streak": 1,
        "freezes_left": 0,
        "frozen_days": [],
        "awarded": [],
    }
    assert again["current_streak"] == 1  # idempotent per day


def test_check_streaks_reports_the_users_streak(api: Api, user):
    api.ok("record_activity", as_user=user)

    body = api.ok("check_streaks", as_user=user)

    assert body == {
        "success": True,
        "current_streak": 1,
        "longest_streak": 1,
        "freezes_left": 0,
        "frozen_days": [],
        "awarded": [],
    }


def test_a_service_grants_freezes_and_a_user_may_not(api: Api, user):
    granted = api.ok("grant_freezes", service=True, user_id=str(user), count=3)
    refused = api.call("grant_freezes", as_user=user, count=1)
    too_many = api.call("grant_freezes", service=True, user_id=str(user), count=11)

    assert granted == {"success": True, "freezes_left": 3}
    assert (refused.status, refused.error) == (403, "forbidden")
    assert (too_many.status, too_many.error) == (400, "invalid_request")
    assert api.ok("check_streaks", as_user=user)["freezes_left"] == 3


def test_check_streaks_for_all_users_is_a_service_batch(api: Api, user):
    api.ok("record_activity", as_user=user)

    body = api.ok("check_streaks", service=True, all=True)

    assert body["users_checked"] >= 1
    assert body["awarded_count"] >= 0
    assert body["freezes_used"] >= 0


def test_record_score_counts_a_new_correct_provider_once(api: Api, user):
    first = api.ok("record_score", as_user=user, provider_id="anthropic", quiz_correct=True)
    wrong = api.ok("record_score", as_user=user, provider_id="anthropic", quiz_correct=False)

    assert first == {
        "success": True,
        "newly_correct": True,
        "correct_providers": 1,
        "total_providers": 5,
        "awarded": [],
    }
    assert wrong["newly_correct"] is False
    assert wrong["correct_providers"] == 1


def test_third_correct_provider_awards_quiz_master_through_record_score(api: Api, user):
    awarded = [
        api.ok("record_score", as_user=user, provider_id=p, quiz_correct=True)["awarded"]
        for p in ("openai", "google", "meta")
    ]

    assert awarded == [[], [], ["quiz_master_3"]]
    assert api.ok("check_quiz_master", as_user=user) == {
        "success": True,
        "correct_providers": 3,
        "total_providers": 5,
        "awarded": [],
    }


def test_leaderboard_lists_ranked_entries_and_the_callers_own_entry(api: Api, user):
    api.ok("award", as_user=user, badge_id="social_sharer")

    body = api.ok("leaderboard", as_user=user, limit=100)

    assert body["me"]["user_id"] == str(user)
    assert body["me"]["badge_count"] == 1
    assert body["total"] >= 1
    assert 1 <= len(body["entries"]) <= 100
    ranks = [e["rank"] for e in body["entries"]]
    assert ranks == sorted(ranks)
    assert set(body["entries"][0]) == {"rank", "user_id", "badge_count"}


def test_leaderboard_pages_by_cursor_from_where_the_last_page_ended(api: Api, user):
    for _ in range(3):
        api.ok("award", as_user=uuid4(), badge_id="social_sharer")

    first = api.ok("leaderboard", as_user=user, limit=2)
    second = api.ok("leaderboard", as_user=user, limit=2, after=first["next_after"])

    assert isinstance(first["next_after"], str)
    assert second["entries"] == api.ok("leaderboard", as_user=user, limit=2, offset=2)["entries"]


@pytest.mark.parametrize(
    "page",
    [{"after": "bm90IG91cnM"}, {"after": "", "limit": 2}, {"after": "WzEsIjIwMjYiLCJ4Il0"}],
)
def test_a_leaderboard_cursor_it_did_not_write_is_refused(api: Api, user, page: dict[str, Any]):
    answer = api.call("leaderboard", as_user=user, **page)

    assert (answer.status, answer.error) == (400, "invalid_request")


def test_a_leaderboard_page_takes_an_offset_or_a_cursor_not_both(api: Api, user):
    api.ok("award", as_user=user, badge_id="social_sharer")
    cursor = api.ok("leaderboard", as_user=user, limit=1)["next_after"]

    answer = api.call("leaderboard", as_user=user, offset=1, after=cursor)

    assert (answer.status, answer.error) == (400, "invalid_request")


def test_score_leaderboard_ranks_by_correct_providers(api: Api, user):
    api.ok("record_score", as_user=user, provider_id="mistral", quiz_correct=True)

    body = api.ok("score_leaderboard", as_user=user, limit=5, offset=0)

    assert body["me"]["correct_count"] == 1
    assert len(body["entries"]) <= 5
    assert all(set(e) == {"rank", "user_id", "correct_count"} for e in body["entries"])


def test_a_service_reading_a_leaderboard_without_a_user_has_no_me(api: Api):
    assert api.ok("leaderboard", service=True)["me"] is None


def test_revoke_removes_an_award_and_says_so(api: Api, user):
    api.ok("award", as_user=user, badge_id="social_sharer")

    first = api.ok(
        "revoke", service=True, user_id=str(user), badge_id="social_sharer", reason="shared spam"
    )
    second = api.ok(
        "revoke", service=True, user_id=str(user), badge_id="social_sharer", reason="shared spam"
    )

    assert (first["revoked"], second["revoked"]) == (True, False)
    assert api.ok("award", as_user=user, badge_id="social_sharer")["awarded"] is True


def test_catalog_lists_visible_badges_and_active_providers(api: Api):
    body = api.ok("catalog", as_user=uuid.uuid4())

    assert [b["id"] for b in body["badges"]][:3] == ["streak_3d", "streak_7d", "streak_30d"]
    assert len(body["providers"]) >= 5
    assert body["providers"][0] == {"id": "openai", "name": "OpenAI"}


def test_a_user_may_name_themself_as_user_id(api: Api, user):
    assert api.ok("list", as_user=user, user_id=str(user))["total_count"] == 6

"""Public profiles, showcases and levels over HTTP (issue 12): who may call profile, showcase and
current_level for whom, their errors, and the client write limit on showcase and preferences."""

from __future__ import annotations

import uuid

import pytest

from tests.endpoint.conftest import Api, MakeClient, Tokens
from tests.endpoint.test_errors import assert_error


@pytest.fixture(scope="module")
def devspace_api(make_client: MakeClient, devspace_url: str, tokens: Tokens) -> Api:
    return Api(make_client(DATABASE_URL=devspace_url), tokens)


def earn(api: Api, user: uuid.UUID, *badge_ids: str) -> None:
    for badge_id in badge_ids:
        api.ok("award", service=True, user_id=str(user), badge_id=badge_id)


def shown(answer: dict[str, object], key: str = "badges") -> list[str]:
    entries = answer[key]
    assert isinstance(entries, list)
    return [e["badge"]["id"] for e in entries]


# --- profile ---------------------------------------------------------------------------------


def test_any_user_reads_another_users_public_profile(api: Api, user: uuid.UUID):
    earn(api, user, "social_sharer", "streak_3d")
    api.ok("showcase", as_user=user, badge_ids=["streak_3d"])

    seen = api.ok("profile", as_user=uuid.uuid4(), user_id=str(user))

    assert seen == {
        "success": True,
        "user_id": str(user),
        "badge_count": 2,
        "level": None,
        "showcase": [
            {
                "badge": {
                    "id": "streak_3d",
                    "name": "3-Day Streak",
                    "icon": "🔥",
                    "tier": "bronze",
                    "category": "streaks",
                },
                "earned_at": seen["showcase"][0]["earned_at"],
            }
        ],
        "badges": seen["badges"],
        "next_before": None,
    }
    assert shown(seen) == ["streak_3d", "social_sharer"]


def test_without_user_id_a_user_reads_their_own_profile_and_a_service_must_name_one(
    api: Api, user: uuid.UUID
):
    earn(api, user, "social_sharer")

    own = api.ok("profile", as_user=user)
    nameless = api.call("profile", service=True)
    named = api.ok("profile", service=True, user_id=str(user))

    assert own["user_id"] == named["user_id"] == str(user)
    assert_error(nameless, 400, "invalid_request")


def test_an_opted_out_profile_is_unknown_user_to_others_only(api: Api, user: uuid.UUID):
    earn(api, user, "social_sharer")
    assert api.ok("preferences", as_user=user, profile_public=False) == {
        "success": True,
        "feed_opt_out": False,
        "profile_public": False,
    }

    other = api.call("profile", as_user=uuid.uuid4(), user_id=str(user))
    own = api.call("profile", as_user=user, user_id=str(user))
    service = api.call("profile", service=True, user_id=str(user))

    assert_error(other, 404, "unknown_user")
    assert other.body["error"]["message"] == (
        f"Unknown user: No user with a public profile has the id {user}."
    )
    assert (own.status, service.status) == (200, 200)


def test_an_id_the_service_never_saw_is_unknown_user(api: Api):
    never = str(uuid.uuid4())

    assert_error(api.call("profile", as_user=uuid.uuid4(), user_id=never), 404, "unknown_user")
    assert_error(api.call("profile", service=True, user_id=never), 404, "unknown_user")


def test_a_profile_pages_newest_first_by_its_cursor(api: Api, user: uuid.UUID):
    earn(api, user, "social_sharer", "streak_3d", "streak_7d")
    reader = uuid.uuid4()

    first = api.ok("profile", as_user=reader, user_id=str(user), limit=2)
    second = api.ok(
        "profile", as_user=reader, user_id=str(user), limit=2, before=first["next_before"]
    )

    assert shown(first) == ["streak_7d", "streak_3d"]
    assert shown(second) == ["social_sharer"]
    assert first["next_before"] is not None
    assert second["next_before"] is None


@pytest.mark.parametrize("before", ["garbage", "W10", "WyJ4IiwgInkiXQ"], ids=repr)
def test_a_cursor_the_profile_did_not_write_is_invalid_request(
    api: Api, user: uuid.UUID, before: str
):
    earn(api, user, "social_sharer")

    answer = api.call("profile", as_user=user, before=before)

    assert_error(answer, 400, "invalid_request")
    assert answer.body["error"]["message"] == (
        "Invalid before: not a cursor this profile returned."
    )


# --- showcase --------------------------------------------------------------------------------


def test_a_user_pins_their_earned_badges_in_order(api: Api, user: uuid.UUID):
    earn(api, user, "social_sharer", "streak_3d")

    pinned = api.ok("showcase", as_user=user, badge_ids=["streak_3d", "social_sharer"])
    unpinned = api.ok("showcase", as_user=user, badge_ids=[])

    assert shown(pinned, "showcase") == ["streak_3d", "social_sharer"]
    assert unpinned == {"success": True, "showcase": []}


def test_a_user_cannot_pin_for_another_user(api: Api, user: uuid.UUID):
    earn(api, user, "social_sharer")

    answer = api.call("showcase", as_user=uuid.uuid4(), user_id=str(user), badge_ids=[])

    assert_error(answer, 403, "forbidden")
    assert shown(api.ok("profile", as_user=user), "showcase") == []


def test_a_service_pins_for_the_user_it_names(api: Api, user: uuid.UUID):
    earn(api, user, "social_sharer")

    api.ok("showcase", service=True, user_id=str(user), badge_ids=["social_sharer"])

    assert shown(api.ok("profile", as_user=user), "showcase") == ["social_sharer"]


@pytest.mark.parametrize(
    ("badge_ids", "status", "code"),
    [
        pytest.param(["streak_30d"], 409, "badge_not_earned", id="unearned"),
        pytest.param(["no_such_badge"], 404, "unknown_badge", id="unknown"),
        pytest.param(["social_sharer"] * 2, 400, "invalid_request", id="twice"),
        pytest.param(
            ["social_sharer", "streak_3d", "streak_7d", "streak_30d", "quiz_master_3", "x"],
            400,
            "invalid_request",
            id="six",
        ),
        pytest.param("social_sharer", 400, "invalid_request", id="not-a-list"),
    ],
)
def test_a_refused_showcase_says_why(
    api: Api, user: uuid.UUID, badge_ids: object, status: int, code: str
):
    earn(api, user, "social_sharer")

    assert_error(api.call("showcase", as_user=user, badge_ids=badge_ids), status, code)


def test_pinning_an_unearned_badge_names_it(api: Api, user: uuid.UUID):
    earn(api, user, "social_sharer")

    answer = api.call("showcase", as_user=user, badge_ids=["social_sharer", "streak_30d"])

    assert answer.body["error"] == {
        "code": "badge_not_earned",
        "message": "Badge not earned: Only earned badges can be pinned, and 'streak_30d' is not"
        " one.",
    }


def test_a_revoked_badge_leaves_the_showcase(api: Api, user: uuid.UUID):
    earn(api, user, "social_sharer", "streak_3d")
    api.ok("showcase", as_user=user, badge_ids=["social_sharer", "streak_3d"])

    api.ok("revoke", service=True, user_id=str(user), badge_id="social_sharer", reason="spam")

    assert shown(api.ok("profile", as_user=uuid.uuid4(), user_id=str(user)), "showcase") == [
        "streak_3d"
    ]


# --- rate limit ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("showcase", {"badge_ids": []}),
        ("preferences", {"profile_public": True}),
        ("preferences", {}),  # a read too: the limit is per action, not per field
    ],
)
def test_showcase_and_preferences_are_rate_limited_client_writes(
    make_client: MakeClient, tokens: Tokens, user: uuid.UUID, action: str, params: dict[str, object]
):
    limited = Api(
        make_client(BADGES_RATE_LIMIT_BURST="2", BADGES_RATE_LIMIT_PER_MINUTE="1"), tokens
    )

    answers = [limited.call(action, as_user=user, **params) for _ in range(3)]
    service = limited.call(action, service=True, user_id=str(user), **params)

    assert [a.status for a in answers] == [200, 200, 429]
    assert answers[2].headers["Retry-After"]
    assert service.status == 200


def test_profile_and_current_level_are_reads_never_limited(
    make_client: MakeClient, tokens: Tokens, user: uuid.UUID
):
    limited = Api(
        make_client(BADGES_RATE_LIMIT_BURST="1", BADGES_RATE_LIMIT_PER_MINUTE="1"), tokens
    )

    answers = [limited.call(a, as_user=user) for a in ("profile", "current_level") * 3]

    assert [a.status for a in answers] == [200] * 6


# --- current_level ---------------------------------------------------------------------------


def test_current_level_without_levels_is_null_and_null(api: Api, user: uuid.UUID):
    assert api.ok("current_level", as_user=user) == {
        "success": True,
        "current": None,
        "next": None,
    }


def test_current_level_on_a_catalog_with_levels(devspace_api: Api, user: uuid.UUID):
    devspace_api.ok("track", service=True, user_id=str(user), metric="project_created", amount=5)
    devspace_api.ok("track", as_user=user, metric="journey_entry")

    level = devspace_api.ok("current_level", as_user=user)
    by_service = devspace_api.ok("current_level", service=True, user_id=str(user))
    profile = devspace_api.ok("profile", as_user=uuid.uuid4(), user_id=str(user))

    assert level["current"]["id"] == "newcomer"
    assert level["next"]["id"] == "regular"
    assert [s["remaining"] for s in level["next"]["steps"]] == [0, 50, 9]
    assert by_service == level
    assert profile["level"] == {"id": "newcomer", "name": "Newcomer"}


def test_a_user_cannot_read_another_users_current_level(api: Api, user: uuid.UUID):
    answer = api.call("current_level", as_user=uuid.uuid4(), user_id=str(user))

    assert_error(answer, 403, "forbidden")

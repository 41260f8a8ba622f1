"""Every code of the error table, reached through HTTP, with the documented body; bad input
changes nothing."""

from __future__ import annotations

import dataclasses
import uuid

import psycopg
import pytest
from flask.testing import FlaskClient

from badges.actions import ACTIONS
from badges.errors import Internal
from tests.endpoint.conftest import Answer, Api, MakeClient, Tokens


def assert_error(answer: Answer, status: int, code: str) -> None:
    assert answer.status == status, answer.body
    assert answer.body["success"] is False
    assert answer.body["error"]["code"] == code
    assert isinstance(answer.body["error"]["message"], str)
    assert answer.body["error"]["message"]
    assert "Traceback" not in str(answer.body)


def awards_of(conn: psycopg.Connection, user: uuid.UUID) -> int:
    row = conn.execute("select count(*) from badges.awards where user_id = %s", (user,)).fetchone()
    return row[0]


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"[]",
        b'"award"',
        b"42",
        b"null",
        b"",
        b'{"a": NaN}',
        b"\xff\xfe",
        b"[" * 5000 + b"]" * 5000,
    ],
)
def test_a_body_that_is_not_a_json_object_is_invalid_json(
    client: FlaskClient, tokens: Tokens, raw: bytes
):
    response = client.post("/", data=raw, headers={"Authorization": f"Bearer {tokens.service()}"})

    assert_error(Answer(response.status_code, response.get_json(), {}), 400, "invalid_json")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"action": "fly"},
        {"action": None},
        {"action": 7},
        {"action": ["award"]},
        {"action": "AWARD"},
    ],
)
def test_a_missing_or_unknown_action_is_unknown_action(api: Api, tokens: Tokens, body):
    answer = api.post(body, tokens.user(uuid.uuid4()))

    assert_error(answer, 400, "unknown_action")
    assert answer.body["error"]["details"]["known"] == sorted(ACTIONS)


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("award", {}),
        ("award", {"badge_id": 5}),
        ("award", {"badge_id": "x" * 65}),
        ("award", {"badge_id": "bad id"}),
        ("award", {"badge_id": "nul\x00"}),
        ("record_score", {"provider_id": "openai"}),
        ("record_score", {"provider_id": "openai", "quiz_correct": "true"}),
        ("record_score", {"provider_id": "openai", "quiz_correct": 1}),
        ("record_activity", {"timezone": "Mars/Olympus"}),
        ("record_activity", {"timezone": "../../etc/passwd"}),
        ("record_activity", {"timezone": "Europe"}),
        ("record_activity", {"timezone": "America"}),
        ("record_activity", {"timezone": "UTC+99"}),
        ("leaderboard", {"limit": 0}),
        ("leaderboard", {"limit": 101}),
        ("leaderboard", {"limit": "10"}),
        ("leaderboard", {"offset": -1}),
        ("score_leaderboard", {"offset": 1_000_001}),
        ("list", {"user_id": "not-a-uuid"}),
        ("check_streaks", {"all": "yes"}),
    ],
)
def test_a_bad_field_is_invalid_request_with_pydantic_details(api: Api, action, params):
    answer = api.call(action, **params)

    assert_error(answer, 400, "invalid_request")
    assert answer.body["error"]["details"][0]["loc"]


def test_a_revoke_reason_with_nul_or_missing_is_invalid_request(api: Api, user):
    for params in ({"badge_id": "social_sharer"}, {"badge_id": "social_sharer", "reason": "a\x00"}):
        answer = api.call("revoke", service=True, user_id=str(user), **params)
        assert_error(answer, 400, "invalid_request")


def test_a_service_call_on_a_user_action_without_user_id_is_invalid_request(api: Api):
    assert_error(api.call("list", service=True), 400, "invalid_request")


def test_invalid_input_changes_nothing(api: Api, conn, user):
    api.call("award", as_user=user, badge_id="social_sharer", user_id="nope")
    api.call("record_score", as_user=user, provider_id="openai", quiz_correct="yes")

    assert awards_of(conn, user) == 0
    assert (
        conn.execute(
            "select count(*) from badges.quiz_scores where user_id = %s", (user,)
        ).fetchone()[0]
        == 0
    )


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer ", "Basic abc", "Bearer not.a.jwt", "Token abc"]
)
def test_a_missing_or_malformed_authorization_is_unauthorized(client: FlaskClient, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.post("/", json={"action": "list"}, headers=headers)

    assert_error(Answer(response.status_code, response.get_json(), {}), 401, "unauthorized")


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("award", {"badge_id": "streak_3d"}),
        ("award", {"badge_id": "quiz_master_all"}),
        ("revoke", {"badge_id": "social_sharer", "reason": "because"}),
        ("check_streaks", {"all": True}),
    ],
)
def test_a_user_calling_what_only_a_service_may_is_forbidden(api: Api, conn, user, action, params):
    assert_error(api.call(action, as_user=user, **params), 403, "forbidden")
    assert awards_of(conn, user) == 0


@pytest.mark.parametrize("action", sorted(a for a in ACTIONS if not ACTIONS[a].names_any_user))
def test_a_user_naming_another_user_is_forbidden_on_every_action(api: Api, action):
    """Every action but those that read what any user made public (profile: test_profiles.py)."""
    answer = api.call(
        action,
        as_user=uuid.uuid4(),
        user_id=str(uuid.uuid4()),
        badge_id="social_sharer",
        provider_id="openai",
        quiz_correct=True,
        reason="r",
        metric="interaction",
        level="newcomer",
    )

    assert_error(answer, 403, "forbidden")


def test_an_unknown_badge_is_unknown_badge_for_award_and_revoke(api: Api, user):
    assert_error(api.call("award", as_user=user, badge_id="no_such_badge"), 404, "unknown_badge")
    assert_error(
        api.call("revoke", service=True, user_id=str(user), badge_id="no_such_badge", reason="r"),
        404,
        "unknown_badge",
    )


def test_an_unknown_provider_is_unknown_provider(api: Api, conn, user):
    answer = api.call("record_score", as_user=user, provider_id="nobody", quiz_correct=True)

    assert_error(answer, 404, "unknown_provider")
    assert (
        conn.execute(
            "select count(*) from badges.activity_days where user_id = %s", (user,)
        ).fetchone()[0]
        == 0
    )  # the whole call rolled back


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("PUT", "/"),
        ("DELETE", "/badges"),
        ("PATCH", "/functions/v1/badges"),
        ("GET", "/x"),
    ],
)
def test_anything_but_post_options_and_get_health_is_method_not_allowed(client, method, path):
    response = client.open(path, method=method)

    assert_error(Answer(response.status_code, response.get_json(), {}), 405, "method_not_allowed")


def test_a_body_over_64_kib_is_payload_too_large(client: FlaskClient, tokens: Tokens):
    body = b'{"action": "list", "pad": "' + b"x" * (64 * 1024) + b'"}'
    response = client.post("/", data=body, headers={"Authorization": f"Bearer {tokens.service()}"})

    assert_error(Answer(response.status_code, response.get_json(), {}), 413, "payload_too_large")


def test_client_writes_over_the_limit_are_rate_limited_with_retry_after(
    make_client: MakeClient, tokens: Tokens, conn, user
):
    api = Api(make_client(BADGES_RATE_LIMIT_PER_MINUTE="1", BADGES_RATE_LIMIT_BURST="2"), tokens)

    answers = [api.call("record_activity", as_user=user) for _ in range(3)]
    other_user = api.call("record_activity", as_user=uuid.uuid4())
    reads = api.call("list", as_user=user)
    service = api.call("award", service=True, user_id=str(user), badge_id="streak_3d")

    assert [a.status for a in answers] == [200, 200, 429]
    assert_error(answers[2], 429, "rate_limited")
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60
    assert (other_user.status, reads.status, service.status) == (200, 200, 200)


def test_a_database_that_cannot_be_reached_is_unavailable_with_retry_after(
    make_client: MakeClient, tokens: Tokens, tmp_path
):
    nowhere = f"postgresql://postgres@/postgres?host={tmp_path}&connect_timeout=1"
    api = Api(make_client(DATABASE_URL=nowhere, BADGES_DB_TIMEOUT="1"), tokens)

    answer = api.call("award", as_user=uuid.uuid4(), badge_id="social_sharer")
    health = api.client.get("/health")

    assert_error(answer, 503, "unavailable")
    assert int(answer.headers["Retry-After"]) >= 1
    assert health.status_code == 503
    assert health.get_json()["status"] == "unavailable"


@pytest.mark.parametrize(
    "failure", [RuntimeError("secret detail of a bug"), Internal("secret detail of a bug")]
)
def test_an_unexpected_failure_is_internal_with_a_request_id_and_no_cause(
    api: Api, monkeypatch, caplog, failure: Exception
):
    def broken(ctx, call):
        raise failure

    monkeypatch.setitem(ACTIONS, "catalog", dataclasses.replace(ACTIONS["catalog"], handler=broken))
    answer = api.call("catalog")

    assert_error(answer, 500, "internal")
    assert "secret detail" not in str(answer.body)
    request_id = answer.body["error"]["details"]["request_id"]
    assert any(request_id in r.getMessage() for r in caplog.records)


def test_a_configuration_error_is_still_a_json_internal_error(make_client: MakeClient, tokens):
    client = make_client(build=False, BADGES_RATE_LIMIT_BURST="0")

    response = client.post(
        "/", json={"action": "list"}, headers={"Authorization": f"Bearer {tokens.service()}"}
    )

    assert_error(Answer(response.status_code, response.get_json(), {}), 500, "internal")
    assert "BADGES_RATE_LIMIT_BURST" not in response.get_data(as_text=True)

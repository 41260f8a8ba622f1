"""The Expo channel on the wire: one message per registered device in one POST to Expo's push
API, tickets read back; DeviceNotRegistered drops the token, other error tickets retry."""

from __future__ import annotations

import json
from uuid import UUID

import responses

from badges.settings import EXPO_PUSH_URL
from badges.store.db import BadgesDb
from tests.delivery.conftest import Conn, award, deliverer, expo, make_due, state

PHONE = "ExponentPushToken[phone-0001]"
TABLET = "ExpoPushToken[tablet-0002]"


def tickets(*statuses: str) -> dict[str, object]:
    data = [
        {"status": "ok", "id": f"ticket-{i}"}
        if s == "ok"
        else {"status": "error", "message": f"{s} happened", "details": {"error": s}}
        for i, s in enumerate(statuses)
    ]
    return {"data": data}


def tokens_of(conn: Conn, user: UUID) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "select token from badges.push_tokens where user_id = %s order by token", (user,)
        )
    ]


def test_each_device_gets_the_message_in_one_request_with_the_access_token(
    iso_db: BadgesDb, iso_conn: Conn, http: responses.RequestsMock, user: UUID
):
    iso_db.register_push_token(user, PHONE, "ios")
    iso_db.register_push_token(user, TABLET, "android")
    award(iso_db, user)
    http.post(EXPO_PUSH_URL, json=tickets("ok", "ok"))

    assert deliverer(iso_db, expo("expo-access-token")).deliver_due().delivered == 1

    [sent] = http.calls
    messages = json.loads(sent.request.body or b"")
    [(event,)] = iso_conn.execute("select payload from badges.outbox").fetchall()
    assert messages == [
        {
            "to": token,
            "title": "📣 Social Sharer",
            "body": "Congrats! You earned Social Sharer! Shared your progress.",
            "data": event,
            "sound": "default",
        }
        for token in (TABLET, PHONE)  # most recently registered first
    ]
    assert sent.request.headers["Authorization"] == "Bearer expo-access-token"
    assert sent.request.headers["Accept"] == "application/json"
    assert state(iso_conn, user) == ("delivered", 1, ["expo"])


def test_a_user_without_devices_is_delivered_without_a_request(
    iso_db: BadgesDb, iso_conn: Conn, http: responses.RequestsMock, user: UUID
):
    award(iso_db, user)

    assert deliverer(iso_db, expo()).deliver_due().delivered == 1
    assert len(http.calls) == 0


def test_a_device_no_longer_registered_loses_its_token_and_the_rest_is_delivered(
    iso_db: BadgesDb, iso_conn: Conn, http: responses.RequestsMock, user: UUID
):
    iso_db.register_push_token(user, PHONE, "ios")
    iso_db.register_push_token(user, TABLET, "android")
    award(iso_db, user)
    http.post(EXPO_PUSH_URL, json=tickets("ok", "DeviceNotRegistered"))  # tablet, phone

    assert deliverer(iso_db, expo()).deliver_due().delivered == 1
    assert tokens_of(iso_conn, user) == [TABLET]


def test_another_error_ticket_retries_and_keeps_the_token(
    iso_db: BadgesDb, iso_conn: Conn, http: responses.RequestsMock, user: UUID
):
    iso_db.register_push_token(user, PHONE, "ios")
    award(iso_db, user)
    http.post(EXPO_PUSH_URL, json=tickets("MessageRateExceeded"))

    assert deliverer(iso_db, expo()).deliver_due().failed == 1
    assert state(iso_conn, user) == ("pending", 1, [])
    assert tokens_of(iso_conn, user) == [PHONE]
    [(error,)] = iso_conn.execute("select last_error from badges.outbox").fetchall()
    assert error == "expo: MessageRateExceeded happened"


def test_an_error_status_from_expo_retries(
    iso_db: BadgesDb, iso_conn: Conn, http: responses.RequestsMock, user: UUID
):
    iso_db.register_push_token(user, PHONE, "ios")
    award(iso_db, user)
    http.post(EXPO_PUSH_URL, status=503, json={"errors": [{"code": "UNAVAILABLE"}]})

    assert deliverer(iso_db, expo()).deliver_due().failed == 1
    make_due(iso_conn)
    http.replace(responses.POST, EXPO_PUSH_URL, json=tickets("ok"))
    assert deliverer(iso_db, expo()).deliver_due().delivered == 1

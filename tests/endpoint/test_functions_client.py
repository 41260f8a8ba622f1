"""The real supabase-py clients, pointed at <base>/functions/v1, reach the function."""

from __future__ import annotations

import httpx
import pytest
from flask.testing import FlaskClient
from supabase import Client, ClientOptions, create_client
from supabase_functions import SyncFunctionsClient
from supabase_functions.errors import FunctionsHttpError

from tests.endpoint.conftest import MakeClient, Tokens
from tests.endpoint.test_api_keys import PUBLISHABLE_KEY, SECRET_KEY


def functions_client(client: FlaskClient, token: str) -> SyncFunctionsClient:
    """supabase-py's client over HTTP handled in-process by the Flask app (WSGI transport)."""
    http = httpx.Client(transport=httpx.WSGITransport(app=client.application))
    return SyncFunctionsClient(
        url="http://127.0.0.1:54321/functions/v1",
        headers={"Authorization": f"Bearer {token}"},
        http_client=http,
    )


def test_functions_invoke_awards_a_client_badge(client: FlaskClient, tokens: Tokens, user):
    invoke = functions_client(client, tokens.user(user)).invoke

    first = invoke(
        "badges",
        {
            "body": {
                "action": "award",
                "badge_id": "social_sharer",
                "badge_name": "Social Sharer",
                "icon_emoji": "📣",
            },
            "responseType": "json",
        },
    )
    listed = invoke("badges", {"body": {"action": "list"}, "responseType": "json"})

    assert first["success"] is True
    assert first["awarded"] is True
    assert listed["earned_count"] == 1


def test_functions_invoke_surfaces_our_error_body(client: FlaskClient, tokens: Tokens, user):
    invoke = functions_client(client, tokens.user(user)).invoke

    with pytest.raises(FunctionsHttpError) as raised:
        invoke(
            "badges", {"body": {"action": "award", "badge_id": "streak_3d"}, "responseType": "json"}
        )

    assert raised.value.status == 403


def supabase_py(make_client: MakeClient, key: str) -> Client:
    """The whole supabase-py client, created as a server creates it with the project's key (no
    session): it sends the key in both `apikey` and `Authorization: Bearer`."""
    app = make_client(SUPABASE_SECRET_KEYS=SECRET_KEY)
    http = httpx.Client(transport=httpx.WSGITransport(app=app.application))
    return create_client("http://127.0.0.1:54321", key, ClientOptions(httpx_client=http))


def awards(conn, user) -> int:
    return int(
        conn.execute("select count(*) from badges.awards where user_id = %s", (user,)).fetchone()[0]
    )


def test_supabase_py_created_with_a_secret_key_is_a_service(make_client: MakeClient, conn, user):
    body = {"action": "award", "user_id": str(user), "badge_id": "streak_7d"}

    answer = supabase_py(make_client, SECRET_KEY).functions.invoke(
        "badges", {"body": body, "responseType": "json"}
    )

    assert answer["awarded"] is True
    assert awards(conn, user) == 1


def test_supabase_py_created_with_a_publishable_key_and_no_session_is_no_one(
    make_client: MakeClient, conn, user
):
    body = {"action": "award", "user_id": str(user), "badge_id": "streak_7d"}

    with pytest.raises(FunctionsHttpError) as raised:
        supabase_py(make_client, PUBLISHABLE_KEY).functions.invoke(
            "badges", {"body": body, "responseType": "json"}
        )

    assert raised.value.status == 401
    assert awards(conn, user) == 0

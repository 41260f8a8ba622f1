"""The real supabase-py FunctionsClient, pointed at <base>/functions/v1, reaches the function."""

from __future__ import annotations

import httpx
import pytest
from flask.testing import FlaskClient
from supabase_functions import SyncFunctionsClient
from supabase_functions.errors import FunctionsHttpError

from tests.endpoint.conftest import Tokens


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

"""The feed's page cursor: the last entry's (earned_at, user_id, badge_id), opaque to callers.

A cursor names a position, not a page number, so awards made while a reader pages never shift
or repeat entries.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from uuid import UUID

from badges.errors import InvalidRequest
from badges.store.db import FeedKey

BADGE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def encode(entry: dict[str, object]) -> str:
    """The cursor pointing after a feed entry (as the SQL returns it)."""
    badge = entry["badge"]
    assert isinstance(badge, dict)
    key = [entry["earned_at"], str(entry["user_id"]), badge["id"]]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode(cursor: str) -> FeedKey:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, user_id, badge_id = json.loads(raw)
        if not (isinstance(at, str) and isinstance(user_id, str) and isinstance(badge_id, str)):
            raise ValueError("not ours")
        earned_at = datetime.fromisoformat(at)
        if earned_at.tzinfo is None or not BADGE_ID.fullmatch(badge_id):
            raise ValueError("not ours")
        return earned_at, UUID(user_id), badge_id
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise InvalidRequest("Invalid before: not a cursor this feed returned.") from None

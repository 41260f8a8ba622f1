"""Page cursors, opaque to callers: the feed's (the last entry's earned_at, user_id, badge_id),
a leaderboard's (the last entry's value, the time it was reached, user_id), a profile's (the
last badge's earned_at, badge id) and a badge's holders' (the last holder's earned_at, user_id).

A cursor names a position, not a page number, so awards made while a reader pages never shift
or repeat entries, and the next page costs the same however deep it is.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from uuid import UUID

from badges.errors import InvalidRequest
from badges.store.db import BoardKey, FeedKey, HolderKey, ProfileKey

BADGE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def _pack(key: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _unpack(cursor: str) -> list[object]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    key = json.loads(raw)
    if not isinstance(key, list):
        raise ValueError("not ours")
    return key


def _instant(text: object) -> datetime:
    if not isinstance(text, str):
        raise ValueError("not ours")
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError("not ours")
    return at


def encode(entry: dict[str, object]) -> str:
    """The cursor pointing after a feed entry (as the SQL returns it)."""
    badge = entry["badge"]
    assert isinstance(badge, dict)
    return _pack([entry["earned_at"], str(entry["user_id"]), badge["id"]])


def decode(cursor: str) -> FeedKey:
    try:
        at, user_id, badge_id = _unpack(cursor)
        if not (isinstance(user_id, str) and isinstance(badge_id, str)):
            raise ValueError("not ours")
        if not BADGE_ID.fullmatch(badge_id):
            raise ValueError("not ours")
        return _instant(at), UUID(user_id), badge_id
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise InvalidRequest("Invalid before: not a cursor this feed returned.") from None


def encode_board(key: dict[str, object] | None) -> str | None:
    """The cursor pointing after a leaderboard page ({value, at, user_id} as the SQL returns
    it), or None on the last page."""
    if key is None:
        return None
    return _pack([key["value"], key["at"], str(key["user_id"])])


def decode_board(cursor: str) -> BoardKey:
    try:
        value, at, user_id = _unpack(cursor)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**31:
            raise ValueError("not ours")
        if not isinstance(user_id, str):
            raise ValueError("not ours")
        return value, _instant(at), UUID(user_id)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise InvalidRequest("Invalid after: not a cursor this leaderboard returned.") from None


def encode_holders(key: dict[str, object] | None) -> str | None:
    """The cursor pointing after a page of a badge's holders ({earned_at, user_id} of its last
    entry, as the SQL returns it), or None on the last page."""
    if key is None:
        return None
    return _pack([key["earned_at"], str(key["user_id"])])


def decode_holders(cursor: str) -> HolderKey:
    try:
        at, user_id = _unpack(cursor)
        if not isinstance(user_id, str):
            raise ValueError("not ours")
        return _instant(at), UUID(user_id)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise InvalidRequest("Invalid after: not a cursor of this badge's holders.") from None


def encode_profile(entry: dict[str, object]) -> str:
    """The cursor pointing after a profile's badge entry ({badge: {id, …}, earned_at})."""
    badge = entry["badge"]
    assert isinstance(badge, dict)
    return _pack([entry["earned_at"], badge["id"]])


def decode_profile(cursor: str) -> ProfileKey:
    try:
        at, badge_id = _unpack(cursor)
        if not (isinstance(badge_id, str) and BADGE_ID.fullmatch(badge_id)):
            raise ValueError("not ours")
        return _instant(at), badge_id
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise InvalidRequest("Invalid before: not a cursor this profile returned.") from None

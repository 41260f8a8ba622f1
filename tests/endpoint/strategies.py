"""Hypothesis strategies for bad input over HTTP: any JSON value, request-shaped objects with
plausible and hostile field values, bad values to put in one field of a valid request, and raw
bodies that are not JSON at all.

The module knows the wire models only through badges.actions.ACTIONS (action names and field
names), so a new action or field is fuzzed without touching this file.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import available_timezones

from hypothesis import strategies as st

from badges import models as m
from badges.actions import ACTIONS

# The user whose token the tests use: a fixed id, so strategies can name it (the tests run on a
# database of their own, where no other test uses it).
SEED_USER = uuid.UUID("0b5e1f7a-4c1d-4e2f-9a3b-5c6d7e8f9a0b")

ACTION_NAMES = sorted(ACTIONS)
# Every field any request model has, action and user_id included.
FIELD_NAMES = sorted({name for a in ACTIONS.values() for name in a.request.model_fields})

# The largest integer json.dumps/json.loads convert (Python's int-to-text limit is 4300 digits).
MAX_DIGITS = 4000

# --- text -----------------------------------------------------------------------------------

# Any code point: NUL, controls, lone surrogates (json.dumps escapes them as \ud800), emoji.
any_char = st.characters(exclude_categories=())
any_text = st.text(any_char, max_size=40)
nasty_text = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\ud800",
        "\udfff",
        "a\ud800b",
        "\U0001f525",
        "\u202e",
        "\ufeff",
        "é",
        "\uff53\uff4f\uff43\uff49\uff41\uff4c_sharer",  # fullwidth letters
        "\u0455ocial_sharer",  # a Cyrillic s
        "social_sharer\n",
        " social_sharer",
        "social sharer",
        "social_sharer\x00",
        "../../etc/passwd",
        "Europe",
        "UTC+99",
        "1",
        "-1",
        "1.5",
        "true",
        "false",
        "null",
        "[]",
        "{}",
        "NaN",
        "Infinity",
        "9" * 30,
        "2026-11-20T09:30:00",
        "2026-11-20",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
        "ExpoPushToken[]",
        "ExpoPushToken[a b]",
        "ExponentPushToken[" + "a" * 201 + "]",
        "ExpoPushToken[abc]\n",
        "'; drop table badges.awards; --",
        "%s",
        "{0}",
        str(uuid.uuid4()).upper().replace("-", "")[:31],
    ]
)
# Longer than every bound (64, 128, 200, 500) and up to near the 64 KiB body limit; multi-byte
# characters push some bodies over it.
long_text = st.builds(
    lambda char, n: char * n,
    st.sampled_from(["a", "é", "\U0001f525", "\x00", "_"]),
    st.sampled_from([65, 129, 201, 501, 4_000, 30_000, 70_000]),
)
texts = st.one_of(any_text, nasty_text, long_text)

# --- numbers --------------------------------------------------------------------------------

edge_ints = st.sampled_from(
    [
        0,
        -1,
        1,
        2,
        100,
        101,
        541,
        m.MAX_AMOUNT,
        m.MAX_AMOUNT + 1,
        -m.MAX_AMOUNT - 1,
        m.MAX_OFFSET + 1,
        m.MAX_IDS + 1,
        2**31 - 1,
        2**31,
        -(2**31) - 1,
        2**53 + 1,
        2**63 - 1,
        2**63,
        -(2**63),
        -(2**63) - 1,
        2**64,
        10**100,
        -(10**100),
    ]
)
# Built, not listed: a sampled_from of 4000-digit numbers makes unreadable statistics.
huge_ints = st.sampled_from([1, -1]).map(lambda sign: sign * 10**MAX_DIGITS)
integers = st.one_of(st.integers(), edge_ints, huge_ints)
floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1.0, 1.5, 10.0, 1e20, 1e308, -1e308, 5e-324]),
)

json_scalars = st.one_of(st.none(), st.booleans(), integers, floats, texts)


def json_values(max_leaves: int = 20) -> st.SearchStrategy[Any]:
    """Any JSON value: scalars, lists and objects nested to any depth."""
    return st.recursive(
        json_scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=6), st.dictionaries(any_text, children, max_size=6)
        ),
        max_leaves=max_leaves,
    )


# --- request-shaped values ------------------------------------------------------------------

PUSH_TOKEN = "ExponentPushToken[seed-token_1]"
PAST = "2025-01-01T00:00:00Z"

# Values a field might plausibly hold: valid ones, near misses and other fields' values.
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "action": st.sampled_from(ACTION_NAMES),
    "user_id": st.one_of(
        st.just(str(SEED_USER)),
        st.just(SEED_USER.hex),
        st.just(str(SEED_USER).upper()),
        st.just(f"urn:uuid:{SEED_USER}"),
        st.just("{" + str(SEED_USER) + "}"),
        st.uuids().map(str),
    ),
    "badge_id": st.sampled_from(["social_sharer", "streak_3d", "quiz_master_all", "no_such"]),
    "reason": st.sampled_from(["r", "because", "a" * 500]),
    "timezone": st.sampled_from(["UTC", "Europe/Berlin", "Asia/Kolkata", "Etc/GMT+12"]),
    "provider_id": st.sampled_from(["openai", "mistral", "nobody"]),
    "quiz_correct": st.booleans(),
    "all": st.booleans(),
    "metric": st.sampled_from(["interaction", "nope"]),
    "amount": st.integers(-3, 6),
    "item": st.sampled_from(["post-1", "é", "a" * 128]),
    "idempotency_key": st.sampled_from(["k1", "k2", "k" * 200]),
    "occurred_at": st.sampled_from(
        [PAST, "2025-01-01T00:00:00+14:00", "2025-01-01T00:00:00", "2999-01-01T00:00:00Z"]
    ),
    "notify": st.booleans(),
    "level": st.sampled_from(["newcomer", "nope"]),
    "limit": st.integers(0, 101),
    "offset": st.integers(-1, 3),
    "unread_only": st.booleans(),
    "before": st.one_of(st.integers(0, 3), st.sampled_from(["", "abc", "W10", "=" * 8])),
    "ids": st.lists(st.integers(0, 5), max_size=3),
    "feed_opt_out": st.one_of(st.none(), st.booleans()),
    "profile_public": st.one_of(st.none(), st.booleans()),
    "badge_ids": st.lists(
        st.sampled_from(["first_interaction", "social_sharer", "streak_3d", "no_such"]), max_size=6
    ),
    "token": st.sampled_from([PUSH_TOKEN, "ExpoPushToken[x]", "nope"]),
    "platform": st.sampled_from(["ios", "android", "web", "windows"]),
    "max_seconds": st.integers(0, 2),
    "status": st.sampled_from(["pending", "delivered", "dead", "lost"]),
    "share_id": st.sampled_from(["0" * 32, "f" * 32, "F" * 32, "0" * 31, "0" * 33]),
}


def plausible(name: str) -> st.SearchStrategy[Any]:
    """Values the field might plausibly hold (any JSON for a field new to this module)."""
    return PLAUSIBLE.get(name, json_values(8))


def mostly(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """common four times in five, else rare (st.one_of would weigh each of rare's own branches
    like common)."""
    return st.integers(0, 4).flatmap(lambda n: rare if n == 0 else common)


def field_value(name: str) -> st.SearchStrategy[Any]:
    """A plausible value for the field (mostly), or anything at all."""
    return mostly(plausible(name), json_values(8))


# Objects shaped like requests: an action (mostly a real one) and some of the known fields.
request_objects = st.fixed_dictionaries(
    {"action": mostly(PLAUSIBLE["action"], json_scalars)},
    optional={name: field_value(name) for name in FIELD_NAMES if name != "action"},
)
# And with keys the models do not know.
extended_request_objects = st.builds(
    lambda known, extra: {**extra, **known},
    request_objects,
    st.dictionaries(any_text, json_values(4), max_size=3),
)

# Any JSON value as a body, request-shaped ones over-represented.
bodies = st.one_of(json_values(), request_objects, extended_request_objects)

# --- one bad value --------------------------------------------------------------------------

# What replaces one field of a valid request: wrong types, bounds, encodings, nesting, and other
# fields' plausible values (type confusion). Some are still valid for some fields: tests skip
# those by validating the mutated request with the action's model.
bad_values = st.one_of(
    st.none(),
    st.booleans(),
    integers,
    floats,
    texts,
    st.lists(json_scalars, max_size=4),
    st.lists(st.integers(), min_size=m.MAX_IDS + 1, max_size=m.MAX_IDS + 1),
    st.dictionaries(any_text, json_scalars, max_size=4),
    json_values(12),
    st.sampled_from(FIELD_NAMES).flatmap(plausible),
)

# --- raw bodies -----------------------------------------------------------------------------

CONTENT_TYPES = [
    None,
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "text/plain",
    "text/plain; charset=utf-16",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/xml",
    "application/octet-stream",
    "*/*",
    "garbage",
    "",
]


def _corrupt(raw: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """raw with some spans replaced: a JSON request made slightly wrong at the byte level."""
    out = bytearray(raw)
    for at, length, by in edits:
        pos = at % (len(out) + 1)
        out[pos : pos + length] = by
    return bytes(out)


edit = st.tuples(st.integers(0, 10_000), st.integers(0, 3), st.binary(max_size=3))
corrupted_requests = st.builds(
    _corrupt,
    request_objects.map(lambda body: json.dumps(body).encode()),
    st.lists(edit, min_size=1, max_size=3),
)
raw_bodies = st.one_of(
    st.binary(max_size=200),
    corrupted_requests,
    st.sampled_from(
        [
            b"",
            b" ",
            b"\x00",
            b"\xef\xbb\xbf{}",
            b"{",
            b"}",
            b'{"action"}',
            b'{"action": }',
            b"{'action': 'catalog'}",
            b'{"action": "catalog",}',
            b'{"action": "catalog"} {}',
            b'{"action": NaN}',
            b'{"action": "catalog", "limit": Infinity}',
            b'{"action": "catalog", "limit": -Infinity}',
            b'{"action": "\xff"}',
            b'{"action": "\xc0\xaf"}',
            b"[" * 2000 + b"]" * 2000,
            b'{"a":' * 2000 + b"1" + b"}" * 2000,
        ]
    ),
)

# --- valid values ---------------------------------------------------------------------------

# Text a model accepts: any code point but NUL and lone surrogates (astral, RTL, BOM included).
valid_char = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")


def valid_text(max_size: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(valid_char, min_size=1, max_size=min(max_size, 40)),
        st.builds(
            lambda c, n: c * n,
            st.sampled_from(["a", "é", "\U0001f525", "'", "\\"]),
            st.just(max_size),
        ),
    )


ids = st.one_of(
    st.sampled_from(["social_sharer", "streak_3d", "verified_sharer", "openai", "interaction"]),
    st.from_regex(r"\A[A-Za-z0-9_.:-]{1,64}\Z"),
)
# Any offset a datetime can carry (pydantic takes up to ±23:59), any instant up to now.
offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
past_instants = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(2026, 1, 1), timezones=offsets
)


def _pack(key: list[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _cursor(at: str, user: str, badge: str) -> str:
    return _pack([at, user, badge])


# Cursors shaped like the feed's own (any instant, any user, any badge id), and not.
cursors = st.one_of(
    st.builds(_cursor, past_instants.map(datetime.isoformat), st.uuids().map(str), ids),
    st.text(st.characters(codec="ascii"), max_size=200),
).filter(lambda c: len(c) <= 200)
# A badge's holders' cursors: any instant, any user.
holder_cursors = st.builds(
    lambda at, user: _pack([at, user]), past_instants.map(datetime.isoformat), st.uuids().map(str)
)
row_ids = st.one_of(st.integers(1, 2**63 - 1), st.sampled_from([1, 2, 2**31, 2**63 - 1]))

VALID: dict[str, st.SearchStrategy[Any]] = {
    "user_id": st.one_of(st.just(SEED_USER), st.uuids()).map(str),
    "badge_id": ids,
    "reason": valid_text(500),
    "timezone": st.sampled_from(sorted(available_timezones())),
    "provider_id": ids,
    "quiz_correct": st.booleans(),
    "all": st.booleans(),
    "metric": ids,
    "amount": st.one_of(
        st.integers(-5, 5),
        st.integers(-m.MAX_AMOUNT, m.MAX_AMOUNT),
        st.sampled_from([1, -1, m.MAX_AMOUNT, -m.MAX_AMOUNT]),
    ).filter(bool),
    "item": valid_text(128),
    "idempotency_key": valid_text(200),
    "occurred_at": past_instants.map(datetime.isoformat),
    "notify": st.booleans(),
    "level": st.one_of(st.just("newcomer"), ids),
    "limit": st.integers(1, 100),
    "offset": st.one_of(st.integers(0, 3), st.just(m.MAX_OFFSET)),
    "unread_only": st.booleans(),
    "before": st.one_of(row_ids, cursors),
    "after": st.one_of(holder_cursors, cursors),
    "ids": st.one_of(
        st.lists(row_ids, min_size=1, max_size=5),
        st.lists(st.integers(1, 2**63 - 1), min_size=m.MAX_IDS, max_size=m.MAX_IDS),
    ),
    "feed_opt_out": st.one_of(st.none(), st.booleans()),
    "profile_public": st.one_of(st.none(), st.booleans()),
    "badge_ids": st.lists(ids, max_size=m.MAX_SHOWCASE, unique=True),
    "token": st.from_regex(r"\AExpo(nent)?PushToken\[[A-Za-z0-9_-]{1,200}\]\Z"),
    "platform": st.sampled_from(["ios", "android", "web"]),
    "max_seconds": st.integers(1, 2),
    "status": st.sampled_from(["pending", "delivered", "dead"]),
    "share_id": st.from_regex(r"\A[0-9a-f]{32}\Z"),
    "board": ids,
    "period": st.one_of(st.sampled_from(["current", "previous"]), st.dates().map(date.isoformat)),
    "radius": st.integers(1, 25),
    "count": st.integers(1, 10),
}


def valid_request(action: str) -> st.SearchStrategy[dict[str, Any]]:
    """A request the action's model most likely accepts: some of its fields, each valid alone
    (the model's cross-field rules, like ids-or-all, are checked by the caller)."""
    model = ACTIONS[action].request
    fields = {n: f.is_required() for n, f in model.model_fields.items() if n != "action"}
    required = {n: VALID.get(n, json_values(4)) for n, needed in fields.items() if needed}
    optional = {n: VALID.get(n, json_values(4)) for n, needed in fields.items() if not needed}
    return st.fixed_dictionaries({"action": st.just(action), **required}, optional=optional)


valid_requests = st.sampled_from(ACTION_NAMES).flatmap(valid_request)

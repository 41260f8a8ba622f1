"""Token attacks against every write action: refused, and nothing written (issue 5, point 4).

test_auth.py pins the verifier's rules one token at a time, mostly on one action. Here every
attack is tried on every write the function has, each time with a body that is valid for that
write (so only the token is wrong): a forged, stale, misdirected or malformed token is 401
`unauthorized`; a genuine user token that names another user, or sends what only a service may
send, is 403 `forbidden`. After each request every table of schema `badges` (row count and md5
of its rows) and every sequence of it are exactly as before it, hence as seeded.

"Nothing changed" only means something if there was something to change: the seed gives every
write work to do (a badge to revoke, unread messages, a pending and a dead outbox row, a push
token to unregister, a user whose streak earned a badge no batch has awarded yet), and the last
tests prove, on a second database seeded the same way, that each body sent by its rightful
caller succeeds and changes the snapshot.

Supabase has no user-level signing key distinct from the project's: user access tokens, the
public anon key and the legacy service_role key are all signed with the project's JWT secret (or
its JWKS keys). "A service-role claim in a token signed by a user-level key" is therefore tried
as the closest real things: the anon key, and a user's own token, with `role` edited to
`service_role` after signing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient
from psycopg import sql

from badges.catalog import load_catalog
from badges.store.db import BadgesDb
from badges.store.postgres import PostgresStore
from tests.endpoint.conftest import SECRET, Answer, MakeClient, Tokens
from tests.endpoint.test_auth import EC_KEY, PROJECT_ISSUER, PROJECT_URL, RSA_KEY
from tests.endpoint.test_auth import jwks_url as jwks_url  # the project's JWKS over loopback

Conn = psycopg.Connection[Any]
Snapshot = dict[str, tuple[int, str]]

# The seeded database's users: whom the attacks aim at, a genuine user overstepping, and a user
# whose streak is due a badge (the batches' work).
VICTIM = uuid.UUID("7c0ffee0-0000-4000-8000-000000000001")
ATTACKER = uuid.UUID("7c0ffee0-0000-4000-8000-000000000002")
BYSTANDER = uuid.UUID("7c0ffee0-0000-4000-8000-000000000003")

# A metric, as v1 declares none: user-trackable, so a user's own `track` is a valid write.
PROBE_METRIC = {"id": "probe", "name": "Probe", "user_trackable": True}
# A board over badge counts: the victim's seeded awards put them on it (around_me's answer).
PROBE_BOARD = {
    "id": "probe_week",
    "name": "Probe week",
    "metric": "badge_count",
    "period": "weekly",
}
SEEDED_PUSH_TOKEN = "ExponentPushToken[seeded]"
REGISTERED_PUSH_TOKEN = "ExponentPushToken[abc]"
OTHER_SECRET = "another-secret-of-at-least-32-characters"
FOREIGN_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
FOREIGN_JWK = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(FOREIGN_RSA_KEY.public_key()))
ATTACKER_JKU = "https://evil.example/.well-known/jwks.json"
RSA_PUBLIC_PEM = RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)

# What a function without the HS256 secret says of an HS256 token.
JWKS_ONLY_ALGORITHMS = "Invalid token: its algorithm is not accepted (accepted: ES256, RS256)."
# The 403 messages (README, Action reference).
SERVICE_ONLY = "Only a service caller may call this action."
OWN_DATA_ONLY = "A user may act only on their own data."


# The writes: every action that changes the database, with a valid body.


@dataclass(frozen=True)
class Write:
    """A write action and a valid body for it. `refusal` is the 403 message a user's own token
    gets when only a service may send this body; None when a user may send it for themself."""

    name: str
    action: str
    fields: Mapping[str, Any]
    names_user: bool = True  # the body carries the user_id it acts on
    refusal: str | None = None

    def body(self, user: uuid.UUID) -> dict[str, Any]:
        named = {"user_id": str(user)} if self.names_user else {}
        return {"action": self.action, **named, **self.fields}


WRITES = (
    Write("award-client-badge", "award", {"badge_id": "social_sharer"}),
    Write(
        "award-service-badge",
        "award",
        {"badge_id": "streak_3d"},
        refusal=(
            "Badge not client-awardable: The badge 'streak_3d' can only be awarded by the server."
        ),
    ),
    Write(
        "revoke",
        "revoke",
        {"badge_id": "streak_30d", "reason": "token attack test"},
        refusal=SERVICE_ONLY,
    ),
    Write(
        "grant_freezes",
        "grant_freezes",
        {"count": 1},
        refusal=SERVICE_ONLY,
    ),
    Write("record_activity", "record_activity", {"timezone": "Europe/Paris"}),
    Write("record_score", "record_score", {"provider_id": "openai", "quiz_correct": True}),
    Write("track", "track", {"metric": "probe"}),
    Write(
        "check_badges-all",
        "check_badges",
        {"all": True},
        names_user=False,
        refusal="Only a service caller may check the badges of all users.",
    ),
    Write("backfill", "backfill", {}, names_user=False, refusal=SERVICE_ONLY),
    Write("mark_notifications_read", "mark_notifications_read", {"all": True}),
    Write("preferences", "preferences", {"feed_opt_out": True}),
    Write("preferences-profile_public", "preferences", {"profile_public": False}),
    Write("showcase", "showcase", {"badge_ids": ["streak_30d", "quiz_master_all"]}),
    Write("register_push_token", "register_push_token", {"token": REGISTERED_PUSH_TOKEN}),
    Write("unregister_push_token", "unregister_push_token", {"token": SEEDED_PUSH_TOKEN}),
    Write(
        "deliver_notifications",
        "deliver_notifications",
        {},
        names_user=False,
        refusal=SERVICE_ONLY,
    ),
    Write(
        "requeue_notifications",
        "requeue_notifications",
        {"all": True},
        names_user=False,
        refusal=SERVICE_ONLY,
    ),
    Write(
        "check_streaks-all",
        "check_streaks",
        {"all": True},
        names_user=False,
        refusal="Only a service caller may check the streaks of all users.",
    ),
)
ALL_WRITES = [pytest.param(w, id=w.name) for w in WRITES]
SERVICE_WRITES = [pytest.param(w, id=w.name) for w in WRITES if w.refusal is not None]
NAMING_WRITES = [pytest.param(w, id=w.name) for w in WRITES if w.names_user]
# Who may rightfully send each body: its user (when a user may) and, always, a service.
RIGHTFUL_CALLS = [
    pytest.param(w, False, id=f"{w.name}-user") for w in WRITES if w.refusal is None
] + [pytest.param(w, True, id=f"{w.name}-service") for w in WRITES]
# The discovery reads, which tell who holds a badge and a user's state of one: a bad token
# learns none of it, and a genuine user token may not name another user.
DISCOVERY_READS = [
    pytest.param({"action": "badge", "badge_id": "streak_30d"}, id="badge"),
    pytest.param({"action": "badge_holders", "badge_id": "streak_30d"}, id="badge_holders"),
    pytest.param({"action": "around_me", "board": "probe_week"}, id="around_me"),
    pytest.param({"action": "leaderboard", "board": "probe_week"}, id="leaderboard-board"),
]


# Tokens: genuine claims, and the ways of signing (or not) them.


def user_claims(now: int, user: uuid.UUID = VICTIM, **changes: Any) -> dict[str, Any]:
    """A user access token of the project, as Supabase Auth issues it; None drops a claim."""
    claims = {
        "iss": PROJECT_ISSUER,
        "sub": str(user),
        "aud": "authenticated",
        "role": "authenticated",
        "iat": now,
        "exp": now + 600,
        "aal": "aal1",
        "session_id": str(uuid.uuid4()),
        "is_anonymous": False,
    }
    return _changed(claims, changes)


def service_claims(now: int, **changes: Any) -> dict[str, Any]:
    """The project's legacy service_role key."""
    claims = {"iss": "supabase", "ref": "abcdefghijklmnop", "role": "service_role", "iat": now}
    return _changed({**claims, "exp": now + 3600}, changes)


def anon_claims(now: int) -> dict[str, Any]:
    """The project's public anon key (the one every app ships)."""
    return service_claims(now, role="anon")


def _changed(claims: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in {**claims, **changes}.items() if v is not None}


def hs256(claims: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def rs256(
    claims: dict[str, Any], key: rsa.RSAPrivateKey = RSA_KEY, kid: str = "rsa-1", **header: Any
) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, **header})


def assembled(
    header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]
) -> str:
    """A JWT put together by hand, for signatures PyJWT will not make."""
    signing_input = b".".join(
        jwt.utils.base64url_encode(json.dumps(part).encode()) for part in (header, claims)
    )
    return (signing_input + b"." + jwt.utils.base64url_encode(sign(signing_input))).decode()


def edited(token: str, **changes: Any) -> str:
    """The token with its payload changed after signing: header and signature kept."""
    header, _, signature = token.split(".")
    claims = _changed(jwt.decode(token, options={"verify_signature": False}), changes)
    payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    return f"{header}.{payload}.{signature}"


def bearer(token: str) -> str:
    return f"Bearer {token}"


# The attacks: each makes the Authorization header (None: no header) from the time now, and
# says what the 401's message says.


@dataclass(frozen=True)
class Attack:
    authorization: Callable[[int], str | None]
    says: str


def attack(name: str, authorization: Callable[[int], str | None], says: str) -> Any:
    return pytest.param(Attack(authorization, says), id=name)


def keyed_with_the_public_key(now: int) -> str:
    """Algorithm confusion: HS256 whose "secret" is the PEM of the JWKS's RSA key, under its kid."""
    return assembled(
        {**HS256_HEADER, "kid": "rsa-1"},
        user_claims(now),
        lambda signing_input: hmac.new(RSA_PUBLIC_PEM, signing_input, hashlib.sha256).digest(),
    )


def _unsigned(signing_input: bytes) -> bytes:
    return b""


NONE_HEADER = {"alg": "none", "typ": "JWT"}
HS256_HEADER = {"alg": "HS256", "typ": "JWT"}

ATTACKS = [
    # Claims: signed with the project's own secret, one claim wrong.
    attack(
        "expired",
        lambda now: bearer(hs256(user_claims(now, iat=now - 3600, exp=now - 60))),
        "Signature has expired",
    ),
    attack(
        "not-yet-valid",
        lambda now: bearer(hs256(user_claims(now, nbf=now + 60))),
        "The token is not yet valid",
    ),
    attack(
        "wrong-audience",
        lambda now: bearer(hs256(user_claims(now, aud="other"))),
        "wrong audience",
    ),
    attack("no-audience", lambda now: bearer(hs256(user_claims(now, aud=None))), "wrong audience"),
    attack(
        "wrong-issuer",
        lambda now: bearer(hs256(user_claims(now, iss="https://evil.example/auth/v1"))),
        "unexpected issuer",
    ),
    attack("no-sub", lambda now: bearer(hs256(user_claims(now, sub=None))), "not a user id"),
    attack(
        "sub-not-a-uuid",
        lambda now: bearer(hs256(user_claims(now, sub="not-a-uuid"))),
        "not a user id",
    ),
    attack("role-anon", lambda now: bearer(hs256(user_claims(now, role="anon"))), "Sign in first"),
    attack("no-exp", lambda now: bearer(hs256(user_claims(now, exp=None))), '"exp" claim'),
    attack("anon-key", lambda now: bearer(hs256(anon_claims(now))), "Sign in first"),
    attack(
        "service-key-expired",
        lambda now: bearer(hs256(service_claims(now, iat=now - 7200, exp=now - 60))),
        "Signature has expired",
    ),
    attack(
        "service-key-wrong-issuer",
        lambda now: bearer(hs256(service_claims(now, iss="https://evil.example/auth/v1"))),
        "unexpected issuer",
    ),
    # Signatures: genuine-looking claims, signed otherwise or not at all.
    attack(
        "alg-none-user",
        lambda now: bearer(assembled(NONE_HEADER, user_claims(now), _unsigned)),
        "its algorithm is not accepted",
    ),
    attack(
        "alg-none-service",
        lambda now: bearer(assembled(NONE_HEADER, service_claims(now), _unsigned)),
        "its algorithm is not accepted",
    ),
    attack(
        "hs256-another-secret-user",
        lambda now: bearer(hs256(user_claims(now), OTHER_SECRET)),
        "Signature verification failed",
    ),
    attack(
        "hs256-another-secret-service",
        lambda now: bearer(hs256(service_claims(now), OTHER_SECRET)),
        "Signature verification failed",
    ),
    attack(
        "signature-stripped",
        lambda now: bearer(assembled(HS256_HEADER, service_claims(now), _unsigned)),
        "Signature verification failed",
    ),
    attack(
        "hs256-keyed-with-the-jwks-rsa-public-key",
        lambda now: bearer(keyed_with_the_public_key(now)),
        "Signature verification failed",  # checked with the secret: the JWKS is not for HS256
    ),
    attack(
        "rs256-unknown-kid",
        lambda now: bearer(rs256(user_claims(now), FOREIGN_RSA_KEY, kid="unknown")),
        "Unable to find a signing key",
    ),
    attack(
        "rs256-with-its-own-key-embedded-as-jwk",  # the key must come from the project's JWKS
        lambda now: bearer(
            rs256(
                user_claims(now), FOREIGN_RSA_KEY, kid="rsa-1", jwk={**FOREIGN_JWK, "kid": "rsa-1"}
            )
        ),
        "Signature verification failed",
    ),
    attack(
        "rs256-with-a-jku-to-the-attackers-keys",  # never fetched: the JWKS URL is configured
        lambda now: bearer(
            rs256(user_claims(now), FOREIGN_RSA_KEY, kid="attacker", jku=ATTACKER_JKU)
        ),
        "Unable to find a signing key",
    ),
    attack(
        "rs256-foreign-key-under-a-known-kid",
        lambda now: bearer(rs256(user_claims(now), FOREIGN_RSA_KEY, kid="rsa-1")),
        "Signature verification failed",
    ),
    attack(
        "user-token-edited-to-service-role",
        lambda now: bearer(edited(hs256(user_claims(now)), role="service_role")),
        "Signature verification failed",
    ),
    attack(
        "user-token-edited-to-another-sub",
        lambda now: bearer(edited(hs256(user_claims(now, ATTACKER)), sub=str(VICTIM))),
        "Signature verification failed",
    ),
    attack(
        "rs256-user-token-edited-to-service-role",
        lambda now: bearer(edited(rs256(user_claims(now)), role="service_role")),
        "Signature verification failed",
    ),
    attack(
        "anon-key-edited-to-service-role",  # the closest to a user-level key (see top)
        lambda now: bearer(edited(hs256(anon_claims(now)), role="service_role")),
        "Signature verification failed",
    ),
    # Header shapes: a genuine token sent wrongly, or no token at all.
    attack("no-header", lambda now: None, "Send Authorization: Bearer <token>."),
    attack(
        "bearer-missing",
        lambda now: hs256(service_claims(now)),
        "Send Authorization: Bearer <token>.",
    ),
    attack(
        "basic-scheme",
        lambda now: f"Basic {hs256(service_claims(now))}",
        "Send Authorization: Bearer <token>.",
    ),
    attack("empty-bearer", lambda now: "Bearer ", "Send Authorization: Bearer <token>."),
    attack(
        "two-tokens",
        lambda now: bearer(f"{hs256(user_claims(now))} {hs256(service_claims(now))}"),
        "The token is not a JWT.",
    ),
    attack(
        "token-of-20-kb",
        lambda now: bearer(hs256(service_claims(now, pad="x" * 20_480), OTHER_SECRET)),
        "Signature verification failed",
    ),
]


# The databases: one seeded for the attacks and never written to, one for the rightful callers.


def snapshot(conn: Conn) -> Snapshot:
    """Every table of schema badges as (row count, md5 of its rows in order), and every
    sequence of it as (last value, "")."""
    tables = conn.execute(
        "select table_name from information_schema.tables"
        " where table_schema = 'badges' and table_type = 'BASE TABLE' order by 1"
    ).fetchall()
    per_table = [
        sql.SQL(
            "select {name}, count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), ''))"
            " from badges.{table} t"
        ).format(name=sql.Literal(name), table=sql.Identifier(name))
        for (name,) in tables
    ]
    sequences = sql.SQL(
        "select 'sequence ' || sequencename, coalesce(last_value, 0), ''"
        " from pg_catalog.pg_sequences where schemaname = 'badges'"
    )
    query = sql.SQL(" union all ").join([*per_table, sequences])
    return {name: (count, digest) for name, count, digest in conn.execute(query)}


def sync_catalog_with_probe(db: BadgesDb) -> None:
    payload = load_catalog().sync_payload()
    db.sync_catalog(
        payload | {"metrics": [*payload["metrics"], PROBE_METRIC], "leaderboards": [PROBE_BOARD]}
    )


def seed(db: BadgesDb, conn: Conn, victim: uuid.UUID, bystander: uuid.UUID) -> None:
    """Work for every write: the victim holds streak_30d (revoke's badge) and quiz_master_all,
    so has two unread messages, a pending outbox row and a dead one, and a push token; the
    bystander's 3-day streak is due streak_3d, which no batch has awarded yet."""
    db.award_badge(victim, "streak_30d", client=False)
    db.award_badge(victim, "quiz_master_all", client=False)
    conn.execute(
        "update badges.outbox set status = 'dead', attempts = 10, finished_at = now()"
        " where user_id = %s and badge_id = 'quiz_master_all'",
        (victim,),
    )
    # The tokens of the write bodies belong to no earlier test's victim: a user may not take a
    # token another user holds (409), which is not what these tests are about.
    conn.execute(
        "delete from badges.push_tokens where token in (%s, %s)",
        (SEEDED_PUSH_TOKEN, REGISTERED_PUSH_TOKEN),
    )
    db.register_push_token(victim, SEEDED_PUSH_TOKEN, "ios")
    conn.execute(
        "insert into badges.streaks (user_id, current_streak, longest_streak, last_active_day)"
        " values (%s, 3, 3, current_date - 10)",
        (bystander,),
    )


@dataclass
class Database:
    """A database of this module's own: its url, the SQL functions and a connection to seed and
    read it, and its snapshot as last seen."""

    url: str
    db: BadgesDb
    conn: Conn
    seen: Snapshot

    def changed(self) -> list[str]:
        """The tables and sequences that changed since last seen: one snapshot per look."""
        before, after = self.seen, snapshot(self.conn)
        self.seen = after
        return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


@dataclass(frozen=True)
class Target:
    """The function over one of those databases."""

    client: FlaskClient
    database: Database

    def post(self, body: dict[str, Any], authorization: str | None) -> tuple[Answer, list[str]]:
        """The answer, and what the request changed (always looked at, so a leak is reported by
        the test that made it and not by every test after it)."""
        headers = {"Authorization": authorization} if authorization is not None else {}
        response = self.client.post("/", json=body, headers=headers)
        response.close()  # as a server does: runs any after-response work
        answer = Answer(response.status_code, response.get_json(), dict(response.headers))
        return answer, self.database.changed()


@pytest.fixture(scope="module")
def new_database(make_database: Callable[[], str]) -> Iterator[Callable[[bool], Database]]:
    """Factory: a new database with the v1 catalog and the probe metric, seeded with VICTIM and
    BYSTANDER when asked."""
    opened: list[tuple[PostgresStore, Conn]] = []

    def make(seeded: bool) -> Database:
        url = make_database()
        store = PostgresStore(url, pool_size=1)
        conn = psycopg.connect(url, autocommit=True)
        opened.append((store, conn))
        db = BadgesDb(store)
        sync_catalog_with_probe(db)
        if seeded:
            seed(db, conn, VICTIM, BYSTANDER)
        return Database(url, db, conn, snapshot(conn))

    yield make
    for store, conn in opened:
        conn.close()
        store.close()


@pytest.fixture(scope="module")
def function_over(make_client: MakeClient, jwks_url: str) -> Callable[..., Target]:
    """Factory: the function over a database, configured like a project with both key sources
    (its HS256 secret and its RS256/ES256 JWKS) unless env says otherwise, no rate limit."""

    def make(database: Database, **env: str) -> Target:
        client = make_client(
            DATABASE_URL=database.url,
            SUPABASE_URL=PROJECT_URL,
            SUPABASE_JWKS_URL=jwks_url,
            BADGES_RATE_LIMIT_PER_MINUTE="0",
            BADGES_DB_POOL_SIZE="2",
            **env,
        )
        return Target(client, database)

    return make


@pytest.fixture(scope="module")
def attacked(
    new_database: Callable[[bool], Database], function_over: Callable[..., Target]
) -> Target:
    """The seeded database every attack is tried on: it must stay exactly as seeded."""
    return function_over(new_database(True))


@pytest.fixture(scope="module")
def jwks_only(attacked: Target, function_over: Callable[..., Target]) -> Target:
    """The same database under a function without the HS256 secret (a project on asymmetric
    keys only): where algorithm confusion would bite."""
    return function_over(attacked.database, SUPABASE_JWT_SECRET="")


@pytest.fixture(scope="module")
def rightful(
    new_database: Callable[[bool], Database], function_over: Callable[..., Target]
) -> Target:
    """A database the rightful callers write to (each test seeds fresh users)."""
    return function_over(new_database(False))


def assert_refused(answer: Answer, status: int, code: str) -> str:
    """The documented error body, nothing more (no details); returns its message."""
    assert answer.status == status, answer.body
    assert answer.body == {
        "success": False,
        "error": {"code": code, "message": answer.body["error"]["message"]},
    }
    return str(answer.body["error"]["message"])


@pytest.mark.parametrize("write", ALL_WRITES)
@pytest.mark.parametrize("attack", ATTACKS)
def test_a_bad_token_is_unauthorized_on_every_write_and_changes_nothing(
    attacked: Target, attack: Attack, write: Write
):
    """401 `unauthorized` with the reason in the message; no table or sequence changed."""
    answer, changed = attacked.post(write.body(VICTIM), attack.authorization(Tokens.now()))

    assert attack.says in assert_refused(answer, 401, "unauthorized")
    assert changed == []


@pytest.mark.parametrize("write", NAMING_WRITES)
def test_a_user_token_replayed_for_another_user_is_forbidden_and_changes_nothing(
    attacked: Target, write: Write
):
    """A genuine user token whose body names another user: 403 (a service-only action says so
    first), nothing written."""
    token = hs256(user_claims(Tokens.now(), ATTACKER))

    answer, changed = attacked.post(write.body(VICTIM), bearer(token))

    expected = SERVICE_ONLY if write.refusal == SERVICE_ONLY else OWN_DATA_ONLY
    assert assert_refused(answer, 403, "forbidden") == expected
    assert changed == []


@pytest.mark.parametrize("write", SERVICE_WRITES)
def test_a_user_token_on_a_service_write_is_forbidden_and_changes_nothing(
    attacked: Target, write: Write
):
    """The victim's own genuine token, acting on themself, sending what only a service may:
    403 with the documented message, nothing written."""
    answer, changed = attacked.post(write.body(VICTIM), bearer(hs256(user_claims(Tokens.now()))))

    assert assert_refused(answer, 403, "forbidden") == write.refusal
    assert changed == []


@pytest.mark.parametrize("read", DISCOVERY_READS)
@pytest.mark.parametrize("attack", ATTACKS)
def test_a_bad_token_is_unauthorized_on_the_discovery_reads_and_learns_nothing(
    attacked: Target, attack: Attack, read: dict[str, Any]
):
    """401 with the error body alone (no badge, no holder), nothing changed."""
    answer, changed = attacked.post(
        {**read, "user_id": str(VICTIM)}, attack.authorization(Tokens.now())
    )

    assert attack.says in assert_refused(answer, 401, "unauthorized")
    assert changed == []


@pytest.mark.parametrize("read", DISCOVERY_READS)
def test_a_user_token_naming_another_user_on_a_discovery_read_is_forbidden(
    attacked: Target, read: dict[str, Any]
):
    token = hs256(user_claims(Tokens.now(), ATTACKER))

    answer, changed = attacked.post({**read, "user_id": str(VICTIM)}, bearer(token))

    assert assert_refused(answer, 403, "forbidden") == OWN_DATA_ONLY
    assert changed == []


def test_the_discovery_reads_answer_the_genuine_tokens_the_attacks_start_from(attacked: Target):
    """The control: the victim's own token and the service's are served (the victim holds
    streak_30d), so the refusals above are the token's doing."""
    now = Tokens.now()
    for token in (hs256(user_claims(now)), hs256(service_claims(now))):
        badge, _ = attacked.post(
            {"action": "badge", "user_id": str(VICTIM), "badge_id": "streak_30d"}, bearer(token)
        )
        holders, changed = attacked.post(
            {"action": "badge_holders", "badge_id": "streak_30d"}, bearer(token)
        )

        around, _ = attacked.post(
            {"action": "around_me", "user_id": str(VICTIM), "board": "probe_week"}, bearer(token)
        )

        assert badge.status == holders.status == around.status == 200, (badge.body, around.body)
        assert badge.body["me"]["earned"] is True
        assert [e["user_id"] for e in holders.body["entries"]] == [str(VICTIM)]
        assert around.body["me"]["user_id"] == str(VICTIM)
        assert changed == []


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda now: hs256(user_claims(now)), id="hs256-user"),
        pytest.param(lambda now: rs256(user_claims(now)), id="rs256-user"),
        pytest.param(
            lambda now: jwt.encode(
                user_claims(now), EC_KEY, algorithm="ES256", headers={"kid": "ec-1"}
            ),
            id="es256-user",
        ),
        pytest.param(lambda now: hs256(service_claims(now)), id="hs256-service"),
    ],
)
def test_the_genuine_tokens_the_attacks_start_from_are_accepted(
    attacked: Target, token: Callable[[int], str]
):
    """Each attack is one change away from a token this function accepts (a read here, so the
    seeded state stays as it is)."""
    read = {"action": "list", "user_id": str(VICTIM)}

    answer, changed = attacked.post(read, bearer(token(Tokens.now())))

    assert answer.status == 200, answer.body
    assert changed == []


@pytest.mark.parametrize("write", ALL_WRITES)
def test_hs256_keyed_with_the_public_key_is_unauthorized_where_only_the_jwks_is_trusted(
    jwks_only: Target, write: Write
):
    """With no HS256 secret a verifier that fell back to the kid's JWKS key would check the
    HMAC with the published RSA key: HS256 is refused outright, nothing written."""
    answer, changed = jwks_only.post(
        write.body(VICTIM), bearer(keyed_with_the_public_key(Tokens.now()))
    )

    assert assert_refused(answer, 401, "unauthorized") == JWKS_ONLY_ALGORITHMS
    assert changed == []


def test_the_jwks_only_function_takes_the_projects_rs256_tokens_and_no_hs256(jwks_only: Target):
    """The configuration above is what it says: the JWKS's key verifies, the secret is gone."""
    read = {"action": "list", "user_id": str(VICTIM)}

    accepted, read_changed = jwks_only.post(read, bearer(rs256(user_claims(Tokens.now()))))
    refused, changed = jwks_only.post(read, bearer(hs256(user_claims(Tokens.now()))))

    assert accepted.status == 200, accepted.body
    assert assert_refused(refused, 401, "unauthorized") == JWKS_ONLY_ALGORITHMS
    assert read_changed == changed == []


@pytest.mark.parametrize(("write", "as_service"), RIGHTFUL_CALLS)
def test_each_body_from_its_rightful_caller_succeeds_and_changes_the_snapshot(
    rightful: Target, write: Write, as_service: bool
):
    """The control: the attacks' bodies are valid and have work to do, so the snapshot would
    show a write that got through."""
    victim, bystander = uuid.uuid4(), uuid.uuid4()
    seed(rightful.database.db, rightful.database.conn, victim, bystander)
    claims = service_claims(Tokens.now()) if as_service else user_claims(Tokens.now(), victim)
    rightful.database.changed()  # the seed is seen

    answer, changed = rightful.post(write.body(victim), bearer(hs256(claims)))

    assert answer.status == 200, answer.body
    assert answer.body["success"] is True
    assert changed != []

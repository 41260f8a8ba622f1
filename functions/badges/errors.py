"""Every error the function answers with, as one tree rooted at BadgesError.

    BadgesError                      status  code
    ├── InvalidJson                  400     invalid_json
    ├── UnknownAction                400     unknown_action
    ├── InvalidRequest               400     invalid_request
    ├── Unauthorized                 401     unauthorized
    ├── Forbidden                    403     forbidden
    ├── UnknownBadge                 404     unknown_badge
    ├── UnknownProvider              404     unknown_provider
    ├── UnknownMetric                404     unknown_metric
    ├── UnknownLevel                 404     unknown_level
    ├── UnknownShare                 404     unknown_share
    ├── UnknownUser                  404     unknown_user
    ├── UnknownLeaderboard           404     unknown_leaderboard
    ├── MethodNotAllowed             405     method_not_allowed
    ├── BadgeInactive                409     badge_inactive
    ├── BadgeNotEarned               409     badge_not_earned
    ├── IdempotencyConflict          409     idempotency_conflict
    ├── PayloadTooLarge              413     payload_too_large
    ├── RateLimited                  429     rate_limited      (Retry-After)
    ├── Unavailable                  503     unavailable       (Retry-After)
    └── Internal                     500     internal

Layers raise these; the endpoint is the only place they become HTTP responses.
"""

from __future__ import annotations

from typing import Any, ClassVar


class BadgesError(Exception):
    """An error with an HTTP status, a machine-readable code and a sentence for humans."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"

    def __init__(
        self, message: str, *, details: Any = None, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"success": False, "error": error}


class InvalidJson(BadgesError):
    """The body is not UTF-8 JSON, or not a JSON object."""

    status, code = 400, "invalid_json"


class UnknownAction(BadgesError):
    """action is missing, not a string, or not an action's name (details.known lists them)."""

    status, code = 400, "unknown_action"


class InvalidRequest(BadgesError):
    """A field is missing, of the wrong type or out of bounds (details: pydantic's errors), or
    has a value the action cannot take."""

    status, code = 400, "invalid_request"


class Unauthorized(BadgesError):
    """No credentials, or ones that are not valid: a token's signature, expiry, audience,
    issuer or role; a secret key that is not configured."""

    status, code = 401, "unauthorized"


class Forbidden(BadgesError):
    """The caller may not do this: a user naming another user, calling a service's action, or
    going past what clients may award or track."""

    status, code = 403, "forbidden"


class UnknownBadge(BadgesError):
    """No (enabled) badge has that id; badge, badge_holders: none the caller may see (a hidden
    badge they have not earned looks the same as an id no badge has)."""

    status, code = 404, "unknown_badge"


class UnknownProvider(BadgesError):
    """No active quiz provider has that id."""

    status, code = 404, "unknown_provider"


class UnknownMetric(BadgesError):
    """No enabled metric has that id."""

    status, code = 404, "unknown_metric"


class UnknownLevel(BadgesError):
    """No enabled level has that id."""

    status, code = 404, "unknown_level"


class UnknownShare(BadgesError):
    """No share has that id."""

    status, code = 404, "unknown_share"


class UnknownUser(BadgesError):
    """profile: no user with a public profile has that id (an opted-out user looks the same to
    others as an id never seen)."""

    status, code = 404, "unknown_user"


class UnknownLeaderboard(BadgesError):
    """No enabled leaderboard of the catalog has that id."""

    status, code = 404, "unknown_leaderboard"


class BadgeInactive(BadgesError):
    """The badge is outside its starts_at/ends_at window and the user has not earned it."""

    status, code = 409, "badge_inactive"


class BadgeNotEarned(BadgesError):
    """showcase: a badge the user has not earned cannot be pinned."""

    status, code = 409, "badge_not_earned"


class PushTokenTaken(BadgesError):
    """register_push_token: another user holds that push token (a service caller may move it)."""

    status, code = 409, "push_token_taken"


class IdempotencyConflict(BadgesError):
    """The idempotency_key was used for a different metric, amount or item."""

    status, code = 409, "idempotency_conflict"


class MethodNotAllowed(BadgesError):
    """Any method but POST, GET …/health and OPTIONS."""

    status, code = 405, "method_not_allowed"


class PayloadTooLarge(BadgesError):
    """The body is over 64 KiB."""

    status, code = 413, "payload_too_large"


class RateLimited(BadgesError):
    """The user's client writes are over the limit: retry after Retry-After seconds."""

    status, code = 429, "rate_limited"


class Unavailable(BadgesError):
    """The database (or the project's JWKS) cannot answer now; nothing was committed. Retry
    after Retry-After seconds."""

    status, code = 503, "unavailable"


class Internal(BadgesError):
    """A bug: logged with the request id that details.request_id gives."""

    status, code = 500, "internal"

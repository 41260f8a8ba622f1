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
    ├── MethodNotAllowed             405     method_not_allowed
    ├── BadgeInactive                409     badge_inactive
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
    status, code = 400, "invalid_json"


class UnknownAction(BadgesError):
    status, code = 400, "unknown_action"


class InvalidRequest(BadgesError):
    status, code = 400, "invalid_request"


class Unauthorized(BadgesError):
    status, code = 401, "unauthorized"


class Forbidden(BadgesError):
    status, code = 403, "forbidden"


class UnknownBadge(BadgesError):
    status, code = 404, "unknown_badge"


class UnknownProvider(BadgesError):
    status, code = 404, "unknown_provider"


class UnknownMetric(BadgesError):
    status, code = 404, "unknown_metric"


class UnknownLevel(BadgesError):
    status, code = 404, "unknown_level"


class UnknownShare(BadgesError):
    status, code = 404, "unknown_share"


class BadgeInactive(BadgesError):
    status, code = 409, "badge_inactive"


class IdempotencyConflict(BadgesError):
    status, code = 409, "idempotency_conflict"


class MethodNotAllowed(BadgesError):
    status, code = 405, "method_not_allowed"


class PayloadTooLarge(BadgesError):
    status, code = 413, "payload_too_large"


class RateLimited(BadgesError):
    status, code = 429, "rate_limited"


class Unavailable(BadgesError):
    status, code = 503, "unavailable"


class Internal(BadgesError):
    status, code = 500, "internal"

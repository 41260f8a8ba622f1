"""One table from SQLSTATE to our errors, shared by both stores: they map by code, never by
message text, and never trust PostgREST's HTTP status (it answers 400 for custom codes)."""

from __future__ import annotations

import logging

from badges.errors import (
    BadgeInactive,
    BadgeNotEarned,
    BadgesError,
    Forbidden,
    IdempotencyConflict,
    Internal,
    InvalidRequest,
    PushTokenTaken,
    Unavailable,
    UnknownBadge,
    UnknownLeaderboard,
    UnknownLevel,
    UnknownMetric,
    UnknownProvider,
    UnknownShare,
    UnknownUser,
)

log = logging.getLogger("badges.store")

# Seconds a client is told to wait when the database is unavailable.
RETRY_AFTER = 2

ERRORS_BY_SQLSTATE: dict[str, type[BadgesError]] = {
    # Raised by the badges SQL functions (class BD).
    "BD001": UnknownBadge,
    "BD002": UnknownProvider,
    "BD003": Forbidden,
    "BD004": InvalidRequest,
    "BD005": UnknownMetric,
    "BD006": BadgeInactive,
    "BD007": UnknownLevel,
    "BD008": IdempotencyConflict,
    "BD009": UnknownShare,
    "BD010": PushTokenTaken,
    "BD011": UnknownUser,
    "BD012": BadgeNotEarned,
    "BD013": UnknownLeaderboard,
    # Bad values that got past validation: still the caller's input, never a 500.
    "22001": InvalidRequest,  # string_data_right_truncation
    "22008": InvalidRequest,  # datetime_field_overflow
    "22009": InvalidRequest,  # invalid_time_zone_displacement_value (a UTC offset over 15:59)
    "22003": InvalidRequest,  # numeric_value_out_of_range
    "22021": InvalidRequest,  # character_not_in_repertoire (NUL bytes)
    "22P02": InvalidRequest,  # invalid_text_representation
    "23514": InvalidRequest,  # check_violation (a value a table constraint refuses)
    # Transient: retry later, nothing was committed.
    "40001": Unavailable,  # serialization_failure
    "40P01": Unavailable,  # deadlock_detected
    "55P03": Unavailable,  # lock_not_available
    "57014": Unavailable,  # query_canceled (statement_timeout)
    "57P01": Unavailable,  # admin_shutdown
    "57P02": Unavailable,  # crash_shutdown
    "57P03": Unavailable,  # cannot_connect_now
}

# Whole SQLSTATE classes that mean the database cannot serve us right now.
UNAVAILABLE_CLASSES = ("08", "53", "58")


def error_for(sqlstate: str | None, message: str, detail: str | None = None) -> BadgesError:
    """Our error for a database error; unknown codes are bugs (500) and are logged in full."""
    kind = ERRORS_BY_SQLSTATE.get(sqlstate or "")
    if kind is None and sqlstate and sqlstate[:2] in UNAVAILABLE_CLASSES:
        kind = Unavailable
    if kind is Unavailable:
        # The answer (503) says only "try again"; the log says why.
        log.warning("database unavailable (%s): %s", sqlstate, message)
        return unavailable()
    if kind is None:
        log.error("unexpected database error %s: %s (%s)", sqlstate, message, detail)
        return Internal("Internal error.")
    return kind(f"{message[:1].upper()}{message[1:]}: {detail}" if detail else message)


def unavailable() -> Unavailable:
    return Unavailable("The database is unavailable; try again shortly.", retry_after=RETRY_AFTER)

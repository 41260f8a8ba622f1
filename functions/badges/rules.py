"""The kinds of rule a badge can be earned by, and what each needs; the periods a leaderboard
counts over. Pure: no I/O.

The rules are evaluated in SQL (badges.award_qualifying), set-based and atomically, and SQL also
refuses a client award of a non-client badge (BD003); this module is what the catalog file is
validated against before it is synced.
"""

from __future__ import annotations

from enum import StrEnum


class Rule(StrEnum):
    STREAK = "streak"  # longest activity streak >= threshold days
    QUIZ_DISTINCT = "quiz_distinct"  # correct on >= threshold distinct active providers
    QUIZ_ALL = "quiz_all"  # correct on every active provider
    METRIC = "metric"  # the user's total of metric >= threshold (or within the last within_days)
    DISTINCT = "distinct"  # distinct items tracked for metric >= threshold (or within the window)
    ACTIVE_DAYS = "active_days"  # active on >= threshold of the last within_days days
    ALL_OF = "all_of"  # every badge in requires earned
    CLIENT = "client"  # awarded on the client's word (a share)
    SHARED = "shared"  # awarded when another user opens a link the user shared (server-observed)
    MANUAL = "manual"  # awarded by a service caller only
    RANK = "rank"  # placed in the top threshold of a finished period of the leaderboard board

    @property
    def needs_threshold(self) -> bool:
        return self in (
            Rule.STREAK,
            Rule.QUIZ_DISTINCT,
            Rule.METRIC,
            Rule.DISTINCT,
            Rule.ACTIVE_DAYS,
            Rule.RANK,
        )

    @property
    def needs_metric(self) -> bool:
        return self in (Rule.METRIC, Rule.DISTINCT)

    @property
    def needs_window(self) -> bool:
        """within_days is required: "active on 5 days" means nothing without "of the last 7"."""
        return self is Rule.ACTIVE_DAYS

    @property
    def windowable(self) -> bool:
        """May look back over a rolling within_days window (a dynamic badge): the rules whose
        value is a sum over dated records. A streak, quiz answers and badges held are not."""
        return self in (Rule.METRIC, Rule.DISTINCT, Rule.ACTIVE_DAYS)

    @property
    def needs_requires(self) -> bool:
        return self is Rule.ALL_OF

    @property
    def needs_board(self) -> bool:
        """A rank badge is a place on a [[leaderboards]] board of the same file."""
        return self is Rule.RANK

    @property
    def client_awardable(self) -> bool:
        return self is Rule.CLIENT

    @property
    def automatic(self) -> bool:
        """Evaluated by the server's rules; only these may be revoked when no longer met."""
        return self not in (Rule.CLIENT, Rule.SHARED, Rule.MANUAL)

    @property
    def revocable(self) -> bool:
        """May be auto_revoke: an automatic rule whose truth can lapse. A place in the top N of
        a finished period cannot: the period's ranking never changes again."""
        return self.automatic and self is not Rule.RANK


class Tier(StrEnum):
    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"
    DIAMOND = "diamond"


class Period(StrEnum):
    """How long a leaderboard counts before it starts again from zero."""

    ALL_TIME = "all_time"  # never: the board never finishes a period
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    SEASON = "season"  # once, from starts_at to ends_at

    @property
    def finishes(self) -> bool:
        """Has periods that end, after which their ranking is final (what a rank badge reads)."""
        return self is not Period.ALL_TIME


class Weekday(StrEnum):
    """The day a weekly board's week starts on."""

    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"

    @property
    def iso(self) -> int:
        """ISO 8601's day number: Monday 1 ... Sunday 7 (PostgreSQL's isodow)."""
        return list(Weekday).index(self) + 1

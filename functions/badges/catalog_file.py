"""The catalog file's schema: what may be written in it, checked entry by entry and across
entries. Pure; badges.catalog turns a valid file into the domain definitions.

Every model forbids unknown keys: a misspelt field is an error, not a silently ignored line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)

from badges.rules import Period, Rule, Tier, Weekday

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
I18nKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]

# The longest rolling window a dynamic badge may look back over: a year, leap day included.
MAX_WITHIN_DAYS = 366
# A rank badge goes to the top threshold of a finished period: at most the top 100.
MAX_RANK = 100
# The boards every catalog has (their ids are taken) and the counts a board may rank by besides
# the file's own [[metrics]]: badges held, and correct quiz answers.
BUILTIN_BOARDS = ("badge_count", "correct_count")
BUILTIN_METRICS = ("badge_count", "quiz_correct")


def _offset_datetime(value: object) -> object:
    # A string that looks like a date is refused rather than parsed: in TOML it is a quoting
    # mistake. A local time is a different instant on every server; the window must not be.
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError("must be a TOML datetime with a time zone offset: 2025-10-01T00:00:00Z")
    return value


OffsetDatetime = Annotated[datetime, BeforeValidator(_offset_datetime)]


def _check_needs(subject: str, field: str, *, needed: bool, given: bool) -> None:
    """Raise "<subject> needs <field>" or "<subject> takes no <field>" when given is wrong."""
    if needed != given:
        need = "needs" if needed else "takes no"
        raise ValueError(f"{subject} {need} {field}")


def _duplicates(ids: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    dupes: set[str] = set()
    for i in ids:
        (dupes if i in seen else seen).add(i)
    return sorted(dupes)


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BadgeEntry(Entry):
    id: Id
    name: Name
    rule: Rule
    description: str = Field(default="", max_length=1000)
    icon: str = Field(default="", max_length=200)
    category: str = Field(default="general", min_length=1, max_length=64)
    tier: Tier = Tier.BRONZE
    threshold: StrictInt | None = Field(default=None, gt=0)
    metric: Id | None = None
    requires: list[Id] = Field(default_factory=list)
    hidden: StrictBool = False
    sort_order: StrictInt = 0
    auto_revoke: StrictBool = False
    enabled: StrictBool = True
    starts_at: OffsetDatetime | None = None
    ends_at: OffsetDatetime | None = None
    label_key: I18nKey | None = None
    description_key: I18nKey | None = None
    notify: StrictBool = True
    # A dynamic badge: its rule counts only the last within_days days (see _window_fits_rule).
    within_days: StrictInt | None = Field(default=None, ge=1, le=MAX_WITHIN_DAYS)
    board: Id | None = None  # a rank badge's [[leaderboards]] id (see CatalogFile._boards_resolve)

    @model_validator(mode="after")
    def _fields_match_rule(self) -> BadgeEntry:
        rule, subject = self.rule, f"rule {self.rule.value!r}"
        _check_needs(
            subject, "threshold", needed=rule.needs_threshold, given=self.threshold is not None
        )
        _check_needs(subject, "metric", needed=rule.needs_metric, given=self.metric is not None)
        _check_needs(subject, "requires", needed=rule.needs_requires, given=bool(self.requires))
        _check_needs(subject, "board", needed=rule.needs_board, given=self.board is not None)
        if self.auto_revoke and not rule.revocable:
            # Only a rule the server evaluates can tell that a badge is no longer deserved, and
            # a rank in a finished period is deserved for good.
            why = (
                "a finished period's ranking never changes"
                if rule.automatic
                else "not evaluated by rules"
            )
            raise ValueError(f"{subject} takes no auto_revoke ({why})")
        return self

    @model_validator(mode="after")
    def _rank_is_a_top_n(self) -> BadgeEntry:
        if self.rule is Rule.RANK and self.threshold is not None and self.threshold > MAX_RANK:
            raise ValueError(
                f"rule 'rank' takes a threshold of 1-{MAX_RANK} (the top N of a finished "
                f"period), not {self.threshold}"
            )
        return self

    @model_validator(mode="after")
    def _window_fits_rule(self) -> BadgeEntry:
        rule, days = self.rule, self.within_days
        if days is None:
            if rule.needs_window:
                raise ValueError(
                    f"rule {rule.value!r} needs within_days (the window of days it counts "
                    "active days in)"
                )
            return self
        if not rule.windowable:
            raise ValueError(
                f"rule {rule.value!r} takes no within_days (only metric, distinct and "
                "active_days count over a window)"
            )
        # A windowed badge is held only while its window holds, so it is always revoked when
        # it lapses (auto_revoke is implied); saying otherwise is a contradiction, not a choice.
        if "auto_revoke" in self.model_fields_set and not self.auto_revoke:
            raise ValueError(
                "a badge with within_days is revoked when its window lapses: remove "
                "auto_revoke = false"
            )
        if rule is Rule.ACTIVE_DAYS and self.threshold is not None and self.threshold > days:
            raise ValueError(
                f"threshold {self.threshold} is more days than within_days {days} holds: "
                "the badge could never be earned"
            )
        return self

    @model_validator(mode="after")
    def _requires_is_a_set_of_others(self) -> BadgeEntry:
        dupes = _duplicates(self.requires)
        if dupes:
            raise ValueError(f"duplicate requires: {', '.join(dupes)}")
        if self.id in self.requires:
            raise ValueError(f"badge {self.id!r} requires itself")
        return self

    @model_validator(mode="after")
    def _window_is_ordered(self) -> BadgeEntry:
        if (
            self.starts_at is not None
            and self.ends_at is not None
            and self.starts_at >= self.ends_at
        ):
            raise ValueError("starts_at must be before ends_at")
        return self


class ProviderEntry(Entry):
    id: Id
    name: Name
    sort_order: StrictInt = 0


class MetricEntry(Entry):
    id: Id
    name: Name
    description: str = Field(default="", max_length=1000)
    unit: str = Field(default="", max_length=64)  # plural, as in "3 more projects"
    unit_one: str = Field(default="", max_length=64)  # singular, as in "1 more project"
    # Off by default: a metric a user could raise with their own token is a badge they could
    # award themselves, so self-tracking is opted into per metric, and bounded per call.
    user_trackable: StrictBool = False
    user_max_amount: StrictInt = Field(default=1, ge=1, le=1000)


class RequirementEntry(Entry):
    metric: Id
    count: StrictInt = Field(gt=0)


class LevelEntry(Entry):
    id: Id
    name: Name
    description: str = Field(default="", max_length=1000)
    sort_order: StrictInt = 0
    requirements: list[RequirementEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _each_metric_once(self) -> LevelEntry:
        dupes = _duplicates(r.metric for r in self.requirements)
        if dupes:
            raise ValueError(f"level {self.id!r} requires a metric twice: {', '.join(dupes)}")
        return self


class StreakFreezesEntry(Entry):
    """[streak_freezes]: one freeze each time a current streak reaches a multiple of every_days,
    while the user holds fewer than max_held."""

    every_days: StrictInt = Field(ge=1, le=MAX_WITHIN_DAYS)
    max_held: StrictInt = Field(ge=1, le=100)


class LeaderboardEntry(Entry):
    """[[leaderboards]]: users ranked by a metric, over all time or afresh each period."""

    id: Id
    name: Name
    description: str = Field(default="", max_length=1000)
    metric: Id  # a [[metrics]] id of the same file, or one of BUILTIN_METRICS
    period: Period = Period.ALL_TIME
    timezone: str = "UTC"  # an IANA name: where the board's days, weeks and months begin
    week_start: Weekday = Weekday.MONDAY  # weekly boards only
    starts_at: OffsetDatetime | None = None  # season boards only, and required by them
    ends_at: OffsetDatetime | None = None
    sort_order: StrictInt = 0

    @model_validator(mode="after")
    def _id_is_not_built_in(self) -> LeaderboardEntry:
        if self.id in BUILTIN_BOARDS:
            raise ValueError(f"leaderboard {self.id!r} is a built-in board: choose another id")
        return self

    @model_validator(mode="after")
    def _timezone_is_known(self) -> LeaderboardEntry:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory, e.g. "America"
            raise ValueError(
                f"leaderboard {self.id!r}: unknown timezone {self.timezone!r} (an IANA name, "
                "e.g. 'Europe/Paris')"
            ) from None
        return self

    @model_validator(mode="after")
    def _fields_match_period(self) -> LeaderboardEntry:
        period, subject = self.period, f"leaderboard {self.id!r}: period {self.period.value!r}"
        if period is not Period.WEEKLY:
            _check_needs(
                subject, "week_start", needed=False, given="week_start" in self.model_fields_set
            )
        season = period is Period.SEASON
        _check_needs(subject, "starts_at", needed=season, given=self.starts_at is not None)
        _check_needs(subject, "ends_at", needed=season, given=self.ends_at is not None)
        if (
            self.starts_at is not None
            and self.ends_at is not None
            and self.starts_at >= self.ends_at
        ):
            raise ValueError(f"leaderboard {self.id!r}: starts_at must be before ends_at")
        return self


class CatalogFile(Entry):
    badges: list[BadgeEntry] = Field(min_length=1)
    providers: list[ProviderEntry] = Field(default_factory=list)
    metrics: list[MetricEntry] = Field(default_factory=list)
    levels: list[LevelEntry] = Field(default_factory=list)
    streak_freezes: StreakFreezesEntry | None = None
    leaderboards: list[LeaderboardEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ids_are_unique(self) -> CatalogFile:
        for kind, ids in (
            ("badge", [b.id for b in self.badges]),
            ("provider", [p.id for p in self.providers]),
            ("metric", [m.id for m in self.metrics]),
            ("level", [lv.id for lv in self.levels]),
            ("leaderboard", [lb.id for lb in self.leaderboards]),
        ):
            dupes = _duplicates(ids)
            if dupes:
                raise ValueError(f"duplicate {kind} ids: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _references_resolve(self) -> CatalogFile:
        metrics = {m.id for m in self.metrics}
        badges = {b.id for b in self.badges}
        for badge in self.badges:
            if badge.metric is not None and badge.metric not in metrics:
                raise ValueError(f"badge {badge.id!r}: unknown metric {badge.metric!r}")
            for required in badge.requires:
                if required not in badges:
                    raise ValueError(f"badge {badge.id!r} requires unknown badge {required!r}")
        for level in self.levels:
            for requirement in level.requirements:
                if requirement.metric not in metrics:
                    raise ValueError(f"level {level.id!r}: unknown metric {requirement.metric!r}")
        # A cycle would make every badge on it unearnable: each waits for the next.
        cycle = _find_cycle({b.id: b.requires for b in self.badges})
        if cycle:
            raise ValueError(f"requires cycle: {' -> '.join(cycle)}")
        return self

    @model_validator(mode="after")
    def _boards_resolve(self) -> CatalogFile:
        metrics = {m.id for m in self.metrics} | set(BUILTIN_METRICS)
        for board in self.leaderboards:
            if board.metric not in metrics:
                raise ValueError(f"leaderboard {board.id!r}: unknown metric {board.metric!r}")
        periods = {lb.id: lb.period for lb in self.leaderboards}
        for badge in self.badges:
            if badge.board is None:
                continue
            if badge.board not in periods:
                raise ValueError(f"badge {badge.id!r}: unknown leaderboard {badge.board!r}")
            if not periods[badge.board].finishes:
                # A rank is read off a finished period; an all-time board never has one.
                raise ValueError(
                    f"badge {badge.id!r}: leaderboard {badge.board!r} is all_time and never "
                    "finishes a period: rank a daily, weekly, monthly or season board"
                )
        return self


def _find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A path a -> ... -> a through the graph, or None if it is acyclic."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        path.append(node)
        for successor in graph.get(node, ()):
            cycle = visit(successor)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return None

    for node in graph:
        cycle = visit(node)
        if cycle:
            return cycle
    return None

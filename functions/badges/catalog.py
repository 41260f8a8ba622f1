"""The badge catalog: one TOML file, validated, turned into plain definitions. Pure but for the
file read in load_catalog.

Adding a badge is one [[badges]] entry in the file; `badges sync-catalog` writes it to the
database (badges.sync_catalog), which is what the SQL rules read. The file's schema is in
badges.catalog_file.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

from pydantic import ValidationError

from badges.catalog_file import BadgeEntry, CatalogFile, LevelEntry
from badges.rules import Period, Rule, Tier, Weekday

CATALOGS_DIR = Path(__file__).resolve().parents[2] / "supabase" / "catalogs"
DEFAULT_CATALOG = CATALOGS_DIR / "default.toml"

JsonObject = dict[str, Any]


class SyncPayload(TypedDict):
    """badges.sync_catalog's one argument, p_catalog: the whole catalog as JSON values."""

    badges: list[JsonObject]
    providers: list[JsonObject]
    metrics: list[JsonObject]
    levels: list[JsonObject]
    streak_freezes: JsonObject | None  # None: no automatic freeze grants
    leaderboards: list[JsonObject]


class CatalogError(ValueError):
    """The catalog file is missing or invalid; the message names the file and the problem."""


@dataclass(frozen=True)
class BadgeDefinition:
    id: str
    name: str
    rule: Rule
    description: str = ""
    icon: str = ""
    category: str = "general"
    tier: Tier = Tier.BRONZE
    threshold: int | None = None
    metric: str | None = None
    requires: tuple[str, ...] = ()
    hidden: bool = False
    sort_order: int = 0
    auto_revoke: bool = False
    enabled: bool = True  # a disabled badge is synced (awards keep it) but awarded to nobody new
    starts_at: datetime | None = None  # the active window of a seasonal badge
    ends_at: datetime | None = None
    label_key: str | None = None  # i18n keys, for apps that translate rather than show name
    description_key: str | None = None
    notify: bool = True  # false: awarded without an inbox message or an outbox row
    # A dynamic badge: its rule counts only the last within_days days; auto_revoke is then true.
    within_days: int | None = None
    board: str | None = None  # a rank badge's leaderboard


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    sort_order: int = 0


@dataclass(frozen=True)
class Metric:
    id: str
    name: str
    description: str = ""
    unit: str = ""
    unit_one: str = ""
    user_trackable: bool = False
    user_max_amount: int = 1


@dataclass(frozen=True)
class Requirement:
    metric: str
    count: int


@dataclass(frozen=True)
class Level:
    id: str
    name: str
    requirements: tuple[Requirement, ...]
    description: str = ""
    sort_order: int = 0


@dataclass(frozen=True)
class StreakFreezes:
    """The [streak_freezes] policy: a freeze per every_days of current streak, at most max_held."""

    every_days: int
    max_held: int


@dataclass(frozen=True)
class Leaderboard:
    """A [[leaderboards]] board: users ranked by metric, over all time or period by period."""

    id: str
    name: str
    metric: str  # a catalog metric, or badge_count or quiz_correct
    description: str = ""
    period: Period = Period.ALL_TIME
    timezone: str = "UTC"  # where the board's days, weeks and months begin
    week_start: Weekday = Weekday.MONDAY  # read by weekly boards only
    starts_at: datetime | None = None  # a season's dates; None on every other period
    ends_at: datetime | None = None
    sort_order: int = 0


@dataclass(frozen=True)
class Catalog:
    badges: tuple[BadgeDefinition, ...]
    providers: tuple[Provider, ...]
    metrics: tuple[Metric, ...]
    levels: tuple[Level, ...]
    streak_freezes: StreakFreezes | None = None
    leaderboards: tuple[Leaderboard, ...] = ()

    def sync_payload(self) -> SyncPayload:
        """badges.sync_catalog's p_catalog, JSON-ready: json.dumps takes it as it is."""
        return {
            "badges": [_badge_json(b) for b in self.badges],
            "providers": [asdict(p) for p in self.providers],
            "metrics": [asdict(m) for m in self.metrics],
            "levels": [_level_json(lv) for lv in self.levels],
            "streak_freezes": (
                asdict(self.streak_freezes) if self.streak_freezes is not None else None
            ),
            "leaderboards": [_leaderboard_json(lb) for lb in self.leaderboards],
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _badge_json(b: BadgeDefinition) -> JsonObject:
    # Spelt out rather than asdict: SQL reads these keys, and enums, tuples and datetimes need
    # turning into JSON's own types.
    return {
        "id": b.id,
        "name": b.name,
        "description": b.description,
        "icon": b.icon,
        "category": b.category,
        "tier": b.tier.value,
        "rule": b.rule.value,
        "threshold": b.threshold,
        "metric": b.metric,
        "requires": list(b.requires),
        "hidden": b.hidden,
        "sort_order": b.sort_order,
        "auto_revoke": b.auto_revoke,
        "notify": b.notify,
        "enabled": b.enabled,
        "starts_at": _iso(b.starts_at),
        "ends_at": _iso(b.ends_at),
        "label_key": b.label_key,
        "description_key": b.description_key,
        "within_days": b.within_days,
        "board": b.board,
    }


def _level_json(level: Level) -> JsonObject:
    return {
        "id": level.id,
        "name": level.name,
        "description": level.description,
        "sort_order": level.sort_order,
        "requirements": [asdict(r) for r in level.requirements],
    }


def _leaderboard_json(board: Leaderboard) -> JsonObject:
    return {
        "id": board.id,
        "name": board.name,
        "description": board.description,
        "metric": board.metric,
        "period": board.period.value,
        "timezone": board.timezone,
        "week_start": board.week_start.iso,
        "starts_at": _iso(board.starts_at),
        "ends_at": _iso(board.ends_at),
        "sort_order": board.sort_order,
    }


def _badge(entry: BadgeEntry) -> BadgeDefinition:
    # A windowed badge lapses when its window does: auto_revoke is implied, not asked for.
    auto_revoke = entry.auto_revoke or entry.within_days is not None
    return BadgeDefinition(
        **(entry.model_dump() | {"requires": tuple(entry.requires), "auto_revoke": auto_revoke})
    )


def _level(entry: LevelEntry) -> Level:
    requirements = tuple(Requirement(**r.model_dump()) for r in entry.requirements)
    return Level(**(entry.model_dump() | {"requirements": requirements}))


def parse_catalog(text: str, *, source: str = "<catalog>") -> Catalog:
    try:
        entries = CatalogFile.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise CatalogError(f"{source}: {exc}") from exc
    return Catalog(
        badges=tuple(_badge(e) for e in entries.badges),
        providers=tuple(Provider(**e.model_dump()) for e in entries.providers),
        metrics=tuple(Metric(**e.model_dump()) for e in entries.metrics),
        levels=tuple(_level(e) for e in entries.levels),
        streak_freezes=(
            StreakFreezes(**entries.streak_freezes.model_dump())
            if entries.streak_freezes is not None
            else None
        ),
        leaderboards=tuple(Leaderboard(**e.model_dump()) for e in entries.leaderboards),
    )


def load_catalog(path: Path | str | None = None) -> Catalog:
    """Read and validate the catalog file (BADGES_CATALOG, else the shipped v1 catalog)."""
    file = Path(path) if path else DEFAULT_CATALOG
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{file}: {exc.strerror}") from exc
    return parse_catalog(text, source=str(file))

"""The badge catalog: one TOML file, validated, turned into plain definitions. Pure but for the
file read in load_catalog.

Adding a badge is one [[badges]] entry in the file; `badges sync-catalog` writes it to the
database (badges.sync_catalog), which is what the SQL rules read.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    model_validator,
)

from badges.rules import Rule, Tier

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]

DEFAULT_CATALOG = Path(__file__).resolve().parents[2] / "supabase" / "catalogs" / "default.toml"


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
    hidden: bool = False
    sort_order: int = 0


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    sort_order: int = 0


@dataclass(frozen=True)
class Catalog:
    badges: tuple[BadgeDefinition, ...]
    providers: tuple[Provider, ...]

    def sync_payload(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The arguments of badges.sync_catalog: JSON-ready badges and providers."""
        return [asdict(b) for b in self.badges], [asdict(p) for p in self.providers]


class _BadgeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id
    name: Name
    rule: Rule
    description: str = Field(default="", max_length=1000)
    icon: str = Field(default="", max_length=200)
    category: str = Field(default="general", min_length=1, max_length=64)
    tier: Tier = Tier.BRONZE
    threshold: StrictInt | None = Field(default=None, gt=0)
    hidden: StrictBool = False
    sort_order: StrictInt = 0

    @model_validator(mode="after")
    def _threshold_matches_rule(self) -> _BadgeEntry:
        if self.rule.needs_threshold != (self.threshold is not None):
            need = "needs" if self.rule.needs_threshold else "takes no"
            raise ValueError(f"rule {self.rule.value!r} {need} threshold")
        return self


class _ProviderEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id
    name: Name
    sort_order: StrictInt = 0


class _CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    badges: list[_BadgeEntry] = Field(min_length=1)
    providers: list[_ProviderEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ids_are_unique(self) -> _CatalogFile:
        for kind, ids in (
            ("badge", [b.id for b in self.badges]),
            ("provider", [p.id for p in self.providers]),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} ids: {', '.join(dupes)}")
        return self


def parse_catalog(text: str, *, source: str = "<catalog>") -> Catalog:
    try:
        entries = _CatalogFile.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise CatalogError(f"{source}: {exc}") from exc
    return Catalog(
        badges=tuple(BadgeDefinition(**e.model_dump()) for e in entries.badges),
        providers=tuple(Provider(**e.model_dump()) for e in entries.providers),
    )


def load_catalog(path: Path | str | None = None) -> Catalog:
    """Read and validate the catalog file (BADGES_CATALOG, else the shipped v1 catalog)."""
    file = Path(path) if path else DEFAULT_CATALOG
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{file}: {exc.strerror}") from exc
    return parse_catalog(text, source=str(file))

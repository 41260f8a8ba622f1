"""The catalog file: the shipped catalogs are valid, and mistakes are named, not synced."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from badges.catalog import (
    CATALOGS_DIR,
    DEFAULT_CATALOG,
    CatalogError,
    Leaderboard,
    Requirement,
    load_catalog,
    parse_catalog,
)
from badges.rules import Period, Rule, Tier, Weekday
from tests.conftest import CATALOG_BADGES

DEVSPACE = CATALOGS_DIR / "devspace.toml"
BUSINESS = CATALOGS_DIR / "business.toml"
SHIPPED = sorted(CATALOGS_DIR.glob("*.toml"))

# What badges.sync_catalog reads of each entry: the SQL is written against exactly these keys.
BADGE_KEYS = {
    "id",
    "notify",
    "name",
    "description",
    "icon",
    "category",
    "tier",
    "rule",
    "threshold",
    "metric",
    "requires",
    "hidden",
    "sort_order",
    "auto_revoke",
    "enabled",
    "starts_at",
    "ends_at",
    "label_key",
    "description_key",
    "within_days",
    "board",
}
PROVIDER_KEYS = {"id", "name", "sort_order"}
METRIC_KEYS = {
    "id",
    "name",
    "description",
    "unit",
    "unit_one",
    "user_trackable",
    "user_max_amount",
}
LEVEL_KEYS = {"id", "name", "description", "sort_order", "requirements"}
LEADERBOARD_KEYS = {
    "id",
    "name",
    "description",
    "metric",
    "period",
    "timezone",
    "week_start",
    "starts_at",
    "ends_at",
    "sort_order",
}
PAYLOAD_KEYS = {"badges", "providers", "metrics", "levels", "streak_freezes", "leaderboards"}


def test_the_shipped_catalog_has_the_v1_badges_and_at_least_five_providers():
    catalog = load_catalog()

    assert {b.id for b in catalog.badges} == set(CATALOG_BADGES)
    assert len(catalog.providers) >= 5
    assert not any(b.hidden for b in catalog.badges)
    assert [b.id for b in catalog.badges if b.rule.client_awardable] == ["social_sharer"]
    assert (catalog.metrics, catalog.levels) == ((), ())


def test_sync_payload_carries_every_field_sync_catalog_reads():
    devspace = load_catalog(DEVSPACE).sync_payload()
    default = load_catalog().sync_payload()

    assert set(devspace) == set(default) == PAYLOAD_KEYS
    assert all(set(b) == BADGE_KEYS for b in devspace["badges"])
    assert set(default["providers"][0]) == PROVIDER_KEYS
    assert all(set(m) == METRIC_KEYS for m in devspace["metrics"])
    assert all(set(lv) == LEVEL_KEYS for lv in devspace["levels"])
    assert all(
        set(r) == {"metric", "count"} for lv in devspace["levels"] for r in lv["requirements"]
    )
    assert devspace["leaderboards"]
    assert all(set(lb) == LEADERBOARD_KEYS for lb in devspace["leaderboards"])


def test_a_catalog_without_optional_tables_still_has_all_six_payload_keys():
    """The SQL requires the four arrays; leaderboards and streak_freezes are sent all the same."""
    payload = parse_catalog(BADGE).sync_payload()

    assert [b["id"] for b in payload["badges"]] == ["b"]
    assert payload | {"badges": []} == {
        "badges": [],
        "providers": [],
        "metrics": [],
        "levels": [],
        "streak_freezes": None,
        "leaderboards": [],
    }


def test_the_catalogs_dir_holds_the_default_and_both_examples():
    assert DEFAULT_CATALOG.parent == CATALOGS_DIR
    assert {DEFAULT_CATALOG, DEVSPACE, BUSINESS} <= set(SHIPPED)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_catalog_loads_and_its_payload_survives_json(path):
    payload = load_catalog(path).sync_payload()

    assert json.loads(json.dumps(payload)) == payload


# Each progression path of Dev-Space: its category, rule, metric and (badge, threshold) in order.
DEVSPACE_PATHS = {
    "builder": (
        Rule.METRIC,
        "project_created",
        [
            ("first_builder", 1),
            ("project_rookie", 5),
            ("project_enthusiast", 15),
            ("project_pro", 30),
            ("code_architect", 100),
        ],
    ),
    "social": (
        Rule.METRIC,
        "interaction",
        [
            ("sociable_dev", 10),
            ("social_freak", 100),
            ("networking_master", 300),
            ("community_icon", 1000),
        ],
    ),
    "journey": (
        Rule.METRIC,
        "journey_entry",
        [("first_log", 1), ("journey_starter", 10), ("storyteller", 50), ("journey_master", 100)],
    ),
    "collaboration": (
        Rule.METRIC,
        "contribution_approved",
        [("team_spirit", 1), ("collab_guru", 10), ("open_source_ally", 30)],
    ),
    "consistency": (
        Rule.STREAK,
        None,
        [("active_dev", 7), ("consistency_beast", 30), ("relentless_builder", 100)],
    ),
}
TIER_ORDER = list(Tier)


@pytest.mark.parametrize("category", DEVSPACE_PATHS)
def test_each_devspace_path_climbs_its_thresholds_tiers_and_sort_order(category: str):
    rule, metric, expected = DEVSPACE_PATHS[category]
    path = sorted(
        (b for b in load_catalog(DEVSPACE).badges if b.category == category),
        key=lambda b: b.sort_order,
    )

    assert [(b.id, b.threshold) for b in path] == expected
    assert {(b.rule, b.metric) for b in path} == {(rule, metric)}
    tiers = [TIER_ORDER.index(b.tier) for b in path]
    assert tiers == sorted(tiers)
    assert (path[0].tier, len(set(tiers)) > 1) == (Tier.BRONZE, True)
    assert all(b.icon and b.description and not b.hidden for b in path)


def test_devspace_has_a_hidden_all_rounder_a_weekly_top3_two_levels_and_no_providers():
    catalog = load_catalog(DEVSPACE)
    paths = {badge for _, _, badges in DEVSPACE_PATHS.values() for badge, _ in badges}
    extra = [b for b in catalog.badges if b.id not in paths]

    assert [(b.id, b.rule, b.category, b.hidden) for b in extra] == [
        ("all_rounder", Rule.ALL_OF, "achievements", True),
        ("weekly_top3", Rule.RANK, "achievements", False),
    ]
    assert extra[0].requires == ("first_builder", "first_log", "team_spirit", "sociable_dev")
    assert catalog.providers == ()
    assert {lv.id: lv.requirements for lv in catalog.levels} == {
        "newcomer": (Requirement("project_created", 1), Requirement("journey_entry", 1)),
        "regular": (
            Requirement("project_created", 5),
            Requirement("interaction", 50),
            Requirement("journey_entry", 10),
        ),
    }


def test_devspace_ranks_builders_weekly_interactions_monthly_and_badges_all_time():
    catalog = load_catalog(DEVSPACE)
    boards = {lb.id: lb for lb in catalog.leaderboards}

    assert {i: (lb.metric, lb.period) for i, lb in boards.items()} == {
        "weekly_builders": ("project_created", Period.WEEKLY),
        "monthly_social": ("interaction", Period.MONTHLY),
        "most_badges": ("badge_count", Period.ALL_TIME),
    }
    weekly = boards["weekly_builders"]
    assert (weekly.timezone, weekly.week_start) == ("America/Los_Angeles", Weekday.MONDAY)
    top3 = next(b for b in catalog.badges if b.rule is Rule.RANK)
    assert (top3.id, top3.name, top3.board, top3.threshold, top3.tier) == (
        "weekly_top3",
        "Top 3 of the week",
        "weekly_builders",
        3,
        Tier.GOLD,
    )


def test_devspace_lets_users_track_only_interactions_and_journey_entries():
    metrics = load_catalog(DEVSPACE).metrics

    assert {m.id for m in metrics} == {
        "project_created",
        "interaction",
        "journey_entry",
        "contribution_approved",
    }
    assert {m.id for m in metrics if m.user_trackable} == {"interaction", "journey_entry"}
    assert all(m.unit and m.unit_one for m in metrics)


def test_business_has_five_first_time_milestones_on_server_only_metrics():
    catalog = load_catalog(BUSINESS)

    assert {b.id: (b.rule, b.metric, b.threshold) for b in catalog.badges} == {
        "projectCreated": (Rule.METRIC, "project_created", 1),
        "firstActionCreated": (Rule.METRIC, "action_created", 1),
        "firstApplicationCreated": (Rule.METRIC, "application_created", 1),
        "firstProjectMemberInvite": (Rule.METRIC, "project_member_invited", 1),
        "firstDataTypeCreated": (Rule.METRIC, "data_type_created", 1),
    }
    assert all(
        (b.category, b.label_key, b.description_key)
        == ("milestones", f"badges.{b.id}.label", f"badges.{b.id}.description")
        for b in catalog.badges
    )
    assert not any(m.user_trackable for m in catalog.metrics)
    assert (catalog.providers, catalog.levels) == ((), ())
    assert next(b for b in catalog.badges if b.id == "projectCreated").name == "Project Created"


SEASONAL = """
[[metrics]]
id = "pr_merged"
name = "Merged pull requests"

[[badges]]
id = "hacktober"
name = "Hacktober"
rule = "metric"
metric = "pr_merged"
threshold = 4
auto_revoke = true
enabled = false
starts_at = 2025-10-01T00:00:00Z
ends_at = 2025-11-01T00:00:00+01:00
label_key = "badges.hacktober.label"
"""


def test_a_seasonal_badge_carries_its_window_as_iso_8601_in_the_payload():
    catalog = parse_catalog(SEASONAL)
    payload = catalog.sync_payload()
    [badge], [metric] = payload["badges"], payload["metrics"]

    assert catalog.badges[0].starts_at == datetime(2025, 10, 1, tzinfo=UTC)
    assert badge | {"name": None} == {
        "id": "hacktober",
        "name": None,
        "description": "",
        "icon": "",
        "category": "general",
        "tier": "bronze",
        "rule": "metric",
        "threshold": 4,
        "metric": "pr_merged",
        "requires": [],
        "hidden": False,
        "sort_order": 0,
        "auto_revoke": True,
        "enabled": False,
        "starts_at": "2025-10-01T00:00:00+00:00",
        "ends_at": "2025-11-01T00:00:00+01:00",
        "label_key": "badges.hacktober.label",
        "description_key": None,
        "notify": True,
        "within_days": None,
        "board": None,
    }
    assert (type(badge["tier"]), type(badge["rule"])) == (str, str)
    assert (metric["user_trackable"], metric["user_max_amount"]) == (False, 1)


BADGE = '[[badges]]\nid = "b"\nname = "B"\nrule = "client"\n'
METRIC = '[[metrics]]\nid = "m"\nname = "M"\n'
ON_METRIC = METRIC + '[[badges]]\nid = "b"\nname = "B"\nrule = "metric"\nthreshold = 1\n'
ALL_OF = '[[badges]]\nid = "a"\nname = "A"\nrule = "all_of"\n'
LEVEL = '[[levels]]\nid = "l"\nname = "L"\n'
ACTIVE = '[[badges]]\nid = "b"\nname = "B"\nrule = "active_days"\n'


def badge(**fields: str) -> str:
    """A client badge b with these fields added, each written as TOML already."""
    return BADGE + "".join(f"{key} = {value}\n" for key, value in fields.items())


def test_a_distinct_badge_and_a_composite_of_it_parse():
    text = ON_METRIC.replace('"metric"', '"distinct"') + 'metric = "m"\n'
    text += ALL_OF + 'requires = ["b"]\nauto_revoke = true\n'

    distinct, composite = parse_catalog(text).badges

    assert (distinct.rule, distinct.metric, distinct.threshold) == (Rule.DISTINCT, "m", 1)
    assert (composite.requires, composite.auto_revoke) == (("b",), True)


def test_windowed_badges_parse_imply_auto_revoke_and_carry_within_days_in_the_payload():
    text = METRIC + "\n".join(
        [
            '[[badges]]\nid = "b"\nname = "B"\nrule = "metric"\nmetric = "m"\nthreshold = 10',
            "within_days = 7",
            '[[badges]]\nid = "d"\nname = "D"\nrule = "distinct"\nmetric = "m"\nthreshold = 3',
            "within_days = 30\nauto_revoke = true",
            '[[badges]]\nid = "a"\nname = "A"\nrule = "active_days"\nthreshold = 5',
            "within_days = 7\n",
        ]
    )

    catalog = parse_catalog(text)
    payload = catalog.sync_payload()["badges"]

    assert [(b.id, b.rule, b.within_days, b.auto_revoke) for b in catalog.badges] == [
        ("b", Rule.METRIC, 7, True),
        ("d", Rule.DISTINCT, 30, True),
        ("a", Rule.ACTIVE_DAYS, 7, True),
    ]
    assert [(b["within_days"], b["auto_revoke"]) for b in payload] == [
        (7, True),
        (30, True),
        (7, True),
    ]
    # A badge without a window keeps its own auto_revoke (default false) and no within_days.
    plain = parse_catalog(ON_METRIC + 'metric = "m"\n').badges[0]
    assert (plain.within_days, plain.auto_revoke) == (None, False)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "badges"),
        ('[[badges]]\nid = "b"\nname = "B"\nrule = "streak"\n', "needs threshold"),
        (BADGE + "threshold = 3\n", "takes no threshold"),
        ('[[badges]]\nid = "b"\nname = "B"\nrule = "teleport"\n', "rule"),
        ('[[badges]]\nid = "has space"\nname = "B"\nrule = "client"\n', "id"),
        (BADGE + 'tier = "platinum"\n', "tier"),
        (BADGE + 'hidden = "yes"\n', "hidden"),
        (BADGE + 'colour = "red"\n', "colour"),
        (BADGE + BADGE, "duplicate badge ids: b"),
        (BADGE + '[[providers]]\nid = "p"\nname = "P"\n' * 2, "duplicate provider ids: p"),
        ("badges = [", "test.toml: Invalid value"),
        # metric and distinct rules
        (ON_METRIC, "rule 'metric' needs metric"),
        (METRIC + badge(metric='"m"'), "rule 'client' takes no metric"),
        (ON_METRIC + 'metric = "nope"\n', "unknown metric 'nope'"),
        (ON_METRIC.replace("threshold = 1\n", 'metric = "m"\n'), "needs threshold"),
        # all_of
        (ALL_OF, "rule 'all_of' needs requires"),
        (badge(requires='["b"]'), "rule 'client' takes no requires"),
        (BADGE + ALL_OF + 'requires = ["b", "b"]\n', "duplicate requires: b"),
        (ALL_OF + 'requires = ["a"]\n', "requires itself"),
        (ALL_OF + 'requires = ["ghost"]\n', "unknown badge 'ghost'"),
        (
            ALL_OF
            + 'requires = ["c"]\n'
            + '[[badges]]\nid = "c"\nname = "C"\nrule = "all_of"\nrequires = ["a"]\n',
            "requires cycle: a -> c -> a",
        ),
        # the other new badge fields
        (badge(auto_revoke="true"), "rule 'client' takes no auto_revoke"),
        (badge(enabled='"no"'), r"badges\.0\.enabled\n"),
        (badge(starts_at="2025-10-01T00:00:00"), r"starts_at\n.*time zone offset"),
        (badge(ends_at="2025-10-01"), r"ends_at\n.*TOML datetime"),
        (badge(starts_at='"2025-10-01T00:00:00Z"'), r"starts_at\n.*TOML datetime"),
        (
            badge(starts_at="2025-10-02T00:00:00Z", ends_at="2025-10-01T00:00:00Z"),
            "starts_at must be before ends_at",
        ),
        (badge(label_key='""'), "label_key"),
        (badge(description_key='"' + "k" * 201 + '"'), "description_key"),
        # dynamic badges: within_days
        (ACTIVE + "threshold = 5\n", "rule 'active_days' needs within_days"),
        (ACTIVE + "within_days = 7\n", "rule 'active_days' needs threshold"),
        (
            ACTIVE + "threshold = 8\nwithin_days = 7\n",
            "threshold 8 is more days than within_days 7 holds",
        ),
        (ACTIVE + "threshold = 1\nwithin_days = 0\n", r"within_days\n.*greater than or equal to 1"),
        (
            ACTIVE + "threshold = 1\nwithin_days = 367\n",
            r"within_days\n.*less than or equal to 366",
        ),
        (ACTIVE + 'threshold = 1\nwithin_days = "7"\n', r"within_days\n.*valid integer"),
        (
            ACTIVE + "threshold = 1\nwithin_days = 7\nauto_revoke = false\n",
            "revoked when its window lapses: remove auto_revoke = false",
        ),
        (
            ON_METRIC + 'metric = "m"\nwithin_days = 7\nauto_revoke = false\n',
            "remove auto_revoke = false",
        ),
        (
            '[[badges]]\nid = "b"\nname = "B"\nrule = "streak"\nthreshold = 3\nwithin_days = 7\n',
            "rule 'streak' takes no within_days",
        ),
        (badge(within_days="7"), "rule 'client' takes no within_days"),
        (
            '[[badges]]\nid = "b"\nname = "B"\nrule = "manual"\nwithin_days = 7\n',
            "rule 'manual' takes no within_days",
        ),
        (
            '[[badges]]\nid = "b"\nname = "B"\nrule = "shared"\nwithin_days = 7\n',
            "rule 'shared' takes no within_days",
        ),
        (
            '[[badges]]\nid = "b"\nname = "B"\nrule = "quiz_all"\nwithin_days = 7\n',
            "rule 'quiz_all' takes no within_days",
        ),
        (
            '[[badges]]\nid = "b"\nname = "B"\nrule = "quiz_distinct"\nthreshold = 1\n'
            "within_days = 7\n",
            "rule 'quiz_distinct' takes no within_days",
        ),
        (BADGE + ALL_OF + 'requires = ["b"]\nwithin_days = 7\n', "rule 'all_of' takes no"),
        # metrics
        (BADGE + METRIC * 2, "duplicate metric ids: m"),
        (BADGE + METRIC + "user_trackable = 1\n", "user_trackable"),
        (BADGE + METRIC + "user_max_amount = 0\n", "user_max_amount"),
        (BADGE + METRIC + "user_max_amount = 1001\n", "user_max_amount"),
        (BADGE + METRIC + 'unit = "' + "u" * 65 + '"\n', r"metrics\.0\.unit\n"),
        (BADGE + METRIC + "scope = 1\n", "scope"),
        (BADGE + '[[metrics]]\nid = "m m"\nname = "M"\n', r"metrics\.0\.id\n"),
        # levels
        (
            BADGE + METRIC + (LEVEL + 'requirements = [{metric = "m", count = 1}]\n') * 2,
            "duplicate level ids: l",
        ),
        (
            BADGE + LEVEL + 'requirements = [{metric = "ghost", count = 1}]\n',
            "unknown metric 'ghost'",
        ),
        (BADGE + METRIC + LEVEL + "requirements = []\n", "requirements"),
        (BADGE + METRIC + LEVEL, "requirements"),
        (BADGE + METRIC + LEVEL + 'requirements = [{metric = "m", count = 0}]\n', "count"),
        (BADGE + METRIC + LEVEL + 'requirements = [{metric = "m", count = "1"}]\n', "count"),
        (
            BADGE
            + METRIC
            + LEVEL
            + 'requirements = [{metric = "m", count = 1}, {metric = "m", count = 2}]\n',
            "requires a metric twice: m",
        ),
        (BADGE + METRIC + LEVEL + 'requirements = [{metric = "m", count = 1, each = 1}]\n', "each"),
        (BADGE + "[extras]\n", "extras"),
    ],
)
def test_an_invalid_catalog_is_rejected_with_the_problem_named(text: str, problem: str):
    with pytest.raises(CatalogError, match=problem):
        parse_catalog(text, source="test.toml")


def test_a_missing_catalog_file_is_a_catalog_error(tmp_path):
    with pytest.raises(CatalogError, match=r"missing\.toml"):
        load_catalog(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("rule", "threshold", "metric", "requires", "client", "automatic", "window"),
    [
        (Rule.STREAK, True, False, False, False, True, "no"),
        (Rule.QUIZ_DISTINCT, True, False, False, False, True, "no"),
        (Rule.QUIZ_ALL, False, False, False, False, True, "no"),
        (Rule.METRIC, True, True, False, False, True, "may"),
        (Rule.DISTINCT, True, True, False, False, True, "may"),
        (Rule.ACTIVE_DAYS, True, False, False, False, True, "needs"),
        (Rule.ALL_OF, False, False, True, False, True, "no"),
        (Rule.CLIENT, False, False, False, True, False, "no"),
        (Rule.SHARED, False, False, False, False, False, "no"),
        (Rule.MANUAL, False, False, False, False, False, "no"),
        (Rule.RANK, True, False, False, False, True, "no"),
    ],
)
def test_each_rule_says_what_it_needs(
    rule: Rule,
    threshold: bool,
    metric: bool,
    requires: bool,
    client: bool,
    automatic: bool,
    window: str,
):
    needs = (rule.needs_threshold, rule.needs_metric, rule.needs_requires)
    assert needs == (threshold, metric, requires)
    assert (rule.client_awardable, rule.automatic) == (client, automatic)
    assert (rule.windowable, rule.needs_window) == (window != "no", window == "needs")


def test_every_rule_is_in_the_table_above():
    assert {r.value for r in Rule} == {
        "streak",
        "quiz_distinct",
        "quiz_all",
        "metric",
        "distinct",
        "active_days",
        "all_of",
        "client",
        "shared",
        "manual",
        "rank",
    }


def test_streak_freezes_parse_into_the_sync_argument_and_are_optional():
    with_policy = parse_catalog(BADGE + "[streak_freezes]\nevery_days = 7\nmax_held = 2\n")

    assert with_policy.sync_payload()["streak_freezes"] == {"every_days": 7, "max_held": 2}
    assert parse_catalog(BADGE).sync_payload()["streak_freezes"] is None
    assert load_catalog().sync_payload()["streak_freezes"] is None  # v1 has no [streak_freezes]


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ("every_days = 0\nmax_held = 2\n", "every_days"),
        ("every_days = 7\nmax_held = 101\n", "max_held"),
        ("every_days = 7\n", "max_held"),
        ("every_days = 7\nmax_held = 2\nmax = 3\n", "max"),
        ('every_days = "7"\nmax_held = 2\n', "every_days"),
    ],
)
def test_an_invalid_streak_freezes_table_is_named(table: str, problem: str):
    with pytest.raises(CatalogError, match=problem):
        parse_catalog(BADGE + "[streak_freezes]\n" + table)


# --- [[leaderboards]] and rank badges -------------------------------------------------------
# A valid file around the entry under test: badge b (client) and metric m.
BASE = BADGE + METRIC


def entry(table: str, defaults: dict[str, str], fields: dict[str, str | None]) -> str:
    """A [[table]] entry: defaults overridden by fields (None leaves a field out), each value
    written as TOML already."""
    values = {k: v for k, v in (defaults | fields).items() if v is not None}
    return f"[[{table}]]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())


def board(**fields: str | None) -> str:
    """Leaderboard w over metric m (all time unless fields say otherwise)."""
    return entry("leaderboards", {"id": '"w"', "name": '"W"', "metric": '"m"'}, fields)


def rank(**fields: str | None) -> str:
    """Rank badge r: the top 3 of board w."""
    defaults = {"id": '"r"', "name": '"R"', "rule": '"rank"', "board": '"w"', "threshold": "3"}
    return entry("badges", defaults, fields)


WEEKLY = board(period='"weekly"')
DATES = {"starts_at": "2026-06-01T00:00:00Z", "ends_at": "2026-09-01T00:00:00Z"}
SEASON = board(period='"season"', **DATES)


def problem(text: str) -> str:
    """The CatalogError parse_catalog raises for text, which names the file."""
    with pytest.raises(CatalogError) as error:
        parse_catalog(text, source="test.toml")
    message = str(error.value)
    assert message.startswith("test.toml: ")
    return message


def test_a_leaderboard_parses_with_its_defaults():
    [lb] = parse_catalog(BASE + board()).leaderboards

    assert lb == Leaderboard(id="w", name="W", metric="m")
    assert (lb.description, lb.period, lb.timezone) == ("", Period.ALL_TIME, "UTC")
    assert (lb.week_start, lb.starts_at, lb.ends_at, lb.sort_order) == (
        Weekday.MONDAY,
        None,
        None,
        0,
    )


def test_a_leaderboard_carries_every_field_in_the_payload_as_json_values():
    text = BASE + board(
        description='"Weekly"', period='"weekly"', timezone='"Asia/Tokyo"',
        week_start='"sunday"', sort_order="7",
    )  # fmt: skip

    assert parse_catalog(text).sync_payload()["leaderboards"] == [
        {
            "id": "w",
            "name": "W",
            "description": "Weekly",
            "metric": "m",
            "period": "weekly",
            "timezone": "Asia/Tokyo",
            "week_start": 7,
            "starts_at": None,
            "ends_at": None,
            "sort_order": 7,
        }
    ]


@pytest.mark.parametrize("field", ["id", "name", "metric"])
def test_a_leaderboard_needs_an_id_a_name_and_a_metric(field: str):
    assert f"leaderboards.0.{field}\n  Field required" in problem(BASE + board(**{field: None}))


@pytest.mark.parametrize("board_id", ['"has space"', '""', '"' + "x" * 65 + '"'])
def test_a_leaderboard_id_follows_the_badge_id_pattern(board_id: str):
    assert "leaderboards.0.id\n" in problem(BASE + board(id=board_id))


@pytest.mark.parametrize("board_id", ["badge_count", "correct_count"])
def test_a_leaderboard_may_not_take_the_id_of_a_built_in_board(board_id: str):
    message = problem(BASE + board(id=f'"{board_id}"'))

    assert f"leaderboard {board_id!r} is a built-in board: choose another id" in message


def test_leaderboard_ids_are_unique_in_the_file():
    assert "duplicate leaderboard ids: w" in problem(BASE + board() + board(name='"W2"'))


@pytest.mark.parametrize("name", ['""', '"' + "n" * 201 + '"'])
def test_a_leaderboard_name_is_1_to_200_characters(name: str):
    assert "leaderboards.0.name\n" in problem(BASE + board(name=name))


def test_unknown_keys_in_a_leaderboard_are_refused():
    assert "leaderboards.0.colour\n" in problem(BASE + board(colour='"red"'))


@pytest.mark.parametrize("metric", ["badge_count", "quiz_correct"])
def test_a_leaderboard_may_rank_a_built_in_count_without_declaring_it(metric: str):
    [lb] = parse_catalog(BADGE + board(metric=f'"{metric}"')).leaderboards

    assert lb.metric == metric


@pytest.mark.parametrize("metric", ["ghost", "correct_count"])
def test_a_leaderboard_metric_must_be_declared_by_the_file_or_built_in(metric: str):
    message = problem(BASE + board(metric=f'"{metric}"'))

    assert f"leaderboard 'w': unknown metric {metric!r}" in message


def test_a_leaderboard_period_is_one_of_the_five():
    assert "leaderboards.0.period\n" in problem(BASE + board(period='"yearly"'))
    assert {p.value for p in Period} == {"all_time", "daily", "weekly", "monthly", "season"}


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "utc", "America", "", "../etc"])
def test_a_leaderboard_timezone_must_be_an_iana_name_and_the_error_names_the_board(
    timezone: str,
):
    message = problem(BASE + board(timezone=f'"{timezone}"'))

    assert f"leaderboard 'w': unknown timezone {timezone!r}" in message


@pytest.mark.parametrize(("day", "iso"), [(d.value, i) for i, d in enumerate(Weekday, 1)])
def test_week_start_is_sent_as_its_iso_day_number(day: str, iso: int):
    payload = parse_catalog(BASE + WEEKLY + f'week_start = "{day}"\n').sync_payload()

    assert payload["leaderboards"][0]["week_start"] == iso


def test_week_start_must_be_a_day_name():
    assert "leaderboards.0.week_start\n" in problem(BASE + WEEKLY + "week_start = 1\n")


@pytest.mark.parametrize("period", ["all_time", "daily", "monthly"])
def test_week_start_is_refused_on_a_board_that_is_not_weekly(period: str):
    message = problem(BASE + board(period=f'"{period}"', week_start='"monday"'))

    assert f"leaderboard 'w': period {period!r} takes no week_start" in message


def test_week_start_is_refused_on_a_season_board():
    message = problem(BASE + SEASON + 'week_start = "monday"\n')

    assert "leaderboard 'w': period 'season' takes no week_start" in message


def test_a_season_board_carries_its_dates_as_iso_8601_in_the_payload():
    catalog = parse_catalog(BASE + SEASON)

    assert catalog.leaderboards[0].starts_at == datetime(2026, 6, 1, tzinfo=UTC)
    [lb] = catalog.sync_payload()["leaderboards"]
    assert (lb["period"], lb["starts_at"], lb["ends_at"]) == (
        "season",
        "2026-06-01T00:00:00+00:00",
        "2026-09-01T00:00:00+00:00",
    )


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
def test_a_season_board_needs_starts_at_and_ends_at(field: str):
    text = board(period='"season"', **(DATES | {field: None}))

    assert f"leaderboard 'w': period 'season' needs {field}" in problem(BASE + text)


@pytest.mark.parametrize("period", ["all_time", "daily", "weekly", "monthly"])
@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
def test_dates_are_refused_on_a_board_that_is_not_a_season(period: str, field: str):
    message = problem(BASE + board(period=f'"{period}"', **{field: "2026-06-01T00:00:00Z"}))

    assert f"leaderboard 'w': period {period!r} takes no {field}" in message


@pytest.mark.parametrize("ends_at", ["2026-06-01T00:00:00Z", "2026-05-31T00:00:00Z"])
def test_a_season_starts_before_it_ends(ends_at: str):
    text = board(period='"season"', starts_at="2026-06-01T00:00:00Z", ends_at=ends_at)

    assert "leaderboard 'w': starts_at must be before ends_at" in problem(BASE + text)


def test_season_dates_need_a_time_zone_offset():
    text = board(period='"season"', starts_at="2026-06-01T00:00:00", ends_at="2026-09-01")

    assert "time zone offset" in problem(BASE + text)


def test_a_rank_badge_parses_and_carries_its_board_in_the_payload():
    catalog = parse_catalog(BASE + WEEKLY + rank())
    payload = {b["id"]: b for b in catalog.sync_payload()["badges"]}

    assert [(b.id, b.rule, b.board, b.threshold) for b in catalog.badges] == [
        ("b", Rule.CLIENT, None, None),
        ("r", Rule.RANK, "w", 3),
    ]
    assert (payload["r"]["rule"], payload["r"]["board"], payload["b"]["board"]) == (
        "rank",
        "w",
        None,
    )


@pytest.mark.parametrize(
    "periodic",
    [board(period='"daily"'), WEEKLY, board(period='"monthly"'), SEASON],
    ids=["daily", "weekly", "monthly", "season"],
)
def test_a_rank_badge_may_rank_any_board_whose_periods_finish(periodic: str):
    assert parse_catalog(BASE + periodic + rank()).badges[1].board == "w"


def test_a_rank_badge_needs_a_board():
    assert "rule 'rank' needs board" in problem(BASE + WEEKLY + rank(board=None))


def test_a_rank_badge_needs_a_threshold():
    assert "rule 'rank' needs threshold" in problem(BASE + WEEKLY + rank(threshold=None))


def test_a_rank_threshold_is_a_top_n_of_at_most_100():
    assert parse_catalog(BASE + WEEKLY + rank(threshold="100")).badges[1].threshold == 100
    assert "rule 'rank' takes a threshold of 1-100" in problem(
        BASE + WEEKLY + rank(threshold="101")
    )
    assert "badges.1.threshold\n" in problem(BASE + WEEKLY + rank(threshold="0"))


def test_a_rank_badge_board_must_be_a_leaderboard_of_the_file():
    message = problem(BASE + WEEKLY + rank(board='"ghost"'))

    assert "badge 'r': unknown leaderboard 'ghost'" in message


@pytest.mark.parametrize("built_in", ["badge_count", "correct_count"])
def test_a_rank_badge_may_not_rank_a_built_in_board(built_in: str):
    """The built-in boards count all time: no period of theirs ever finishes."""
    message = problem(BASE + WEEKLY + rank(board=f'"{built_in}"'))

    assert f"badge 'r': unknown leaderboard {built_in!r}" in message


def test_a_rank_badge_may_not_rank_an_all_time_board():
    message = problem(BASE + board() + rank())

    assert "badge 'r': leaderboard 'w' is all_time and never finishes a period" in message


@pytest.mark.parametrize(
    ("rule", "fields"),
    [
        ("client", {}),
        ("manual", {}),
        ("streak", {"threshold": "3"}),
        ("metric", {"metric": '"m"', "threshold": "1"}),
        ("all_of", {"requires": '["b"]'}),
    ],
)
def test_board_is_refused_on_every_rule_but_rank(rule: str, fields: dict[str, str]):
    defaults = {"id": '"x"', "name": '"X"', "rule": f'"{rule}"', "board": '"w"'}

    assert f"rule {rule!r} takes no board" in problem(
        BASE + WEEKLY + entry("badges", defaults, fields)
    )


def test_a_rank_badge_takes_no_metric():
    assert "rule 'rank' takes no metric" in problem(BASE + WEEKLY + rank(metric='"m"'))


def test_a_rank_badge_takes_no_within_days():
    message = problem(BASE + WEEKLY + rank(within_days="7"))

    assert "rule 'rank' takes no within_days" in message


def test_a_rank_badge_takes_no_auto_revoke():
    message = problem(BASE + WEEKLY + rank(auto_revoke="true"))

    assert "rule 'rank' takes no auto_revoke (a finished period's ranking never changes)" in message


def test_only_rank_needs_a_board_and_every_automatic_rule_but_rank_may_be_revoked():
    assert [r for r in Rule if r.needs_board] == [Rule.RANK]
    assert [r for r in Rule if r.automatic and not r.revocable] == [Rule.RANK]
    assert not any(r.revocable for r in Rule if not r.automatic)

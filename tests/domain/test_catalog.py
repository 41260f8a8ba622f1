"""The catalog file: the shipped v1 catalog is valid, and mistakes are named, not synced."""

from __future__ import annotations

import pytest

from badges.catalog import CatalogError, load_catalog, parse_catalog
from badges.rules import Rule
from tests.conftest import BADGE_FIELDS, CATALOG_BADGES


def test_the_shipped_catalog_has_the_v1_badges_and_at_least_five_providers():
    catalog = load_catalog()

    assert {b.id for b in catalog.badges} == set(CATALOG_BADGES)
    assert len(catalog.providers) >= 5
    assert not any(b.hidden for b in catalog.badges)
    assert [b.id for b in catalog.badges if b.rule.client_awardable] == ["social_sharer"]


def test_sync_payload_carries_every_field_sync_catalog_reads():
    badges, providers = load_catalog().sync_payload()

    assert set(badges[0]) == BADGE_FIELDS | {"sort_order"}
    assert set(providers[0]) == {"id", "name", "sort_order"}


BADGE = '[[badges]]\nid = "b"\nname = "B"\nrule = "client"\n'


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
    ],
)
def test_an_invalid_catalog_is_rejected_with_the_problem_named(text: str, problem: str):
    with pytest.raises(CatalogError, match=problem):
        parse_catalog(text, source="test.toml")


def test_a_missing_catalog_file_is_a_catalog_error(tmp_path):
    with pytest.raises(CatalogError, match=r"missing\.toml"):
        load_catalog(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("rule", "needs_threshold", "client"),
    [
        (Rule.STREAK, True, False),
        (Rule.QUIZ_DISTINCT, True, False),
        (Rule.QUIZ_ALL, False, False),
        (Rule.CLIENT, False, True),
        (Rule.MANUAL, False, False),
    ],
)
def test_each_rule_says_what_it_needs(rule: Rule, needs_threshold: bool, client: bool):
    assert (rule.needs_threshold, rule.client_awardable) == (needs_threshold, client)

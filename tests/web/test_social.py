"""Profiles and showcases of any user, one's own showcase, and the feed."""

from __future__ import annotations

from playwright.sync_api import expect

from badges.demo_seed import USERS
from tests.web.conftest import DemoPage

ADA, GRACE = USERS[0], USERS[1]


def test_any_users_profile_shows_their_level_showcase_and_badges(ui: DemoPage):
    viewer = ui.sign_in_new()
    profile = ui.server.api(viewer, "profile", user_id=ADA.id)
    ui.tab("Community")

    ui.page.get_by_label("Show the profile of").select_option(ADA.id)

    shown = ui.page.locator("#profile")
    expect(shown.locator("#profile-name")).to_have_text("Ada Lovelace")
    expect(shown).to_contain_text(f"Level: Regular · {profile['badge_count']} badges")
    showcase = shown.locator(".showcase li")
    # Her pinned hidden badge is hers to see: others get the rest, in her order.
    expect(showcase).to_have_count(len(profile["showcase"]))
    expect(showcase.first).to_contain_text("Project Enthusiast")
    expect(shown.locator(".showcase")).not_to_contain_text("All-Rounder")
    expect(shown.locator(".earned-list li")).to_have_count(len(profile["badges"]))
    expect(shown.get_by_role("button", name="Save showcase")).to_have_count(0)


def test_the_feed_lists_recent_awards_and_opens_the_earners_profile(ui: DemoPage):
    viewer = ui.sign_in_new()
    entries = ui.server.api(viewer, "feed", limit=20)["entries"]
    ui.tab("Community")

    feed = ui.page.locator("#feed li")
    expect(feed).to_have_count(len(entries))
    first = entries[0]
    expect(feed.first).to_contain_text(f"earned {first['badge']['icon']} {first['badge']['name']}")
    grace = ui.page.locator("#feed").get_by_role("button", name="Grace Hopper").first
    grace.click()
    expect(ui.page.locator("#profile-name")).to_have_text("Grace Hopper")
    expect(ui.page.locator("#profile .showcase")).to_contain_text("Project Pro")


def test_a_user_pins_an_earned_badge_to_their_showcase(ui: DemoPage):
    user = ui.sign_in_new()
    ui.act("Log a journey entry")
    expect(ui.result).to_have_text("Journey entries logged: 1.")
    ui.tab("Community")
    shown = ui.page.locator("#profile")
    expect(shown.locator("#profile-name")).to_contain_text("(you)")
    expect(shown).to_contain_text("Nothing pinned yet.")

    shown.get_by_label("First Log").check()
    shown.get_by_role("button", name="Save showcase").click()

    expect(shown.locator(".showcase li")).to_have_count(1)
    expect(shown.locator(".showcase")).to_contain_text("First Log")
    pinned = ui.server.api(user, "profile")["showcase"]
    assert [p["badge"]["id"] for p in pinned] == ["first_log"]

"""The badges modal of the business design, the progress toward the next badges and the level,
as a seeded demo user and as a new user see them: what is on screen is what the function
answers."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from badges.demo_seed import USERS
from tests.web.conftest import DemoPage

ADA = USERS[0]
GREEN = "rgb(21, 128, 61)"


def test_the_modal_shows_earned_badges_green_with_their_date_and_locked_ones_greyed(ui: DemoPage):
    ui.sign_in(ADA.id)
    listed = ui.server.api(ADA.id, "list")
    badges = {b["id"]: b for b in listed["badges"]}

    dialog = ui.open_badges()

    # Ada holds the catalog's one hidden badge, so every badge is counted and none is secret.
    expect(dialog.locator("#badges-summary")).to_have_text(
        f"Earned Badges: {listed['earned_count']} / {listed['total_count']}"
    )
    expect(dialog.locator("li.badge")).to_have_count(listed["total_count"])
    earned = dialog.locator('[data-badge="project_enthusiast"]')
    expect(earned).to_have_class(re.compile(r"\bearned\b"))
    expect(earned).to_contain_text("Project Enthusiast")
    year = badges["project_enthusiast"]["earned_at"][:4]
    expect(earned.locator(".state")).to_have_text(re.compile(rf"^Earned \d+ \w+ {year}$"))
    assert earned.evaluate("e => getComputedStyle(e).borderTopColor") == GREEN
    assert earned.locator(".icon").evaluate("e => getComputedStyle(e).filter") == "none"
    locked = dialog.locator('[data-badge="project_pro"]')
    expect(locked).to_have_class(re.compile(r"\blocked\b"))
    expect(locked).to_contain_text("Locked · Requires 30 projects")
    expect(locked).to_contain_text("15 / 30")
    assert "grayscale(1)" in locked.locator(".icon").evaluate("e => getComputedStyle(e).filter")
    # The hidden badge she earned shows as itself; rarity on every card.
    expect(dialog.locator('[data-badge="all_rounder"] h3')).to_have_text("All-Rounder")
    expect(dialog.locator('[data-badge="hidden"]')).to_have_count(0)
    percent = badges["project_pro"]["rarity"]["earned_percent"]
    shown = f"{percent:g}% of users"
    expect(locked.locator(".rarity")).to_have_text(shown)

    ui.page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(ui.page.get_by_role("button", name="Badges", exact=True)).to_be_focused()


def test_a_new_user_sees_every_badge_locked_and_the_hidden_one_as_question_marks(ui: DemoPage):
    user = ui.sign_in_new()
    listed = ui.server.api(user, "list")

    dialog = ui.open_badges()

    expect(dialog.locator("#badges-summary")).to_have_text(
        f"Earned Badges: 0 / {listed['total_count'] + 1}"
    )
    expect(dialog.locator("li.badge.earned")).to_have_count(0)
    secret = dialog.locator('[data-badge="hidden"]')
    expect(secret.locator("h3")).to_have_text("???")
    expect(dialog).not_to_contain_text("All-Rounder")
    ui.close_badges()
    expect(dialog).to_be_hidden()


def test_progress_toward_the_next_badges_and_the_current_level(ui: DemoPage):
    ui.sign_in(ADA.id)
    milestones = ui.server.api(ADA.id, "progress")["milestones"]

    nexts = ui.page.locator("#next-badges li")
    expect(nexts).to_have_count(len(milestones))
    pro = ui.page.locator('#next-badges [data-badge="project_pro"]')
    expect(pro.locator(".milestone")).to_contain_text("Project Pro 15/30")
    expect(pro.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "15")
    expect(pro).to_contain_text("15 more projects → Project Pro")
    expect(ui.page.locator("#level .level-now")).to_have_text("Level: Regular")


def test_a_new_user_has_no_level_yet_and_sees_what_the_first_one_needs(ui: DemoPage):
    ui.sign_in_new()

    expect(ui.page.locator("#level .level-now")).to_have_text("Level: none yet")
    expect(ui.page.locator("#level")).to_contain_text("Next level: Newcomer")
    expect(ui.page.locator("#level")).to_contain_text("Projects created 0/1")

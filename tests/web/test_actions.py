"""Actions that act: track a metric, share (a client award), answer a quiz, record today's
activity; a toast for each badge an answer awards, the screens refreshed, and the inbox that
counts the new messages and marks them read."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.web.conftest import DemoPage


def test_each_action_acts_and_a_new_badge_is_toasted_and_shown(ui: DemoPage):
    user = ui.sign_in_new()
    toasts = ui.page.locator("#toasts")

    ui.act("Log a journey entry")
    expect(ui.result).to_have_text("Journey entries logged: 1.")
    expect(toasts).to_contain_text("You earned 📝 First Log!")
    expect(ui.page.locator('#next-badges [data-badge="journey_starter"]')).to_contain_text("1/10")

    ui.act("Share my badges")
    expect(ui.result).to_have_text("Shared with the community.")
    expect(toasts).to_contain_text("You earned 📣 Show-Off!")

    ui.page.get_by_label("Topic").select_option(label="JavaScript")
    ui.act("Answer right")
    expect(ui.result).to_have_text("Right answer recorded: 1 of 3 topics answered right.")
    ui.page.get_by_label("Topic").select_option(label="Python")
    ui.act("Answer wrong")
    expect(ui.result).to_have_text("Wrong answer recorded: 1 of 3 topics answered right.")
    ui.act("Answer right")
    expect(toasts).to_contain_text("You earned 🎓 Quiz Whiz!")

    ui.act("Record today's activity")
    expect(ui.result).to_have_text("Today is recorded: current streak 1 day.")
    ui.act("Like a post")
    expect(ui.result).to_have_text("Interactions: 1.")

    dialog = ui.open_badges()
    expect(dialog.locator("#badges-summary")).to_have_text(re.compile(r"^Earned Badges: 3 / "))
    for badge in ("first_log", "show_off", "quiz_whiz"):
        expect(dialog.locator(f'[data-badge="{badge}"]')).to_have_class(re.compile(r"\bearned\b"))
    assert ui.server.api(user, "list")["earned_count"] == 3


def test_the_inbox_counts_unread_messages_and_marks_them_read(ui: DemoPage):
    ui.sign_in_new()
    ui.act("Log a journey entry")
    ui.act("Share my badges")
    unread = ui.page.locator("#unread")
    expect(unread).to_have_text("2")

    ui.page.get_by_role("button", name="Inbox 2 unread").click()
    expect(ui.page.get_by_role("tab", name="Inbox")).to_have_attribute("aria-selected", "true")
    inbox = ui.page.locator("#inbox")
    expect(ui.page.locator("#inbox-summary")).to_have_text("2 unread messages")
    expect(inbox.locator("li.unread")).to_have_count(2)
    expect(inbox).to_contain_text("You earned First Log")

    inbox.locator("li.unread").first.get_by_role("button", name="Mark as read").click()
    expect(ui.page.locator("#inbox-summary")).to_have_text("1 unread message")
    expect(unread).to_have_text("1")
    ui.page.get_by_role("button", name="Mark all as read").click()
    expect(ui.page.locator("#inbox-summary")).to_have_text("0 unread messages")
    expect(inbox.locator("li.read")).to_have_count(2)
    expect(unread).to_have_text("0")

"""Leaderboards: every board the catalog declares (the built-in badge and quiz boards when it
declares none), each period where a board has periods, the viewer's own row highlighted, and
"around me"; every row on screen is the function's answer."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from badges.demo_seed import USERS
from tests.web.conftest import DemoPage

ADA = USERS[0]
PERIOD_BUTTONS = {
    "daily": ("Today", "Yesterday"),
    "weekly": ("This week", "Last week"),
    "monthly": ("This month", "Last month"),
    "season": ("This season", "Last season"),
}
BUILT_IN = [
    {"id": "badges", "name": "Most badges", "action": "leaderboard", "value": "badge_count"},
    {
        "id": "quiz",
        "name": "Quiz champions",
        "action": "score_leaderboard",
        "value": "correct_count",
    },
]


def boards(ui: DemoPage) -> list[dict[str, Any]]:
    declared: list[dict[str, Any]] = ui.server.api(ADA.id, "catalog").get("leaderboards") or []
    return declared or BUILT_IN


def expected(ui: DemoPage, board: dict[str, Any], view: str, period: str) -> dict[str, Any]:
    if "action" in board:
        return ui.server.api(ADA.id, board["action"], limit=11)
    when = {} if board.get("period", "all_time") == "all_time" else {"period": period}
    if view == "around":
        return ui.server.api(ADA.id, "around_me", board=board["id"], radius=5, **when)
    return ui.server.api(ADA.id, "leaderboard", board=board["id"], limit=10, **when)


def check_table(ui: DemoPage, board: dict[str, Any], answer: dict[str, Any]) -> None:
    rows = ui.page.locator("#board tbody tr")
    names = {u.id: u.name for u in USERS}
    expect(rows).to_have_count(len(answer["entries"]))
    for row, entry in zip(rows.all(), answer["entries"], strict=True):
        value = entry[board["value"]] if "action" in board else entry["value"]
        mine = entry["user_id"] == ADA.id
        name = names.get(entry["user_id"], f"User {entry['user_id'][:8]}")
        expect(row).to_have_text(f"#{entry['rank']}{name}{' (you)' if mine else ''}{value}")
        if mine:
            expect(row).to_have_attribute("aria-current", "true")
    mine_text = (
        f"Your rank: #{answer['me']['rank']} of {answer['total']}"
        if answer["me"]
        else "You are not on this board yet."
    )
    expect(ui.page.locator("#board .my-rank")).to_have_text(mine_text)
    highlighted = ui.page.locator("#board tr.me")
    on_page = any(e["user_id"] == ADA.id for e in answer["entries"])
    expect(highlighted).to_have_count(1 if on_page else 0)


def test_every_board_with_its_periods_the_viewers_row_and_around_me(ui: DemoPage):
    ui.sign_in(ADA.id)
    ui.tab("Leaderboards")
    picker = ui.page.get_by_role("group", name="Board")

    for board in boards(ui):
        picker.get_by_role("button", name=board["name"], exact=True).click()
        ui.page.get_by_role("button", name="Top", exact=True).click()
        expect(ui.page.locator("#board caption")).to_contain_text(board["name"])
        check_table(ui, board, expected(ui, board, "top", "current"))
        words = PERIOD_BUTTONS.get(board.get("period", "all_time"))
        if words:
            ui.page.get_by_role("button", name=words[1], exact=True).click()
            expect(ui.page.locator("#board caption")).to_contain_text(words[1])
            check_table(ui, board, expected(ui, board, "top", "previous"))
            ui.page.get_by_role("button", name=words[0], exact=True).click()
            expect(ui.page.locator("#board caption")).to_contain_text(words[0])
        else:
            expect(ui.page.get_by_role("group", name="Period")).to_be_hidden()
        ui.page.get_by_role("button", name="Around me", exact=True).click()
        expect(ui.page.get_by_role("button", name="Around me")).to_have_attribute(
            "aria-pressed", "true"
        )
        check_table(ui, board, expected(ui, board, "around", "current"))

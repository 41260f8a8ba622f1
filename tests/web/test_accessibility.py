"""Accessibility: axe-core (pinned in tests/web/package.json, installed by `npm ci` into the
git-ignored tests/web/node_modules) finds no serious or critical violation on any screen, at
either size; and the page is usable from the keyboard."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from badges.demo_seed import USERS
from tests.system import InstallFailed, npm_ci
from tests.web.conftest import WEB_TESTS, DemoPage

AXE = WEB_TESTS / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="session")
def axe() -> Path:
    if shutil.which("npm") is None:
        pytest.skip("the accessibility check needs npm (for axe-core); not found on PATH")
    try:
        npm_ci(WEB_TESTS, "axe-core")
    except InstallFailed as exc:
        pytest.fail(str(exc))
    return AXE


def violations(ui: DemoPage, axe: Path) -> list[str]:
    ui.page.add_script_tag(path=str(axe))
    found = ui.page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in found
        if v["impact"] in BLOCKING
    ]


def test_no_serious_violation_on_any_screen(ui: DemoPage, axe: Path):
    ui.sign_in(USERS[0].id)
    found = {"home": violations(ui, axe)}
    for tab in ("Leaderboards", "Community", "Inbox"):
        ui.tab(tab)
        expect(ui.page.get_by_role("tabpanel")).to_be_visible()
        ui.page.wait_for_load_state("networkidle")
        found[tab] = violations(ui, axe)
    ui.open_badges()
    found["badges modal"] = violations(ui, axe)

    assert {screen: v for screen, v in found.items() if v} == {}


def test_the_page_works_from_the_keyboard(ui: DemoPage):
    ui.sign_in(USERS[0].id)
    page = ui.page

    page.get_by_role("tab", name="Home").focus()
    page.keyboard.press("ArrowRight")
    boards = page.get_by_role("tab", name="Leaderboards")
    expect(boards).to_be_focused()
    expect(boards).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tabpanel", name="Leaderboards")).to_be_visible()
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("tab", name="Home")).to_be_focused()

    badges = page.get_by_role("button", name="Badges", exact=True)
    badges.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Badges")
    expect(dialog).to_be_visible()
    # The modal takes the focus (its first control), and gives it back when it closes.
    expect(page.get_by_role("button", name="Close badges")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(badges).to_be_focused()

    like = page.get_by_role("button", name="Like a post", exact=True)
    like.focus()
    page.keyboard.press("Enter")
    expect(ui.result).to_contain_text("Interactions:")

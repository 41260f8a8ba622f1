"""The README's screenshots, taken from the running demo: the badges modal, a leaderboard and
the phone layout. `make screenshots` (BADGES_SCREENSHOTS=1) writes them into docs/images/;
otherwise they go to a scratch folder, so the screens are still exercised."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from badges.demo_seed import USERS
from tests import system
from tests.conftest import PROJECT_DIR
from tests.web.conftest import VIEWPORTS, DemoPage, DemoServer

IMAGES = PROJECT_DIR / "docs" / "images"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def folder() -> Path:
    if os.environ.get("BADGES_SCREENSHOTS") != "1":
        return Path(tempfile.mkdtemp(prefix="badges-screenshots-"))
    # The badges' icons are emoji: without a colour emoji font they would show as boxes.
    if not Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf").exists():
        system.apt_install("fonts-noto-color-emoji", missing="an emoji font", timeout=600)
    IMAGES.mkdir(parents=True, exist_ok=True)
    return IMAGES


def test_screenshots_of_the_modal_a_leaderboard_and_the_phone(
    browser: Browser, demo: DemoServer, folder: Path
):
    desktop = browser.new_context(viewport={"width": 1100, "height": 760})
    ui = DemoPage(desktop.new_page(), demo)
    ui.sign_in(USERS[0].id)
    dialog = ui.open_badges()
    ui.page.mouse.move(0, 0)
    ui.page.screenshot(path=str(folder / "badges-modal.png"))
    ui.close_badges()
    ui.tab("Leaderboards")
    expect(ui.page.locator("#board tr.me")).to_have_count(1)
    ui.page.locator("#panel-boards .card").screenshot(path=str(folder / "leaderboard.png"))
    desktop.close()
    assert dialog is not None

    phone = browser.new_context(viewport=VIEWPORTS["phone"], device_scale_factor=2)
    ui = DemoPage(phone.new_page(), demo)
    ui.sign_in(USERS[0].id)
    ui.page.screenshot(path=str(folder / "phone.png"))
    phone.close()

    for name in ("badges-modal.png", "leaderboard.png", "phone.png"):
        assert (folder / name).read_bytes().startswith(PNG)

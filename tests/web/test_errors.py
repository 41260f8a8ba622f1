"""What the page does when a call fails: an expired token (401: sign in again, then the action
runs), the rate limit (429: a countdown from Retry-After, writes disabled until it ends), and a
server that is down (no answer: a banner with a retry that works once it is back)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import RATE_BURST, DemoPage, DemoServer, demo_server


def test_an_expired_session_asks_to_sign_in_again_and_then_acts(ui: DemoPage):
    ui.sign_in_new()
    ui.page.get_by_role("button", name="Expire my session").click()
    expect(ui.page.locator("#toasts")).to_contain_text("Your session has expired")

    ui.act("Like a post")

    expect(ui.banner).to_be_visible()
    expect(ui.banner).to_contain_text("Your session has expired. Sign in again to go on.")
    expect(ui.result).to_have_text("")
    ui.banner.get_by_role("button", name="Sign in again").click()
    expect(ui.banner).to_be_hidden()
    expect(ui.result).to_have_text("Interactions: 1.")


def test_the_rate_limit_shows_a_countdown_and_disables_writes_until_it_ends(ui: DemoPage):
    ui.sign_in_new()
    like = ui.page.get_by_role("button", name="Like a post", exact=True)

    for count in range(1, RATE_BURST + 1):
        like.click()
        expect(ui.result).to_have_text(f"Interactions: {count}.")
    like.click()

    expect(ui.banner).to_be_visible()
    expect(ui.banner).to_contain_text(re.compile(r"you can act again in [1-9]\d* s\."))
    expect(like).to_be_disabled()
    expect(ui.page.get_by_role("button", name="Share my badges")).to_be_disabled()
    expect(ui.banner).to_be_hidden(timeout=15_000)
    expect(like).to_be_enabled()
    like.click()
    expect(ui.result).to_have_text(f"Interactions: {RATE_BURST + 1}.")


@pytest.fixture(scope="module")
def own_demo() -> Iterator[DemoServer]:
    """A demo of the test's own, on its own embedded database (as `make demo` runs it), to stop
    and start again."""
    with demo_server() as server:
        yield server


def test_a_server_that_is_down_shows_a_banner_whose_retry_works_once_it_is_back(
    page: Page, own_demo: DemoServer
):
    ui = DemoPage(page, own_demo)
    ui.sign_in_new()
    own_demo.stop()

    ui.act("Like a post")

    expect(ui.banner).to_contain_text("Cannot reach the badges server.")
    own_demo.start()
    ui.banner.get_by_role("button", name="Retry").click()
    expect(ui.banner).to_be_hidden()
    expect(ui.result).to_have_text("Interactions: 1.")

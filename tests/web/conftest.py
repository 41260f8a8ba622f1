"""The web demo in a real browser: `badges demo` (a real server process, the real function, the
real database), Debian's Chromium driven by Playwright, at a desktop's and a phone's size.

Chromium is Debian's `chromium` package, installed here where it is missing (as root, with
apt-get: never Playwright's own browser download); where it cannot be installed the browser
tests are skipped, saying why. A failed test leaves a screenshot in tests/web/artifacts/.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from badges import devtokens
from badges.settings import DEV_JWT_SECRET
from tests import system
from tests.conftest import PROJECT_DIR
from tests.endpoint.test_serve import free_port, new_data_dir, serve_env

WEB_TESTS = PROJECT_DIR / "tests" / "web"
ARTIFACTS = WEB_TESTS / "artifacts"
CHROMIUM_PATHS = ("chromium", "/usr/bin/chromium", "chromium-browser")
INSTALL_TIMEOUT = 900.0
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 360, "height": 740}}
# Each user's bucket of writes in the test server: a few clicks empty it, and it refills one
# write every 3 s, so a 429 asks for a wait of a few seconds (the countdown the page shows).
RATE_BURST = 10
RATE_PER_MINUTE = 20
# Playwright's default wait for an assertion; the server answers in milliseconds, but a 2-core
# CI machine runs PostgreSQL, gunicorn and Chromium at once.
expect.set_options(timeout=10_000)


def find_chromium() -> str | None:
    for name in CHROMIUM_PATHS:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, installed when missing (apt-get update first, then the package)."""
    found = find_chromium()
    if found:
        return found
    try:
        system.apt_install("chromium", missing="Chromium", timeout=INSTALL_TIMEOUT)
    except system.InstallFailed as exc:
        pytest.skip(f"the browser tests need Debian's chromium: {exc}")
    found = find_chromium()
    if found is None:
        pytest.skip("the browser tests need Debian's chromium: installed, yet not on PATH")
    return found


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright, chromium: str) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium)
    yield browser
    browser.close()


@dataclass
class DemoServer:
    """A `badges demo` process: its address, and how to stop and start it again."""

    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "badges.cli", "demo"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while not self._healthy():
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, f"the demo did not start:\n{self.log.read_text()}"
            time.sleep(0.2)

    def stop(self) -> None:
        """As Ctrl-C stops it: SIGINT to its process group (the server, then the database)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(timeout=60)
        self.process = None

    def _healthy(self) -> bool:
        try:
            config = f"http://127.0.0.1:{self.port}/demo/config"
            with urllib.request.urlopen(config, timeout=5) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, ConnectionError):
            return False

    def api(self, user: str, action: str, **fields: Any) -> dict[str, Any]:
        """The function's answer to a user's call: what the screens must show."""
        token = devtokens.user_token(uuid.UUID(user), DEV_JWT_SECRET)
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/functions/v1/badges",
            json.dumps({"action": action, **fields}).encode(),
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        # A Request object, so ruff cannot see that the URL above is http:// on this machine.
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            result: dict[str, Any] = json.loads(answer.read())
        return result


@contextlib.contextmanager
def demo_server(**env: str) -> Iterator[DemoServer]:
    data_dir = new_data_dir("badges-demo-")
    server = DemoServer(
        port=free_port(),
        env={},
        log=data_dir.parent / "demo.log",
    )
    server.env = serve_env(
        data_dir,
        PORT=str(server.port),
        BADGES_RATE_LIMIT_BURST=str(RATE_BURST),
        BADGES_RATE_LIMIT_PER_MINUTE=str(RATE_PER_MINUTE),
        **env,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def demo(make_database: Callable[[], str]) -> Iterator[DemoServer]:
    """The demo on a database of its own (a copy of the migrated template)."""
    with demo_server(DATABASE_URL=make_database()) as server:
        yield server


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keeps each phase's report on the test, for the page fixture's screenshot on failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def page(browser: Browser, viewport: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context at the test's screen size. The page's own errors fail the
    test; a failed test leaves its screen in tests/web/artifacts/."""
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1]).strip("_")
        with contextlib.suppress(Exception):
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()
    assert not errors, f"errors in the page: {errors}"


class DemoPage:
    """The page, in the words of its screens."""

    def __init__(self, page: Page, server: DemoServer) -> None:
        self.page = page
        self.server = server

    def open(self) -> None:
        self.page.goto(self.server.url)
        expect(self.page.locator("body[data-started]")).to_be_attached()

    def sign_in(self, user_id: str) -> None:
        self.open()
        self.page.get_by_label("Signed in as").select_option(user_id)
        expect(self.page.locator(f'body[data-ready="{user_id}"]')).to_be_attached()

    def sign_in_new(self) -> str:
        """Signs in as a user who has done nothing yet; returns the new user's id."""
        self.open()
        self.page.get_by_label("Signed in as").select_option(label="A new user")
        expect(self.page.locator("body[data-ready]")).to_be_attached()
        user = self.page.get_by_label("Signed in as").input_value()
        uuid.UUID(user)
        return user

    def tab(self, name: str) -> None:
        self.page.get_by_role("tab", name=name).click()

    def act(self, button: str) -> None:
        self.page.get_by_role("button", name=button, exact=True).click()

    def open_badges(self) -> Any:
        self.page.get_by_role("button", name="Badges", exact=True).click()
        dialog = self.page.get_by_role("dialog", name="Badges")
        expect(dialog).to_be_visible()
        return dialog

    def close_badges(self) -> None:
        self.page.get_by_role("button", name="Close badges").click()

    @property
    def banner(self) -> Any:
        return self.page.locator("#banner")

    @property
    def result(self) -> Any:
        return self.page.locator("#act-result")


@pytest.fixture
def ui(page: Page, demo: DemoServer) -> DemoPage:
    return DemoPage(page, demo)

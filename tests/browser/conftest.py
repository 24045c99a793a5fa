"""Real headless Chromium (Debian's package) driving the real server on a free local port."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.support import ROOT
from tests.webapp.conftest import web_desk  # noqa: F401  (the deployed plans and users)
from webapp import create_app

CHROMIUM = "/usr/bin/chromium"
OUTPUT = ROOT / "test-output" / "browser"


@pytest.fixture
def db_url(tmp_path):
    """SQLite only: these tests are about the browser; every route's database work runs on both
    backends in tests/webapp, and a second Chromium pass per test would double the suite's slowest part."""
    return f"sqlite:///{tmp_path / 'planflow.sqlite3'}"


@pytest.fixture
def app_settings():
    """Extra app settings a test module may override (e.g. where attachments are stored)."""
    return {}


@pytest.fixture
def live_server(web_desk, app_settings):
    """The app served by a real WSGI server in a thread; yields its base URL."""
    if not (ROOT / "webapp" / "static" / "dist" / "form-viewer.umd.js").exists():
        pytest.fail("front-end assets are missing: run `make assets` (make test does)")
    app = create_app({"SECRET_KEY": "browser-test", **app_settings}, session_factory=web_desk.session_factory)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is not installed: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"])
        yield chromium
        chromium.close()


@pytest.fixture
def screenshot():
    """`screenshot(page, name)` saves a full-page PNG under test-output/browser/ for a person to look at."""
    OUTPUT.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = OUTPUT / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return save

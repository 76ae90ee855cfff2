"""End to end in a real browser: Debian's Chromium, headless, driven by Playwright (never a
downloaded browser). Sign in, open a queue, categorise a near-duplicate cluster with the keyboard,
reveal an item, then find all of it in the audit log as the auditor.

One store (SQLite) keeps this under a minute; the HTTP tests cover PostgreSQL.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from safehold.core.settings import Settings, WebSettings
from safehold.services.context import ServiceContext
from safehold.testing.review import PASSWORD, ReviewCase, build_review_case
from safehold.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, ReviewCase, ServiceContext]]:
    settings = Settings(data_dir=tmp_path / "data", workers=1, batch_files=8,
                        web=WebSettings(secure_cookies=False, reveal_seconds=20))
    ctx = ServiceContext.open(settings, actor="test:e2e")
    review = build_review_case(ctx, tmp_path / "evidence")
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(settings, ctx), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", review, ctx
    finally:
        srv.should_exit = True
        thread.join(10)
        ctx.db.dispose()


@pytest.fixture
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "install Debian's chromium (scripts/install.sh --dev)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            yield b
        finally:
            b.close()


def _sign_in(page: Page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/cases")


def test_review_in_the_browser(server: tuple[str, ReviewCase, ServiceContext], browser: Browser,
                               tmp_path: Path) -> None:
    base, review, _ctx = server
    context = browser.new_context()
    context.set_default_timeout(30_000)  # a shared 2-core machine under load; waits end as soon as met
    expect.set_options(timeout=30_000)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: d.accept())  # the reveal's "are you sure"

    _sign_in(page, base, "ivy")
    page.click("text=op review >> nth=0")
    expect(page.locator("h1")).to_contain_text("op review")
    page.click("a:has-text('Unknown (new)')")
    expect(page.locator(".gallery .tile").first).to_be_visible()

    # keyboard: select a_small's tile, Shift+1 categorises its whole cluster (a, a_small, a_q50)
    small, q50 = review.sha("DCIM/a_small.jpg"), review.sha("DCIM/a_q50.jpg")
    page.click(f".tile[data-sha='{small}']")
    expect(page.locator(f".tile[data-sha='{small}']")).to_have_class(re.compile("selected"))
    page.keyboard.press("Shift+Digit1")
    for sha in (small, q50):
        expect(page.locator(f".tile[data-sha='{sha}'] .badge.decision")).to_have_text("1 Child abuse material")
    # a plain digit decides only the selected item, then moves on
    c = review.sha("Pictures/c.jpg")
    page.click(f".tile[data-sha='{c}']")
    page.keyboard.press("Digit3")
    expect(page.locator(f".tile[data-sha='{c}'] .badge.decision")).to_have_text("3 CGI / animation")
    page.screenshot(path=str(tmp_path / "gallery.png"))

    # reveal one item: blurred until the deliberate click, clear afterwards
    page.goto(f"{base}/cases/{review.case_id}/items/{c}")
    expect(page.locator("#preview img")).to_have_attribute("src", re.compile(r"/preview\.jpg$"))
    with page.expect_response(lambda r: r.url.endswith("/preview/clear.jpg")) as served:
        page.click("button:has-text('Reveal')")
    assert served.value.status == 200 and served.value.headers["content-type"] == "image/jpeg"
    clear = page.locator(".revealed img")
    expect(clear).to_have_attribute("src", re.compile(r"/preview/clear\.jpg$"))
    expect(page.locator(".countdown")).to_contain_text("s left")
    # (page.wait_for_function would inject code through eval, which the page's CSP rightly refuses)
    page.goto(f"{base}/me")
    expect(page.locator("#exposure-total")).to_have_text("1")
    page.click("button:has-text('Sign out')")
    expect(page).to_have_url(f"{base}/login")

    # the auditor finds every step, and the chain verifies
    _sign_in(page, base, "aud")
    page.goto(f"{base}/audit?actor=user:ivy")
    table = page.locator("#audit-table")
    for action in ("login", "view-queue", "categorise-cluster", "categorise", "view-item", "reveal", "view-clear",
                   "logout"):
        expect(table.locator(f"td:text-is('{action}')").first).to_be_visible()
    expect(table).to_contain_text(small)
    page.click("text=Verify the chain")
    expect(page.locator("#verify-result")).to_contain_text("Chain intact")
    assert not [m for m in console if "Content Security Policy" in m or "Refused" in m], console
    context.close()

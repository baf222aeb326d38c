"""Browser tests (issue 10): Playwright for Python driving Debian's /usr/bin/chromium against the
real app, served by `tests/support/browser_server.py` in its own process on its own SQLite file.

- The server process has its own database: the suite's `app` fixture and the autouse wipe of
  tests/conftest.py are overridden here (no-ops), so nothing wipes the server's data between the
  steps of a flow, and no app is built in this process.
- Always SQLite: under TEST_DATABASE_URL (the PostgreSQL pass of `make test`) the group is skipped
  unless BROWSER_TESTS=1, so the browsers run once per `make test`.
- Port BROWSER_TEST_PORT (default 8095, then 8096 if taken).
- Every item here gets the `browser` marker (`-m "not browser"` leaves them out).
- Screenshots of the main pages, 1366×768 viewport, named <role>-<page>.png: into docs/screenshots/
  with UPDATE_SCREENSHOTS=1 (to refresh the committed ones), otherwise into pytest's tmp dir, so
  `make test` leaves the work tree clean.
"""
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC_SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PORTS = [int(os.environ["BROWSER_TEST_PORT"])] if os.environ.get("BROWSER_TEST_PORT") else [8095, 8096]
VIEWPORT = {"width": 1366, "height": 768}
DEMO_PASSWORD = "Demo2026!a"
HERE = Path(__file__).resolve().parent


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: Playwright + Debian chromium against the served app (tests/browser)")


def pytest_collection_modifyitems(config, items):
    skip = None
    if os.environ.get("TEST_DATABASE_URL") and os.environ.get("BROWSER_TESTS") != "1":
        skip = pytest.mark.skip(reason="browser tests run in the SQLite pass (BROWSER_TESTS=1 forces them)")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if skip:
                item.add_marker(skip)


# ---------------------------------------------------------------- tests/conftest.py overrides

@pytest.fixture(scope="session")
def app():
    """Not used here: the app under test lives in the server process."""
    return None


@pytest.fixture(autouse=True)
def app_ctx():
    """No app context, no wipe: the flows run in order on the server's own database."""
    yield


# ---------------------------------------------------------------- the server

def _free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does: TIME_WAIT is fine
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Server:
    def __init__(self, base_url, db_path, proc):
        self.base_url, self.db_path, self.proc = base_url, db_path, proc

    def url(self, path):
        return self.base_url + path

    def query(self, sql, *params):
        """Read the server's database (WAL: safe while it writes)."""
        con = sqlite3.connect(self.db_path, timeout=30)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    port = next((p for p in PORTS if _free(p)), None)
    if port is None:
        pytest.fail(f"ports {PORTS} are taken: set BROWSER_TEST_PORT")
    tmp = tmp_path_factory.mktemp("browser")
    db_path, uploads, log_path = tmp / "app.db", tmp / "uploads", tmp / "server.log"
    log = open(log_path, "w")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("TEST_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.browser_server", str(db_path), str(uploads), str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            pytest.fail("the test server exited:\n" + log_path.read_text()[-3000:])
        if "READY" in log_path.read_text():
            break
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the test server did not start in 120 s:\n" + log_path.read_text()[-3000:])
        time.sleep(0.2)
    yield Server(f"http://127.0.0.1:{port}", str(db_path), proc)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


# ---------------------------------------------------------------- the browser

@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: `make deb` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


# Tables wider than the content panel at 1366 px (columns cut off or scrolled away): listed in the
# terminal summary, one line per screenshot.
OVERFLOW_JS = """() => {
  const out = [];
  document.querySelectorAll('table').forEach(t => {
    if (!t.offsetParent) return;
    const box = (t.closest('.portal-main, .main, .container-fluid, .container, body') || document.body).getBoundingClientRect();
    const r = t.getBoundingClientRect();
    const limit = Math.min(box.right, document.documentElement.clientWidth);
    if (r.right > limit + 1) {
      const heads = [...t.querySelectorAll('thead th')].filter(th => th.getBoundingClientRect().right > limit + 1)
        .map(th => th.textContent.trim());
      out.push({over_px: Math.round(r.right - limit), columns_cut: heads});
    }
  });
  if (document.documentElement.scrollWidth > document.documentElement.clientWidth + 1)
    out.push({page_scrolls_px: document.documentElement.scrollWidth - document.documentElement.clientWidth});
  return out;
}"""
OVERFLOWS = []
# Visible form fields that no <label> (for=, wrapping) or aria-label names: listed in the summary.
UNLABELLED_JS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => !['hidden', 'submit', 'button'].includes(el.type) && el.offsetParent !== null)
  .filter(el => !(el.id && document.querySelector('label[for="' + el.id + '"]')) && !el.getAttribute('aria-label')
                && !el.closest('label') && !el.getAttribute('aria-labelledby'))
  .filter(el => !(el.type === 'checkbox' && el.closest('table')))
  .map(el => el.name || el.id || el.type)"""
UNLABELLED = []


def pytest_terminal_summary(terminalreporter):
    if OVERFLOWS:
        terminalreporter.section("browser: tables wider than 1366x768 pages")
        for name, items in OVERFLOWS:
            terminalreporter.write_line(f"{name}: {items}")
    if UNLABELLED:
        terminalreporter.section("browser: form fields without a label (placeholder only)")
        for name, fields in UNLABELLED:
            terminalreporter.write_line(f"{name}: {fields}")


CSP_VIOLATIONS = []


@pytest.fixture(autouse=True)
def no_csp_violation():
    """Every browser test fails when a page it visited broke the Content-Security-Policy: a script,
    handler or link that the browser refused is behaviour that silently stopped working."""
    CSP_VIOLATIONS.clear()
    yield CSP_VIOLATIONS
    found, CSP_VIOLATIONS[:] = list(CSP_VIOLATIONS), []
    assert found == [], "CSP violations in the browser console:\n" + "\n".join(found)


class Actor:
    """One person's browser context (own cookies) with helpers for the portal's pages."""

    def __init__(self, context, server, shots):
        self.context, self.server, self.shots = context, server, shots
        self.page = context.new_page()
        self.page.set_default_timeout(15_000)
        self.dialogs = []  # confirm() texts accepted
        self.page.on("dialog", self._dialog)
        self.page.on("console", self._console)

    def _console(self, message):
        # Chromium logs every blocked inline script, handler, javascript: URL or foreign source as
        # an error naming the Content Security Policy (app/headers.py).
        if message.type == "error" and "Content Security Policy" in message.text:
            CSP_VIOLATIONS.append(f"{self.page.url}: {message.text}")

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.accept()

    def goto(self, path):
        response = self.page.goto(self.server.url(path))
        assert response.status < 400, f"{path}: HTTP {response.status}"
        return response

    def login(self, username, password=DEMO_PASSWORD):
        self.goto("/login/")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.submit(self.page.locator("input[type=submit][value=登录]"))
        assert "/login" not in self.page.url, self.flashes()

    def student_login(self, school_label, account, password=DEMO_PASSWORD):
        self.goto("/login/?mode=student")
        option = self.page.locator("#school option", has_text=school_label).first
        self.page.select_option("#school", value=option.get_attribute("value"))
        self.page.fill("#username", account)
        self.page.fill("#password", password)
        self.submit(self.page.locator("input[type=submit][value=登录]"))

    def submit(self, locator):
        """Click a button or link that loads a new page (form post, confirm() accepted) and wait for it."""
        with self.page.expect_navigation():
            locator.click()
        self.page.wait_for_load_state()

    def flashes(self):
        return " | ".join(self.page.locator(".alert").all_inner_texts())

    def nav(self, text):
        """Follow a link by its visible text (menus, buttons that are links)."""
        self.submit(self.page.get_by_role("link", name=text, exact=True).first)

    def shot(self, name, full_page=False, top=True):
        """Save docs/screenshots/<name>.png (viewport, 1366x768; from the top of the page unless top=False)."""
        self.shots.mkdir(parents=True, exist_ok=True)
        if top:
            self.page.evaluate("window.scrollTo(0, 0)")
        overflow = self.page.evaluate(OVERFLOW_JS)
        if overflow:
            OVERFLOWS.append((name, overflow))
        unlabelled = self.page.evaluate(UNLABELLED_JS)
        if unlabelled:
            UNLABELLED.append((name, sorted(set(unlabelled))))
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=full_page)

    def download(self, click):
        """Click something that starts a download; return the bytes."""
        with self.page.expect_download() as info:
            click()
        return Path(info.value.path()).read_bytes()


@pytest.fixture(scope="session")
def shots_dir(tmp_path_factory):
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        return DOC_SHOTS
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="session")
def actors(browser, server, shots_dir):
    """actors(role) → one Actor per role name for the whole session (flows continue across tests)."""
    made = {}

    def get(name):
        if name not in made:
            context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", accept_downloads=True,
                                          timezone_id="Asia/Shanghai")
            made[name] = Actor(context, server, shots_dir)
        return made[name]

    yield get
    for actor in made.values():
        actor.context.close()

"""Issue 18 item 6, the page-level part (the browser part is in tests/browser/test_browser_account.py;
新增学生's errors in test_student_form_errors.py): every page has a favicon, grid dates do not wrap,
`make run` prints and links the address it serves on."""
import os
import re
import subprocess
from pathlib import Path

from tests.support.factories import make_reviewer, make_school

ROOT = Path(__file__).resolve().parents[1]


def test_every_page_links_the_favicon(client, login):
    school = make_school()
    login_page = client.get("/login/").get_data(as_text=True)
    [href] = re.findall(r'<link rel="icon"[^>]*href="([^"]+)"', login_page)
    icon = client.get(href)
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data
    login(client, make_reviewer(school).username)
    assert '<link rel="icon"' in client.get("/school/").get_data(as_text=True)
    assert '<link rel="icon"' in client.get("/no-such-page").get_data(as_text=True)  # the error page too


def test_grid_date_cells_do_not_wrap():
    css = (ROOT / "app/static/portal.css").read_text()
    assert re.search(r"td\.date[^{]*\{[^}]*white-space:\s*nowrap", css)
    for name in ("student/offers.html", "school/reviews.html", "employer/terminations.html"):
        template = (ROOT / "app/templates" / name).read_text()
        assert re.findall(r"<td>\{\{[^}]*\|date(time)?\b", template) == [], name


def test_make_run_serves_and_links_the_port_it_was_given():
    """`make run PORT=…`: the app's PUBLIC_BASE_URL (mail links, the QR code, the address `flask demo
    seed` prints) is that address, not :8080. FLASK stands in for the real one and prints it."""
    probe = ["make", "-s", "--no-print-directory", "seed", "PORT=9123", "VENV_STAMP=", "FLASK=printenv PUBLIC_BASE_URL #"]
    env = {k: v for k, v in os.environ.items() if k != "PUBLIC_BASE_URL"}
    result = subprocess.run(probe, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {"http://127.0.0.1:9123"}
    result = subprocess.run(probe, cwd=ROOT, env=dict(env, PUBLIC_BASE_URL="https://jy.example.edu.cn"),
                            capture_output=True, text=True, timeout=60)
    assert set(result.stdout.split()) == {"https://jy.example.edu.cn"}  # an explicit setting wins


def test_demo_prints_the_address_it_is_served_on(app, capsys, monkeypatch):
    from app import demo

    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "http://127.0.0.1:9123")
    demo.print_accounts()
    out = capsys.readouterr().out
    assert "http://127.0.0.1:9123/login/" in out and ":8080" not in out

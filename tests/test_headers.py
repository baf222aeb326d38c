"""Security headers (issue 16, finding 6; app/headers.py): a Content-Security-Policy that runs only
our own scripts and the request's nonced inline ones, no framing by another site, no referrer to
other sites, no MIME sniffing, HSTS only on an https deployment, and nothing with personal data
kept in a browser's or proxy's cache."""
import re
from pathlib import Path

import pytest

from tests.support.factories import logout, make_user
from tests.support.web import IsolatedClient

TEMPLATES = Path(__file__).resolve().parents[1] / "app" / "templates"
SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.I)


def csp_of(response):
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request.path}: no Content-Security-Policy"
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def assert_protected(response):
    """The headers every page sends, and every <script> in it carries this response's nonce."""
    path = response.request.path
    csp = csp_of(response)
    scripts = csp["script-src"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, (path, scripts)
    assert "'self'" in scripts
    nonces = [s for s in scripts if s.startswith("'nonce-")]
    assert len(nonces) == 1, (path, scripts)
    assert csp["frame-ancestors"] == ["'none'"], path
    assert csp["object-src"] == ["'none'"], path
    assert "*" not in csp["default-src"], path
    assert response.headers["X-Frame-Options"] == "DENY", path
    assert response.headers["Referrer-Policy"] == "same-origin", path
    assert response.headers["X-Content-Type-Options"] == "nosniff", path
    assert "no-store" in response.headers.get("Cache-Control", ""), path
    nonce = nonces[0][len("'nonce-"):-1]
    if response.mimetype == "text/html":
        tags = SCRIPT_TAG.findall(response.get_data(as_text=True))
        assert tags, f"{path}: no script at all (FAB's page has jQuery)"
        for tag in tags:
            assert f'nonce="{nonce}"' in tag, (path, tag)


def test_login_page_is_protected_and_not_stored(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert_protected(response)
    assert_protected(client.get("/login/?mode=student"))


@pytest.mark.parametrize("role", ["student", "employer", "school"])
def test_every_party_home_and_pages_are_protected(client, login, signed, role):
    login(client, signed.logins[role].username)
    pages = {
        "student": ["/", "/student/offers/", "/student/terminations/", "/student/destinations/"],
        "employer": ["/", "/employer/offers/", "/employer/terminations/?tab=signed", "/employer/profile",
                     f"/employer/offers/{signed.agreement.id}"],
        "school": ["/", "/school/review/?status=accepted", "/school/employers/",
                   f"/school/review/{signed.agreement.id}"],
    }[role]
    for path in pages:
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, (path, response.status_code)
        assert_protected(response)


@pytest.mark.parametrize("role, pages", [
    ("province", ["/", "/stats/province/"]),
    ("admin", ["/", "/users/list/", "/users/add", "/roles/list/"]),
])
def test_province_and_admin_pages_are_protected(client, login, role, pages):
    user = make_user(role)
    login(client, user.username)
    for path in pages:
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, (path, response.status_code)
        assert_protected(response)


def test_console_scripts_carry_the_nonce(client, login, signed):
    """Flask-Admin (the read-only /console) renders its scripts with the same nonce."""
    login(client, make_user("province").username)
    for path in ("/console/", "/console/students/", f"/console/students/details/?id={signed.student.id}"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_protected(response)


def test_error_page_is_protected(client, login, w):
    login(client, w.employer_user.username)
    response = client.get("/employer/offers/999999")
    assert response.status_code == 404
    assert_protected(response)


def test_static_files_stay_cacheable(client):
    for path in ("/static/portal.js", "/static/appbuilder/js/ab.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" not in response.headers.get("Cache-Control", ""), path
        response.close()


def test_xlsx_exports_are_not_stored(client, login, signed):
    login(client, make_user("province").username)
    response = client.get("/stats/province/workbook?year=2026")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "no-store" in response.headers["Cache-Control"]

    logout(client)
    login(client, signed.employer_user.username)
    response = client.get("/employer/terminations/export")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet"), response.status_code
    assert "no-store" in response.headers["Cache-Control"]


def test_agreement_pdf_is_not_stored(client, login, signed):
    import shutil

    if not shutil.which("wkhtmltopdf"):
        pytest.skip("wkhtmltopdf not installed (make deb)")
    login(client, signed.student_user.username)
    response = client.get(f"/documents/agreement/{signed.agreement.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def offenders(root):
    """Inline event handlers, javascript: URLs and <script> tags without a nonce under `root`."""
    handler = re.compile(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", re.S)
    found = []
    for path in sorted(root.rglob("*.html")):
        text = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.S)  # Jinja comments
        name = path.relative_to(root)
        found += [f"{name}: {m.group(0)[-40:]!r}" for m in handler.finditer(text)]
        found += [f"{name}: javascript: URL" for _ in re.finditer(r"javascript:", text, re.I)]
        found += [f"{name}: {tag}" for tag in SCRIPT_TAG.findall(text) if "nonce" not in tag]
    return found


def test_no_template_has_an_inline_handler_or_a_script_without_nonce():
    """The CSP runs no onclick=/onsubmit=… and no javascript: URL, and no <script> without the
    nonce: one in a template would silently stop working (app/static/portal.js does their work)."""
    assert offenders(TEMPLATES) == []


@pytest.mark.parametrize("snippet", ['<form method="post"\n  onsubmit="return confirm(\'x\')">',
                                     '<a href="javascript:history.back()">', "<script>alert(1)</script>",
                                     "<input type=checkbox onclick=\"go()\">"])
def test_the_template_scan_finds_each_kind_of_offender(tmp_path, snippet):
    (tmp_path / "bad.html").write_text(f"<p>ok</p>\n{snippet}\n", encoding="utf-8")
    assert len(offenders(tmp_path)) == 1


def _second_app(app, **settings):
    from app import create_app

    keys = ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "FAB_PASSWORD_HASH_METHOD", "SQLALCHEMY_ENGINE_OPTIONS")
    overrides = {k: app.config[k] for k in keys if k in app.config}
    overrides.update({"TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, **settings})
    other = create_app(overrides)
    other.test_client_class = IsolatedClient
    return other


def test_hsts_and_https_redirect_only_with_an_https_base_url(app):
    https = _second_app(app, PUBLIC_BASE_URL="https://jiuye.example.edu.cn")
    with https.app_context():
        secure = https.test_client().get("/login/", base_url="https://jiuye.example.edu.cn")
        assert secure.status_code == 200
        assert "max-age=31536000" in secure.headers["Strict-Transport-Security"]
        plain = https.test_client().get("/login/", base_url="http://jiuye.example.edu.cn")
        assert plain.status_code == 302 and plain.location.startswith("https://jiuye.example.edu.cn/login/")
    with app.app_context():  # the suite's app: PUBLIC_BASE_URL is http (config.py's default)
        assert app.config["PUBLIC_BASE_URL"].startswith("http://")
        client = app.test_client()
        assert client.get("/login/").status_code == 200  # not redirected
        assert "Strict-Transport-Security" not in client.get("/login/", base_url="https://localhost").headers


def test_a_request_refused_by_csrf_gets_a_protected_error_page_with_working_scripts(app):
    """The headers are registered before every extension: a POST that CSRFProtect refuses in its
    own before_request still gets the CSP, and its error page's scripts the nonce."""
    strict = _second_app(app, WTF_CSRF_ENABLED=True)
    with strict.app_context():
        response = strict.test_client().post("/login/", data={"username": "x", "password": "y"})
    assert response.status_code == 400
    assert "请求有误" in response.get_data(as_text=True)
    assert_protected(response)

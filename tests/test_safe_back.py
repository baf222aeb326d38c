"""A `next` back link is followed only to a path of this site (the job page's 返回, common.back).

Browsers drop tab and newline characters anywhere in a URL and read a backslash as a slash, so
`/\t/evil.example` opens as `//evil.example` — another host."""
import html
import re
from urllib.parse import urljoin, urlsplit

import pytest

from app.extensions import db
from app.models import JobRun
from tests.support import factories as f

HOSTILE = ["/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "//evil.example", "/\\evil.example",
           "\\/evil.example", "https://evil.example", "\t//evil.example", " //evil.example",
           "javascript:alert(1)"]


def as_browser_reads(href):
    """The URL a browser opens for `href` on http://portal.test/ (WHATWG URL parsing, roughly)."""
    href = html.unescape(href).strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f"
                                     "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
    href = re.sub(r"[\t\n\r]", "", href).replace("\\", "/")
    return urljoin("http://portal.test/jobs/run/1", href)


def links(page):
    return re.findall(r'href="([^"]*)"', page)


def leaves_the_site(href):
    url = urlsplit(as_browser_reads(href))
    return url.scheme != "http" or url.netloc != "portal.test"


@pytest.fixture
def run_page(client):
    employer = f.make_employer()
    user = f.make_user("employer", employer)
    run = JobRun(kind="candidate_import", user_id=user.id, status="done", done=1, total=1, params="{}")
    db.session.add(run)
    db.session.commit()
    f.login(client, user.username)

    def get(target):
        response = client.get(f"/jobs/run/{run.id}", query_string={"next": target})
        assert response.status_code == 200
        return response.get_data(as_text=True)

    return get


@pytest.mark.parametrize("target", HOSTILE)
def test_job_page_back_link_never_leaves_the_site(run_page, target):
    page = run_page(target)
    hrefs = links(page)
    assert html.escape(target) not in hrefs and target not in hrefs
    assert not [h for h in hrefs if leaves_the_site(h)]


def test_job_page_back_link_keeps_a_path_of_this_site(run_page):
    page = run_page("/employer/import/?page=2")
    assert html.escape("/employer/import/?page=2") in links(page)


def test_percent_encoded_tab_stays_a_path(run_page):
    """`%09` is not a tab to the browser: /%09/evil.example is a path here (or refused) — never a host."""
    assert not [h for h in links(run_page("/%09/evil.example")) if leaves_the_site(h)]


@pytest.mark.parametrize("target", HOSTILE + ["/\\school/reviews/"])
def test_login_never_sends_to_another_site(client, target):
    user = f.make_user("province")
    response = client.post("/login/", query_string={"next": target},
                           data={"username": user.username, "password": f.PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] != target and not leaves_the_site(response.headers["Location"])


def test_login_returns_to_the_page_that_asked_for_it(client):
    """FAB's has_access sends next=<the full URL>: a URL of this very host is kept (as its path)."""
    user = f.make_user("province")
    response = client.get("/jobs/queue/")
    assert response.status_code == 302 and "next=" in response.headers["Location"]
    response = client.post(response.headers["Location"], data={"username": user.username, "password": f.PASSWORD})
    assert response.headers["Location"] == "/jobs/queue/"


@pytest.mark.parametrize("target,expected", [(t, None) for t in HOSTILE] + [
    ("/\x00/evil.example", None), ("http://evil.example/jobs/queue/", None), ("ftp://localhost/x", None),
    ("/school/reviews/?page=3", "/school/reviews/?page=3"), ("/%09/evil.example", "/%09/evil.example"),
    ("http://localhost/school/?page=2", "/school/?page=2"), ("", None), (None, None)])
def test_one_same_site_check(app, target, expected):
    from app.security import safe_next

    with app.test_request_context("/", base_url="http://localhost/"):
        assert safe_next(target) == expected

"""Malformed numbers and ids in query strings and paths answer 400 or 404, never 500 (issue 16,
finding 7): FAB's list arguments (page_/psize_/_flt_ and <pk>), FAB's /users/download, the
console's Flask-Admin ids, pages and filters, the employer's 签约搜索 and the statistics filters.
Run on SQLite and on PostgreSQL (where a too-large integer is a database error)."""
import pytest
from sqlalchemy import text

from tests.support.factories import make_user
from tests.support.scenes import scene

BIG = "99999999999999999999"
KEY = "420111199001011234"

CASES = [
    # FAB's ModelView (ScopedModelView): 学生管理
    ("school", "/school/students/list/?page_SchoolStudentView=x", 400),
    ("school", "/school/students/list/?psize_SchoolStudentView=x", 400),
    ("school", f"/school/students/list/?psize_SchoolStudentView={BIG}", 400),
    ("school", f"/school/students/list/?page_SchoolStudentView={BIG}", 400),
    ("school", f"/school/students/list/?_flt_0_graduation_year={BIG}", 400),
    ("school", "/school/students/list/?_flt_0_graduation_year=x", 400),
    ("school", f"/school/students/show/{BIG}", 404),
    ("school", "/school/students/show/x", 404),
    ("school", "/school/students/download/x", 404),
    # FAB's own user and role lists (admin)
    ("admin", "/users/download/x", 404),
    ("admin", "/users/download/..%2Fapp.db", 404),
    ("admin", f"/users/show/{BIG}", 404),
    ("admin", "/users/list/?page_UserDBModelView=x", 400),
    ("admin", "/users/list/?psize_UserDBModelView=x", 400),
    ("admin", "/roles/list/?page_RoleModelView=x", 400),
    # 签约搜索 and statistics filters: a number beyond the database's integer finds nothing
    ("employer", f"/employer/search?school_id={BIG}&year=2026&name=a&key={KEY}", 200),
    ("employer", f"/employer/search?school_id=1&year={BIG}&name=a&key=13800138000", 200),
    ("province", f"/stats/province/?year={BIG}&school_id={BIG}", 200),
    # 支持控制台 (Flask-Admin)
    ("province", f"/console/students/details/?id={BIG}", 404),
    ("province", "/console/students/details/?id=x", 404),
    ("admin", f"/console/agreements/details/?id={BIG}", 404),
    ("province", f"/console/students/?page={BIG}", 400),
    ("province", "/console/students/?page=x", 400),
    ("province", f"/console/students/?flt0_0={BIG}", 400),
]


@pytest.mark.parametrize("role,url,status", CASES, ids=[f"{r}:{u}" for r, u, _s in CASES])
def test_malformed_numbers_are_refused_not_500(client, login, role, url, status):
    w = scene(other_school=True)
    user = w.logins.get(role) or make_user(role)
    login(client, user.username)
    r = client.get(url)
    assert r.status_code == status, r.get_data(as_text=True)[:300]


def test_valid_numbers_still_work(client, login):
    w = scene(other_school=True)
    login(client, w.reviewer.username)
    r = client.get(f"/school/students/list/?page_SchoolStudentView=0&psize_SchoolStudentView=10"
                   f"&_flt_0_graduation_year={w.student.graduation_year}")
    assert r.status_code == 200 and w.student.name in r.get_data(as_text=True)
    assert client.get(f"/school/students/show/{w.student.id}").status_code == 200


def test_error_page_renders_after_a_failed_statement(app, client, login, monkeypatch):
    """A database error inside a view: the 500 page still renders in the portal layout (on
    PostgreSQL the failed transaction made the error page's own queries fail)."""
    from app.extensions import db

    w = scene()
    login(client, w.reviewer.username)

    def broken_view(**_kwargs):
        db.session.execute(text("SELECT no_such_column FROM no_such_table"))

    monkeypatch.setitem(app.view_functions, "SchoolStudentView.list", broken_view)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setitem(app.config, "PERMISSION_CACHE_SECONDS", 0)  # the menu asks the database
    r = client.get("/school/students/list/")
    body = r.get_data(as_text=True)
    assert r.status_code == 500
    assert "系统繁忙" in body and 'class="container-fluid error-page"' in body

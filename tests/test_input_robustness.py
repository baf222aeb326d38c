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
    from tests.support.web import switch

    switch(client, make_user("province"))
    r = client.get(f"/console/students/details/?id={w.student.id}")
    assert r.status_code == 200 and w.student.id_number in r.get_data(as_text=True)
    assert client.get("/console/students/?page=0&flt0_0=2026").status_code == 200


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


# ---------------------------------------------------------------- control characters (finding 9)

SINGLE_LINE = "须为一行文字，不能含有换行或其他控制字符"
# (a trailing line break is trimmed like any surrounding space, so it is not among them)
BAD_TEXTS = ["武汉某某公司\r\nBcc: all@example.org", "武汉\t公司", "武汉\x07公司", "武汉\x1b[2J公司",
             "武汉\u2028公司", "武汉\u202egnp.exe公司", "武汉\x85公司"]


def _registration(**overrides):
    from tests.support.factories import credit_code

    values = {"name": "武汉新注册科技有限公司", "credit_code": credit_code(), "nature": "39", "industry": "I", "region": "420111",
              "contact_name": "李经理", "contact_phone": "13912345678", "email": "hr@newco.example.com",
              "address": "武汉市洪山区", "username": "newco-hr"}
    values.update(overrides)
    return values


@pytest.mark.parametrize("field", ["name", "contact_name", "address"])
@pytest.mark.parametrize("bad", BAD_TEXTS, ids=repr)
def test_employer_registration_refuses_control_characters(field, bad):
    from app import profiles
    from app.models import Employer, Notification
    from app.workflow import WorkflowError
    from tests.support.checks import count
    from tests.support.factories import PASSWORD, make_school

    school = make_school()
    with pytest.raises(WorkflowError) as info:
        profiles.register_employer(_registration(**{field: bad}), PASSWORD, [school.id])
    assert SINGLE_LINE in info.value.fields[field]
    assert count(Employer) == 0 and count(Notification) == 0


def test_registration_page_shows_the_control_character_refusal(client):
    from app.models import Employer
    from tests.support.checks import count
    from tests.support.factories import PASSWORD, make_school

    school = make_school()
    form = {**_registration(name="武汉某某公司\r\nBcc: all@example.org"), "password": PASSWORD, "password2": PASSWORD,
            "schools": [school.id]}
    page = client.post("/register/", data=form).get_data(as_text=True)
    assert "单位名称" + SINGLE_LINE in page and count(Employer) == 0


@pytest.mark.parametrize("bad", BAD_TEXTS, ids=repr)
@pytest.mark.parametrize("field", ["position", "contact_name", "archive_unit", "archive_address", "hukou_address"])
def test_offer_terms_refuse_control_characters(bad, field):
    from app.workflow import WorkflowError
    from app.workflow.fields import validate_terms
    from tests.support.factories import archive_details, valid_terms

    with pytest.raises(WorkflowError) as info:
        validate_terms(valid_terms(**{**archive_details(), "archive_mode": "forward", "hukou_mode": "forward",
                                     "hukou_address": "武汉市", field: bad}))
    assert SINGLE_LINE in info.value.fields[field]


def test_paper_agreement_and_destination_names_refuse_control_characters():
    from app.workflow import WorkflowError
    from app.workflow.fields import validate_destination, validate_paper_terms
    from tests.support.factories import paper_terms

    with pytest.raises(WorkflowError) as info:
        validate_paper_terms(paper_terms(employer_name="纸质公司\r\nX-Evil: 1"))
    assert info.value.fields["employer_name"] == "单位名称" + SINGLE_LINE
    with pytest.raises(WorkflowError) as info:
        validate_destination("80", {"school": "华中科技大学\n", "major": "软件\x00工程", "level": "硕士"})
    assert set(info.value.fields) == {"major"}  # the trailing newline is trimmed; the NUL is not
    assert SINGLE_LINE in info.value.fields["major"]


def test_reasons_keep_line_breaks_but_no_other_control_characters():
    from app.workflow import WorkflowError
    from app.workflow.base import reason_text

    assert reason_text("第一行\r\n第二行", "请填写", "R9") == "第一行\r\n第二行"
    for bad in ("原因\x1b[31m", "原因\u202e", "原因\x08"):
        with pytest.raises(WorkflowError) as info:
            reason_text(bad, "请填写", "R9")
        assert info.value.message == "原因中含有不可见的控制字符，请删除后重试"


def test_profile_confirmation_refuses_a_contact_with_a_line_break(client, login):
    from app.extensions import db
    from app.models import Employer

    w = scene()
    login(client, w.employer_user.username)
    before = db.session.get(Employer, w.employer.id).contact_name
    from app import profiles
    from app.workflow import WorkflowError
    from tests.support.factories import archive_details

    values = {"nature": "39", "industry": "I", "region": "420111", "contact_name": "王\r\n经理", "contact_phone": "13912345678",
              "email": "hr@x.example.com", "address": "武汉", **archive_details()}
    with pytest.raises(WorkflowError) as info:
        profiles.confirm_employer_profile(w.employer, values)
    assert SINGLE_LINE in info.value.fields["contact_name"]
    db.session.expire_all()
    assert db.session.get(Employer, w.employer.id).contact_name == before

"""Who may open what (DESIGN.md §1): each role its own portal; every view of one party tried with
another party's ids gives 404, never the data; anonymous visitors go to the login page."""
import pytest

from app import workflow
from app.extensions import db
from app.models import Agreement, Destination, EmployerApproval, InviteListEntry, Student, Termination
from tests.support.checks import count
from tests.support.factories import approve, make_employer, make_student, make_user, proof
from tests.support.scenes import SCHOOLS, scene
from tests.support.web import redirect_of


@pytest.fixture
def two_worlds():
    """Two schools, each with a student and an employer (on its invite list) whose offer the student
    accepted, an employer waiting for the school's approval (w.approval), and logins."""
    worlds = []
    for code in SCHOOLS:
        w = scene("accepted", school=code)
        db.session.add(InviteListEntry(employer_id=w.employer.id, student_id=w.student.id))
        db.session.commit()
        w.approval = approve(make_employer(), w.school, status="pending")
        worlds.append(w)
    return worlds


@pytest.fixture
def two_signed_worlds():
    """Two schools, each with a student holding a certified agreement and a free student (w.free)."""
    worlds = [scene("certified", school=code) for code in SCHOOLS]
    for w in worlds:
        w.free = make_student(w.school)
    return worlds


# (role of the intruder, method, url template, form) — ids come from the OTHER world.
FOREIGN = [
    ("employer", "GET", "/employer/offers/{offer}", None),
    ("employer", "GET", "/employer/offers/{offer}/amend", None),
    ("employer", "POST", "/employer/offers/{offer}/amend", {"position": "x"}),
    ("employer", "POST", "/employer/invite", {"ids": "{student}", "step": "confirm"}),
    ("employer", "GET", "/employer/invite?ids={student}", None),
    ("student", "GET", "/student/offers/{offer}", None),
    ("student", "GET", "/student/offers/{offer}/detail", None),
    ("student", "POST", "/student/offers/{offer}/accept", {"agree": "1"}),
    ("student", "POST", "/student/offers/{offer}/reject", {}),
    ("school", "GET", "/school/review/{offer}", None),
    ("school", "POST", "/school/review/{offer}/certify", {}),
    ("school", "POST", "/school/review/{offer}/decline", {"reason": "x"}),
    ("school", "POST", "/school/review/{offer}/withdraw", {"reason": "x"}),
    ("school", "POST", "/school/review/bulk-certify", {"ids": "{offer}"}),
    ("school", "POST", "/school/employers/{approval}/review", {"decision": "approve"}),
    ("school", "GET", "/school/students/show/{student}", None),
    ("school", "POST", "/school/students/action_post", {"action": "restrict", "rowid": "{student}"}),
]


def _fill(text, other):
    return text.format(offer=other.agreement.id, student=other.student.id, approval=other.approval.id)


@pytest.mark.parametrize("role,method,url,form", FOREIGN, ids=[f"{r}-{m}-{u}" for r, m, u, _ in FOREIGN])
def test_party_gets_404_for_other_partys_ids(client, login, two_worlds, role, method, url, form):
    mine, other = two_worlds
    login(client, mine.logins[role].username)
    url = _fill(url, other)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={k: _fill(v, other) for k, v in (form or {}).items()})
    assert response.status_code == 404, (url, response.status_code)
    # Nothing of the other party changed.
    assert db.session.get(Agreement, other.agreement.id).status == "accepted"
    assert db.session.get(Student, other.student.id).signing_restricted is False
    assert db.session.get(EmployerApproval, other.approval.id).status == "pending"


# ---------------------------------------------------------------- terminations, destinations, paper agreements

def _foreign_rows(other):
    """A termination (asked by the signed student) and a destination (of the free one) in the other world."""
    t = workflow.request_termination(other.student, other.agreement, "考取公务员")
    d = workflow.submit_destination(other.free, "80", {"school": "武汉大学", "major": "法学", "level": "硕士研究生"},
                                    proof())
    return t, d


FOREIGN_FLOW_ROWS = [
    ("employer", "GET", "/employer/terminations/{t}"),
    ("employer", "POST", "/employer/terminations/{t}/agree"),
    ("employer", "POST", "/employer/terminations/request"),
    ("student", "GET", "/student/terminations/{t}"),
    ("student", "POST", "/student/terminations/{t}/agree"),
    ("student", "POST", "/student/terminations/request/{a}"),
    ("student", "GET", "/student/files/destination/{d}"),
    ("student", "POST", "/student/destinations/{d}/withdraw"),
    ("student", "GET", "/student/paper/{a}"),
    ("school", "GET", "/school/terminations/{t}"),
    ("school", "POST", "/school/terminations/{t}/approve"),
    ("school", "POST", "/school/terminations/{t}/refuse"),
    ("school", "GET", "/school/destinations/{d}"),
    ("school", "POST", "/school/destinations/{d}/review"),
    ("school", "GET", "/school/files/destination/{d}"),
]


@pytest.mark.parametrize("who,method,url", FOREIGN_FLOW_ROWS, ids=[f"{w}-{m}-{u}" for w, m, u in FOREIGN_FLOW_ROWS])
def test_party_gets_404_for_other_partys_termination_destination_and_paper_rows(client, login, two_signed_worlds,
                                                                               who, method, url):
    mine, other = two_signed_worlds
    t, d = _foreign_rows(other)
    login(client, mine.logins[who].username)
    url = url.format(t=t.id, d=d.id, a=other.agreement.id)
    form = {"ids": other.agreement.id, "agree": "1", "reason": "x", "decision": "approve"}
    response = client.get(url) if method == "GET" else client.post(url, data=form)
    assert response.status_code == 404, (url, response.status_code)
    assert db.session.get(Termination, t.id).status == "requested"
    assert db.session.get(Destination, d.id).status == "submitted"
    assert count(Termination) == 1


# ---------------------------------------------------------------- portals

PORTALS = {"employer": "/employer/", "student": "/student/", "school": "/school/", "province": "/province/"}


@pytest.mark.parametrize("role", ["employer", "student", "school"])
@pytest.mark.parametrize("portal", sorted(PORTALS))
def test_role_cannot_open_other_roles_portal(client, login, two_worlds, role, portal):
    login(client, two_worlds[0].logins[role].username)
    response = client.get(PORTALS[portal])
    assert response.status_code == (200 if portal == role else 403)  # our refusal page, not a redirect


def test_school_list_shows_only_own_students(client, login, two_worlds):
    mine, other = two_worlds
    login(client, mine.reviewer.username)
    page = client.get("/school/students/list/").get_data(as_text=True)
    assert mine.student.student_no in page and other.student.student_no not in page
    reviews = client.get("/school/review/").get_data(as_text=True)
    assert mine.student.name in reviews and other.student.name not in reviews


def test_fab_single_row_action_by_get_is_refused(client, login, two_worlds):
    mine, _ = two_worlds
    login(client, mine.reviewer.username)
    response = client.get(f"/school/students/action/restrict/{mine.student.id}")
    assert response.status_code == 404
    assert db.session.get(Student, mine.student.id).signing_restricted is False


def test_anonymous_is_sent_to_login(client, two_worlds):
    for url in PORTALS.values():
        response = client.get(url)
        assert redirect_of(response) == (302, f"/login/?next={url}")


def test_page_size_is_capped(client, login, two_worlds, app):
    login(client, two_worlds[0].reviewer.username)
    response = client.get("/school/students/list/?psize_SchoolStudentView=100000")
    assert response.status_code == 200
    from app.views.common import page_args

    with app.test_request_context("/?size=100000"):
        assert page_args()[1] == app.config["PAGE_SIZE_MAX"]


def test_each_role_lands_on_its_home_page(client, login, w):
    for user, home, marker in [(w.employer_user, "/employer/", "单位审核情况"), (w.student_user, "/student/", "基本信息"),
                               (w.reviewer, "/school/", "待审核协议书"), (make_user("province"), "/province/", "各校签约概况"),
                               (make_user("admin"), "/province/", "各校签约概况")]:
        login(client, user.username)
        response = client.get("/", follow_redirects=True)
        assert response.request.path == home, user.username
        assert marker in response.get_data(as_text=True), user.username
        client.post("/logout/")

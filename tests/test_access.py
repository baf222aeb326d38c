"""Every view of one party tried with another party's ids: 404, never the data (DESIGN.md §1)."""
import pytest


from app import workflow
from app.extensions import db
from app.models import Agreement, EmployerApproval, InviteListEntry, Student
from tests.support.factories import approve, make_employer, make_reviewer, make_school, make_student, make_user, valid_terms


@pytest.fixture
def two_worlds(app):
    """Two schools, each with a student, an employer, logins, and an accepted offer."""
    app.config["COOLING_OFF_MINUTES"] = 0
    worlds = []
    for code, name in (("10486", "武汉大学"), ("10487", "华中科技大学")):
        school = make_school(code, name)
        student = make_student(school)
        employer = make_employer(approved_by=school)
        db.session.add(InviteListEntry(employer_id=employer.id, student_id=student.id))
        db.session.commit()
        [offer] = workflow.invite(employer, [student], valid_terms())
        workflow.accept(student, offer)
        waiting = make_employer()
        worlds.append({
            "school": school, "student": student, "employer": employer, "offer": offer,
            "approval": approve(waiting, school, status="pending"),
            "users": {
                "employer": make_user("employer", employer),
                "student": make_user("student", student),
                "school": make_reviewer(school),
            },
        })
    yield worlds
    app.config["COOLING_OFF_MINUTES"] = 60


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
    return text.format(offer=other["offer"].id, student=other["student"].id, approval=other["approval"].id)


@pytest.mark.parametrize("role,method,url,form", FOREIGN, ids=[f"{r}-{m}-{u}" for r, m, u, _ in FOREIGN])
def test_party_gets_404_for_other_partys_ids(client, login, two_worlds, role, method, url, form):
    mine, other = two_worlds
    login(client, mine["users"][role].username)
    url = _fill(url, other)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={k: _fill(v, other) for k, v in (form or {}).items()})
    assert response.status_code == 404, (url, response.status_code)
    # Nothing of the other party changed.
    assert db.session.get(Agreement, other["offer"].id).status == "accepted"
    assert db.session.get(Student, other["student"].id).signing_restricted is False
    assert db.session.get(EmployerApproval, other["approval"].id).status == "pending"


PORTALS = {"employer": "/employer/", "student": "/student/", "school": "/school/", "province": "/province/"}


@pytest.mark.parametrize("role", ["employer", "student", "school"])
@pytest.mark.parametrize("portal", sorted(PORTALS))
def test_role_cannot_open_other_roles_portal(client, login, two_worlds, role, portal):
    login(client, two_worlds[0]["users"][role].username)
    response = client.get(PORTALS[portal])
    if portal == role:
        assert response.status_code == 200
    else:
        assert response.status_code in (302, 403, 404)
        assert response.status_code != 200


def test_school_list_shows_only_own_students(client, login, two_worlds):
    mine, other = two_worlds
    login(client, mine["users"]["school"].username)
    page = client.get("/school/students/list/").get_data(as_text=True)
    assert mine["student"].student_no in page and other["student"].student_no not in page
    reviews = client.get("/school/review/").get_data(as_text=True)
    assert mine["student"].name in reviews and other["student"].name not in reviews


def test_fab_single_row_action_by_get_is_refused(client, login, two_worlds):
    mine, _ = two_worlds
    login(client, mine["users"]["school"].username)
    response = client.get(f"/school/students/action/restrict/{mine['student'].id}")
    assert response.status_code == 404
    assert db.session.get(Student, mine["student"].id).signing_restricted is False


def test_anonymous_is_sent_to_login(client, two_worlds):
    for url in PORTALS.values():
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_page_size_is_capped(client, login, two_worlds, app):
    login(client, two_worlds[0]["users"]["school"].username)
    response = client.get("/school/students/list/?psize_SchoolStudentView=100000")
    assert response.status_code == 200
    from app.views.common import page_args

    with app.test_request_context("/?size=100000"):
        assert page_args()[1] == app.config["PAGE_SIZE_MAX"]

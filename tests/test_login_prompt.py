"""Issue 18 item 4, the login's part: a logged-out visitor following a link is asked to log in
(请先登录, not FAB's 访问被拒绝) and comes back to the page; a refused 定向 / 方案已提交 login stays on
the 毕业生登录 tab with its school."""
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.factories import PASSWORD, login, make_school, make_student, make_user
from tests.support.web import redirect_of


@pytest.fixture
def me():
    school = make_school("10486", "武汉大学")
    student = make_student(school)
    return student, make_user("student", student, email=student.email)


def text_of(response):
    return response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/student/", "/student/offers/?employer=武汉", "/employer/offers/?tab=pending",
                                 "/school/students/list/"])
def test_a_logged_out_visitor_is_asked_to_log_in_and_comes_back(client, me, url):
    response = client.get(url)
    status, location = redirect_of(response)
    assert status == 302 and location.startswith("/login/")
    assert parse_qs(urlsplit(location).query)["next"] == [url]  # a path of this site, not a full URL
    page = text_of(client.get(location))
    assert "请先登录" in page and "访问被拒绝" not in page


def test_a_logged_out_post_is_asked_to_log_in_without_a_next(client, me):
    response = client.post("/student/verify/send-code", data={"email": "x@example.com", "address": "x"})
    assert redirect_of(response) == (302, "/login/")
    assert "请先登录" in text_of(client.get("/login/"))


def test_a_logged_in_user_without_the_permission_still_gets_403(client, me):
    _student, user = me
    login(client, user.username)
    assert client.get("/school/students/list/").status_code == 403


def test_the_login_returns_to_the_page_after_请先登录(client, me):
    student, _user = me
    location = client.get("/student/offers/").headers["Location"]
    response = client.post(location, data={"mode": "student", "school": student.school_id,
                                           "username": student.student_no, "password": PASSWORD})
    assert redirect_of(response) == (302, "/student/offers/")


@pytest.mark.parametrize("field, value", [("training_mode", "targeted"), ("plan_submitted", True)])
def test_a_refused_student_login_stays_on_the_student_tab(client, field, value):
    school = make_school("10486", "武汉大学")
    student = make_student(school, **{field: value})
    make_user("student", student)
    response = client.post("/login/?mode=student", data={"mode": "student", "school": school.id,
                                                          "username": student.student_no, "password": PASSWORD})
    assert redirect_of(response) == (302, f"/login/?next=/&mode=student&school={school.id}")
    page = text_of(client.get(response.headers["Location"]))
    assert re.search(r'<li class="active"><a [^>]*mode=student', page)  # 毕业生登录 tab
    assert f'<option value="{school.id}" selected' in page and "不能登录网签系统" in page

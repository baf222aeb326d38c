"""CSRF, rate limits, cookies and password rules (issue 2, Security)."""
import re

import pytest

from app.extensions import db

from tests.support.factories import PASSWORD, make_employer, make_school, make_student, make_user


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def test_post_without_csrf_token_is_refused(client, login, csrf_on):
    school = make_school()
    reviewer = make_user("school", school)
    student = make_student(school)
    page = client.get("/login/").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post("/login/", data={"username": reviewer.username, "password": PASSWORD, "csrf_token": token})
    response = client.post("/school/students/action_post", data={"action": "restrict", "rowid": student.id})
    assert response.status_code == 400
    db.session.refresh(student)
    assert student.signing_restricted is False


def test_search_is_rate_limited(limited_app, login):
    client = limited_app.test_client()
    school = make_school()
    employer = make_employer(approved_by=school)
    user = make_user("employer", employer)
    student = make_student(school)
    login(client, user.username)
    query = {"school_id": school.id, "year": student.graduation_year, "name": student.name, "key": "13000000000"}
    codes = [client.get("/employer/search", query_string=query).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]


def test_login_is_rate_limited(limited_app):
    client = limited_app.test_client()
    make_user("province", username="prov")
    codes = [client.post("/login/", data={"username": "prov", "password": "wrong"}).status_code for _ in range(7)]
    assert codes == [302] * 5 + [429, 429]  # a wrong password goes back to the form; the 6th is refused


def test_session_cookie_is_httponly_and_samesite_lax(client, login):
    make_user("province", username="prov2")
    response = client.post("/login/", data={"username": "prov2", "password": PASSWORD})
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("weak", ["short1A", "alllowercase1", "ALLUPPER123", "NoDigitsHere"])
def test_weak_password_is_refused_for_accounts_made_by_code(weak):
    with pytest.raises(ValueError, match="密码至少8位"):
        make_user("province", password=weak)


def test_password_validator_rejects_weak_password_in_forms():
    from wtforms.validators import ValidationError

    from app.security import password_validator

    with pytest.raises(ValidationError):
        password_validator("abc")
    password_validator(PASSWORD)


@pytest.mark.parametrize("target", ["//evil.com", "/\\evil.com", "/\tevil.com", "https://evil.com"])
def test_next_parameter_cannot_leave_the_site(app, target):
    from app.views.common import back

    with app.test_request_context("/", method="POST", data={"next": target}):
        assert back("/safe").headers["Location"] == "/safe"

"""Issue "security" finding 5: an employer no school has approved can use 签约搜索 (R16), and the
public 单位注册 is unlimited and tells which user names, e-mails and credit codes exist."""
import pytest

from app import profiles
from app.extensions import db
from app.models import EmployerApproval, InviteListEntry
from tests.support.checks import count
from tests.support.factories import PASSWORD, make_employer, make_user
from tests.support.scenes import scene


def _search(client, w):
    s = w.student
    return client.get("/employer/search", query_string={
        "school_id": w.school.id, "year": s.graduation_year, "name": s.name, "key": s.id_number})


@pytest.mark.parametrize("state", ["pending", "refused"])
def test_unapproved_employer_cannot_search_students(client, login, w, state):
    employer = make_employer()  # profile confirmed, no approval yet
    db.session.add(EmployerApproval(employer_id=employer.id, school_id=w.school.id, status=state))
    db.session.commit()
    user = make_user("employer", employer)
    login(client, user.username)
    page = _search(client, w).get_data(as_text=True)
    assert 'id="search-blocked"' in page and "尚未通过任一学校审核" in page
    assert w.student.name not in page and 'name="token"' not in page


def test_approved_employer_still_finds_the_exact_student(client, login, w):
    login(client, w.employer_user.username)
    page = _search(client, w).get_data(as_text=True)
    assert 'id="search-blocked"' not in page and 'name="token"' in page and w.student.name in page


def test_unconfirmed_employer_is_sent_to_confirm_its_profile_first(client, login, w):
    employer = make_employer(approved_by=w.school, confirmed=False)
    login(client, make_user("employer", employer).username)
    response = _search(client, w)
    assert response.status_code == 302 and response.headers["Location"] == "/employer/confirm"
    assert count(InviteListEntry) == 0


def _registration(n):
    from tests.support.factories import credit_code, phone

    return {"name": f"注册测试公司{n}", "credit_code": credit_code(9000 + n), "nature": "39", "industry": "I", "region": "420111",
            "contact_name": "王经理", "contact_phone": phone(9000 + n), "email": f"reg{n}@example.com",
            "address": "武汉", "username": f"reg{n}user", "password": PASSWORD, "password2": PASSWORD}


def test_registration_is_rate_limited_per_address(app, client, w):
    app.config["RATELIMIT_ENABLED"] = True
    try:
        codes = [client.post("/register/", data={**_registration(n), "schools": [w.school.id]},
                             environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code for n in range(7)]
        other = client.post("/register/", data={**_registration(8), "schools": [w.school.id]},
                            environ_base={"REMOTE_ADDR": "203.0.113.10"}).status_code
    finally:
        app.config["RATELIMIT_ENABLED"] = False
    assert codes == [302] * 5 + [429, 429] and other == 302


@pytest.mark.parametrize("taken", ["username", "email", "credit_code"])
def test_registration_does_not_say_which_value_is_taken(client, w, taken):
    existing = make_user("employer", w.employer)
    form = {**_registration(1), "schools": [w.school.id]}
    form[taken] = {"username": existing.username, "email": existing.email,
                   "credit_code": w.employer.credit_code}[taken]
    page = client.post("/register/", data=form).get_data(as_text=True)
    assert profiles.REGISTRATION_TAKEN.split("：")[0] in page
    for word in ("用户名已被使用", "邮箱已被其他账号使用", "统一社会信用代码已注册"):
        assert word not in page


def test_rate_limits_count_in_process_memory_when_their_storage_is_down(app, client, monkeypatch):
    """The limiter's Redis gone: /verify still answers (no 500) and the limit still holds."""
    from redis.exceptions import ConnectionError as RedisDown

    class DeadStorage:  # Flask-Limiter whose Redis does not answer
        enabled = True

        class limiter:  # noqa: N801
            @staticmethod
            def hit(*_args, **_kwargs):
                raise RedisDown("Connection refused")

    monkeypatch.setattr(app.appbuilder.sm, "limiter", DeadStorage())
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", "3 per minute")
    app.config["RATELIMIT_ENABLED"] = True
    try:
        codes = [client.get("/verify", query_string={"number": "120262048600001", "code": "ABCD2345"},
                            environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code for _ in range(4)]
    finally:
        app.config["RATELIMIT_ENABLED"] = False
    assert codes == [404, 404, 404, 429], codes

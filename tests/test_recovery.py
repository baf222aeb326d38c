"""忘记密码 for every role (R18, issue 16): students by a code to the phone on file, employers by
an e-mailed single-use link, reviewers and province staff by their administrator; limited, and
the same answer for unknown accounts."""
import re
import time

import pytest
from sqlalchemy import select

from app import accounts
from app.extensions import db
from app.models import AccountEvent, AppUser, Notification, SmsCode, SmsMessage
from tests.support.checks import count
from tests.support.factories import login, make_employer, make_reviewer, make_school, make_student, make_user
from tests.support.web import redirect_of

NEW_PASSWORD = "NewPassw0rd"


def last_code(phone):
    body = db.session.scalar(select(SmsMessage.body).where(SmsMessage.phone == phone).order_by(SmsMessage.id.desc()))
    return re.search(r"验证码为(\d{6})", body).group(1)


def reset_link(user):
    body = db.session.scalar(select(Notification.body).where(Notification.user_id == user.id,
                                                             Notification.subject == "重置密码")
                             .order_by(Notification.id.desc()))
    return re.search(r"http://[^/]+(/recover/reset/\S+)", body).group(1)


def password_of(user):
    db.session.expire_all()
    return db.session.get(AppUser, user.id).password


@pytest.fixture
def school():
    return make_school("10486", "武汉大学")


# ---------------------------------------------------------------- students: SMS to the phone on file

def test_verified_student_who_forgot_the_password_resets_it_by_sms(client, school):
    student = make_student(school)
    user = make_user("student", student)
    page = client.get("/login/?mode=student").get_data(as_text=True)
    assert "首次登录 / 忘记密码" in page and "/recover/activate" in page
    client.post("/recover/activate", data={"school": school.id, "account": student.student_no, "step": "send"})
    wrong = client.post("/recover/activate", data={"school": school.id, "account": student.student_no, "step": "set",
                                                   "code": "000000" if last_code(student.phone) != "000000" else "111111",
                                                   "password": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert "验证码不正确" in wrong.get_data(as_text=True) and not accounts.check_password(user, NEW_PASSWORD)
    response = client.post("/recover/activate", data={
        "school": school.id, "account": student.id_number, "step": "set", "code": last_code(student.phone),
        "password": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert redirect_of(response)[0] == 302
    assert accounts.check_password(db.session.get(AppUser, user.id), NEW_PASSWORD)
    login(client, user.username, NEW_PASSWORD)


def test_activation_answers_the_same_for_unknown_accounts_and_sends_nothing(client, school):
    student = make_student(school)
    make_user("student", student)
    known = client.post("/recover/activate", data={"school": school.id, "account": student.student_no, "step": "send"})
    unknown = client.post("/recover/activate", data={"school": school.id, "account": "2099000000", "step": "send"})
    message = "如果填写的信息与学校登记的一致"
    assert message in known.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    assert count(SmsMessage) == 1


def test_activation_refuses_a_weak_password_and_a_used_code(client, school):
    student = make_student(school)
    user = make_user("student", student)
    client.post("/recover/activate", data={"school": school.id, "account": student.student_no, "step": "send"})
    code = last_code(student.phone)
    weak = client.post("/recover/activate", data={"school": school.id, "account": student.student_no, "step": "set",
                                                  "code": code, "password": "weak", "password2": "weak"})
    assert "大写字母" in weak.get_data(as_text=True)
    form = {"school": school.id, "account": student.student_no, "step": "set", "code": code,
            "password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert redirect_of(client.post("/recover/activate", data=form))[0] == 302
    before = password_of(user)
    again = client.post("/recover/activate", data=dict(form, password="Other0ne1", password2="Other0ne1"))
    assert again.status_code == 200 and password_of(user) == before  # the code works once


def test_activation_codes_are_limited_per_phone(client, school):
    student = make_student(school)
    make_user("student", student)
    for _ in range(3):
        client.post("/recover/activate", data={"school": school.id, "account": student.student_no, "step": "send"})
    assert count(SmsCode) == 1  # SMS_PER_PHONE_MINUTE


def test_activation_is_limited_per_client_address(limited_app, school):
    client = limited_app.test_client()
    answers = [client.post("/recover/activate", data={"school": school.id, "account": f"20990000{i:02d}",
                                                      "step": "send"}).get_data(as_text=True) for i in range(7)]
    assert "操作过于频繁" in answers[-1] and "操作过于频繁" not in answers[0]


# ---------------------------------------------------------------- employers: an e-mailed link

def test_employer_resets_the_password_by_a_single_use_link(client, school):
    user = make_user("employer", make_employer(approved_by=school), email="hr@firm.example.com")
    page = client.get("/login/").get_data(as_text=True)
    assert "忘记密码" in page and "/recover/" in page
    response = client.post("/recover/", data={"account": "HR@firm.example.com"})
    assert redirect_of(response)[0] == 302
    mail = db.session.scalar(select(Notification).where(Notification.user_id == user.id))
    assert mail.email == "hr@firm.example.com" and mail.email_status == "pending"
    link = reset_link(user)
    assert client.get(link).status_code == 200
    client.post(link, data={"password": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert accounts.check_password(db.session.get(AppUser, user.id), NEW_PASSWORD)
    assert db.session.scalar(select(AccountEvent.kind).where(AccountEvent.user_id == user.id)) == "password_changed"
    before = password_of(user)
    reused = client.post(link, data={"password": "Other0ne1", "password2": "Other0ne1"})
    assert redirect_of(reused)[1].startswith("/recover/") and password_of(user) == before  # single use
    login(client, user.username, NEW_PASSWORD)


def test_reset_link_expires_after_thirty_minutes(client, school, monkeypatch):
    user = make_user("employer", make_employer(approved_by=school))
    token = accounts.reset_token(user)
    later = time.time() + 31 * 60
    monkeypatch.setattr(time, "time", lambda: later)
    assert accounts.user_of_reset_token(token) is None
    assert redirect_of(client.get(f"/recover/reset/{token}"))[0] == 302


def test_a_forged_or_other_purpose_token_opens_nothing(client, school):
    user = make_user("employer", make_employer(approved_by=school))
    token = accounts.reset_token(user)
    assert accounts.user_of_reset_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB")) is None
    assert accounts.user_of_reset_token("") is None and accounts.user_of_reset_token("x.y.z") is None


def test_forgot_answers_the_same_and_mails_nobody_for_unknown_or_staff_accounts(client, school):
    reviewer = make_reviewer(school)
    province = make_user("province")
    page = client.get("/recover/").get_data(as_text=True)
    assert "请联系系统管理员" in page
    answers = {client.post("/recover/", data={"account": name}, follow_redirects=True).get_data(as_text=True)
               .count("如果该账号存在且为用人单位账号") for name in ("nobody", reviewer.username, province.username)}
    assert answers == {1}
    assert count(Notification) == 0


def test_forgot_is_limited_per_account(limited_app, school):
    user = make_user("employer", make_employer(approved_by=school))
    client = limited_app.test_client()
    for _ in range(5):
        client.post("/recover/", data={"account": user.username})
    assert count(Notification, Notification.user_id == user.id) == 3  # RECOVERY_PER_ACCOUNT_LIMIT


def test_logged_in_users_are_sent_to_change_password(client, school):
    user = make_user("employer", make_employer(approved_by=school))
    login(client, user.username)
    assert redirect_of(client.get("/recover/")) == (302, "/account/password")

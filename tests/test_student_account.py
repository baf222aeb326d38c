"""Issue 18 item 4: the student's own account. 基本信息管理 shows and edits 邮箱, 通讯地址 and 手机 (a new
phone proven by a code, R18: recorded, the previous contact told); every 发送验证码 counts down.
(请先登录 and the login tabs: test_login_prompt.py.)"""
import re

import pytest
from sqlalchemy import select

from app import accounts, labels, sms, students
from app.extensions import db
from app.models import AccountEvent, AppUser, Notification, SmsMessage, Student
from app.workflow import WorkflowError
from tests.support.checks import count
from tests.support.factories import (
    PASSWORD, login, make_employer, make_reviewer, make_school, make_student, make_user,
)
from tests.support.web import redirect_of

NEW_PHONE = "13977776666"


@pytest.fixture
def me():
    """A verified student of 武汉大学 with a login (and its reviewer, for the school's side)."""
    school = make_school("10486", "武汉大学")
    student = make_student(school, address="武汉市洪山区珞喻路1号")
    user = make_user("student", student, email=student.email)
    return student, user, make_reviewer(school)


def last_code(phone):
    body = db.session.scalar(select(SmsMessage.body).where(SmsMessage.phone == phone).order_by(SmsMessage.id.desc()))
    return re.search(r"验证码为(\d{6})", body).group(1)


def events(user):
    return db.session.scalars(select(AccountEvent).where(AccountEvent.user_id == user.id)
                              .order_by(AccountEvent.id)).all()


def text_of(response):
    return response.get_data(as_text=True)


# ---------------------------------------------------------------- the page

def test_basic_info_menu_opens_the_account_page_with_contact_and_phone(client, me):
    student, user, _ = me
    login(client, user.username)
    home = text_of(client.get("/student/"))
    assert re.search(r'href="/student/account">基本信息管理</a>', home)
    page = text_of(client.get("/student/account"))
    assert "<h3>基本信息管理</h3>" in page
    assert f'value="{student.email}"' in page and 'value="武汉市洪山区珞喻路1号"' in page
    assert labels.mask_phone(student.phone) in page and student.phone not in page
    assert 'id="send-code"' in page and 'data-sms-wait="0"' in page and "sms-countdown.js" in page


# ---------------------------------------------------------------- 邮箱 and 通讯地址

def test_student_changes_email_and_address_recorded_and_told_to_the_old_address(client, me):
    student, user, _ = me
    old_email = student.email
    login(client, user.username)
    response = client.post("/student/account", data={"email": "new.me@example.com", "address": "武汉市武昌区八一路299号"})
    assert redirect_of(response) == (302, "/student/account")
    saved = db.session.get(Student, student.id)
    assert (saved.email, saved.address) == ("new.me@example.com", "武汉市武昌区八一路299号")
    assert db.session.get(AppUser, user.id).email == "new.me@example.com"
    assert saved.verified_at is not None  # the student's own change: no second 信息验证
    [event] = events(user)
    assert (event.kind, event.actor_id, event.actor_name) == ("email_changed", user.id, "本人")
    assert event.old_value == accounts.mask_email(old_email) and event.new_value == "n***@example.com"
    notice = db.session.scalar(select(Notification).where(Notification.user_id == user.id))
    assert notice.email == old_email and "如非你本人操作" in notice.body
    page = text_of(client.get("/student/account"))
    assert "联系方式已保存" in page and "邮箱变更" in page and "本人" in page


def test_address_alone_changes_without_an_account_event(client, me):
    student, user, _ = me
    login(client, user.username)
    client.post("/student/account", data={"email": student.email, "address": "武汉市江夏区"})
    assert db.session.get(Student, student.id).address == "武汉市江夏区"
    assert events(user) == [] and count(Notification) == 0


@pytest.mark.parametrize("form, field, message", [
    ({"email": "not-an-email", "address": "武汉"}, "email", "请输入正确的邮箱"),
    ({"email": "a@example.com", "address": "  "}, "address", "请输入通讯地址"),
    ({"email": "a@example.com", "address": "武" * 201}, "address", "通讯地址不能超过200个字"),
    ({"email": "a@example.com", "address": "武汉\n洪山"}, "address", "通讯地址须为一行文字"),
])
def test_bad_contact_input_is_refused_beside_its_field_and_writes_nothing(client, me, form, field, message):
    student, user, _ = me
    before = (student.email, student.address)
    login(client, user.username)
    response = client.post("/student/account", data=form)
    page = text_of(response)
    assert response.status_code == 200 and "联系方式填写有误" in page
    assert re.search(rf'has-error">\s*<label[^>]*for="{field}"', page) and message in page
    saved = db.session.get(Student, student.id)
    assert (saved.email, saved.address) == before and events(user) == []


def test_an_email_of_another_login_is_refused(me):
    student, _user, _ = me
    other = make_user("employer", make_employer())
    with pytest.raises(WorkflowError) as info:
        students.update_contact(student, {"email": other.email.upper(), "address": "武汉"})
    assert info.value.fields == {"email": "该邮箱已被其他账号使用"}
    assert db.session.get(Student, student.id).address == "武汉市洪山区珞喻路1号"


# ---------------------------------------------------------------- 手机 (R18)

def test_student_changes_phone_with_a_code_to_the_new_number_and_the_password(client, me):
    student, user, _ = me
    old_phone = student.phone
    login(client, user.username)
    page = text_of(client.post("/student/account/phone/send-code", data={"phone": NEW_PHONE}))
    assert f"验证码已发送至 {labels.mask_phone(NEW_PHONE)}" in page
    assert f'data-sms-wait="{sms.RESEND_SECONDS}"' in page and f'value="{NEW_PHONE}"' in page
    response = client.post("/student/account/phone", data={"phone": NEW_PHONE, "code": last_code(NEW_PHONE),
                                                            "password": PASSWORD})
    assert redirect_of(response) == (302, "/student/account")
    saved = db.session.get(Student, student.id)
    assert saved.phone == NEW_PHONE and saved.verified_at is not None
    [event] = events(user)
    assert (event.kind, event.actor_id, event.old_value, event.new_value) == (
        "phone_changed", user.id, labels.mask_phone(old_phone), labels.mask_phone(NEW_PHONE))
    told = db.session.scalar(select(SmsMessage.body).where(SmsMessage.phone == old_phone))
    assert told and "手机号变更" in told  # the previous phone hears of it
    assert db.session.scalar(select(Notification.email).where(Notification.user_id == user.id)) == student.email
    # The student's own, proven change holds nothing: the new phone recovers the password at once.
    assert students.contact_hold_until(saved, db.session.get(AppUser, user.id)) is None
    assert "手机号已更换" in text_of(client.get("/student/account"))


@pytest.mark.parametrize("phone, code, password, field", [
    ("12345", "123456", PASSWORD, "phone"),
    ("same", "123456", PASSWORD, "phone"),
    (NEW_PHONE, "12ab", PASSWORD, "code"),
    (NEW_PHONE, "wrong", PASSWORD, "code"),
    (NEW_PHONE, "right", "Wr0ngPassword", "password"),
])
def test_phone_change_refused_writes_nothing(client, me, phone, code, password, field):
    student, user, _ = me
    old_phone = student.phone
    phone = old_phone if phone == "same" else phone
    login(client, user.username)
    client.post("/student/account/phone/send-code", data={"phone": NEW_PHONE})
    sent = last_code(NEW_PHONE)
    code = {"right": sent, "wrong": "000000" if sent != "000000" else "111111"}.get(code, code)
    response = client.post("/student/account/phone", data={"phone": phone, "code": code, "password": password})
    page = text_of(response)
    assert response.status_code == 200 and re.search(rf'has-error">\s*<label[^>]*for="{field}"', page)
    assert db.session.get(Student, student.id).phone == old_phone and events(user) == []
    assert db.session.scalar(select(SmsMessage).where(SmsMessage.phone == old_phone)) is None


def test_a_code_is_sent_only_to_a_valid_new_number(me):
    student, _user, _ = me
    for phone, message in (("1388", "请输入正确的新手机号"), (student.phone, "新手机号与当前手机号相同")):
        with pytest.raises(WorkflowError) as info:
            students.send_phone_code(student, phone)
        assert message in info.value.fields["phone"]
    assert count(SmsMessage) == 0


def test_a_school_set_phone_still_holds_but_the_students_own_change_ends_it(me):
    """R18's hold: the newest phone change decides. A school's change holds the new phone for
    CONTACT_HOLD_HOURS; the student's own change after it (proven by a code) holds nothing."""
    student, user, reviewer = me
    form = {k: getattr(student, k) or "" for k in ("student_no", "name", "id_number", "gender", "email",
                                                     "department", "major", "education")}
    form.update(graduation_year=str(student.graduation_year), training_mode=student.training_mode,
                phone="13600002222", name="张同学", gender="男" if int(student.id_number[16]) % 2 else "女")
    students.save_student(reviewer, form, student)
    student = db.session.get(Student, student.id)
    assert students.contact_hold_until(student, user) is not None
    students.send_phone_code(student, NEW_PHONE)
    students.change_phone(student, NEW_PHONE, last_code(NEW_PHONE), PASSWORD)
    assert students.contact_hold_until(db.session.get(Student, student.id), user) is None


# ---------------------------------------------------------------- 发送验证码 counts down everywhere

def test_every_send_code_button_counts_down_after_a_send(client, me):
    student, user, _ = me
    # 信息验证
    db.session.get(Student, student.id).verified_at = None
    db.session.commit()
    login(client, user.username)
    page = text_of(client.get("/student/verify"))
    assert 'data-sms-wait="0"' in page and "sms-countdown.js" in page
    page = text_of(client.post("/student/verify/send-code", data={"email": "", "address": ""}))
    assert f'data-sms-wait="{sms.RESEND_SECONDS}"' in page
    # A refused send does not count down.
    page = text_of(client.post("/student/verify/send-code", data={"email": "", "address": ""}))
    assert "过于频繁" in page and 'data-sms-wait="0"' in page
    # 首次登录 / 忘记密码 (public): the same answer and countdown whether or not the account exists.
    client.post("/logout/")
    for account in (student.student_no, "no-such-student"):
        page = text_of(client.post("/recover/activate", data={"step": "send", "school": student.school_id,
                                                                "account": account}))
        assert f'data-sms-wait="{sms.RESEND_SECONDS}"' in page and "sms-countdown.js" in page


def test_every_send_code_button_in_the_templates_uses_the_countdown():
    from pathlib import Path

    for path in Path("app/templates").rglob("*.html"):
        for button in re.findall(r"<button[^>]*>发送验证码</button>", path.read_text()):
            assert "data-sms-wait" in button, f"{path}: {button}"

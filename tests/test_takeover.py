"""Issue 16, findings 3, 4, 8 (R18): no takeover path through the school's 学生管理, no password
derived from data a third party knows, account events, and FAB's password screens."""
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from app import accounts, students
from app.extensions import db
from app.models import AccountEvent, AppUser, Notification, SmsMessage, Student
from tests.support.checks import count
from tests.support.factories import (
    PASSWORD, id_number, login, logout, make_employer, make_reviewer, make_school, make_student, make_user,
)
from tests.support.web import redirect_of

NEW_PASSWORD = "NewPassw0rd"


@pytest.fixture
def schools():
    a, b = make_school("10486", "武汉大学"), make_school("10487", "华中科技大学")
    return a, b, make_reviewer(a), make_reviewer(b)


def student_login(client, school, account, password):
    return client.post("/login/?mode=student", data={"mode": "student", "school": school.id, "username": account,
                                                     "password": password}, follow_redirects=True)


def student_form(student, **overrides):
    values = {k: getattr(student, k) or "" for k in ("student_no", "name", "id_number", "gender", "phone", "email",
                                                       "department", "major", "education")}
    values.update(graduation_year=str(student.graduation_year), training_mode=student.training_mode, name="张同学",
                  gender="男" if int(student.id_number[16]) % 2 else "女")  # the factory's gender is fixed
    values.update(overrides)
    return values


def last_code(phone):
    body = db.session.scalar(select(SmsMessage.body).where(SmsMessage.phone == phone).order_by(SmsMessage.id.desc()))
    return re.search(r"验证码为(\d{6})", body).group(1)


def id_derived(student):
    return "Jy" + student.id_number[-6:].upper()


# ---------------------------------------------------------------- finding 4: no ID-derived password

def test_a_roster_login_has_no_password_anyone_can_derive(client, schools):
    a, _b, reviewer, _ = schools
    login(client, reviewer.username)
    client.post("/school/students/new", data={
        "student_no": "2023999001", "name": "新同学", "id_number": id_number(4242), "phone": "13700001111",
        "email": "", "department": "法学院", "major": "法学", "education": "本科生毕业",
        "graduation_year": "2027", "training_mode": "non_targeted",
        "gender": "男" if int(id_number(4242)[16]) % 2 else "女"})
    student = db.session.scalar(select(Student))
    assert student is not None and accounts.login_of(student) is not None
    logout(client)
    response = student_login(client, a, student.id_number, id_derived(student))
    assert response.request.path.startswith("/login")  # the ID number opens nothing
    assert not accounts.check_password(accounts.login_of(student), id_derived(student))


def test_a_school_reset_does_not_reopen_an_id_derived_password(client, schools):
    a, _b, reviewer, _ = schools
    student = make_student(a)
    make_user("student", student)
    students.reset_student_password(reviewer, student)
    response = student_login(client, a, student.student_no, id_derived(student))
    assert response.request.path.startswith("/login")


# ---------------------------------------------------------------- finding 3: the takeover path

def test_school_cannot_take_over_a_student_by_phone_change_and_reset(client, schools):
    a, _b, reviewer, _ = schools
    student = make_student(a)
    victim = make_user("student", student)
    old_phone = student.phone
    login(client, reviewer.username)
    response = client.post(f"/school/students/{student.id}/edit", data=student_form(student, phone="13600002222"))
    assert redirect_of(response)[0] == 302, re.findall(r'alert-danger[^>]*>([^<]*)', response.get_data(as_text=True))
    client.post(f"/school/students/{student.id}/reset-password")
    logout(client)
    # the documented password does not open the account
    assert student_login(client, a, student.student_no, id_derived(student)).request.path.startswith("/login")
    # everything was recorded and told to the student's previous contact
    events = db.session.scalars(select(AccountEvent).where(AccountEvent.user_id == victim.id)
                                .order_by(AccountEvent.id)).all()
    assert [e.kind for e in events] == ["phone_changed", "password_reset"]
    changed = events[0]
    assert changed.actor_id == reviewer.id and changed.actor_name
    assert changed.old_value == "138****" + old_phone[-4:] and changed.new_value == "136****2222"
    assert old_phone not in (changed.old_value + changed.new_value)
    assert db.session.scalar(select(SmsMessage).where(SmsMessage.phone == old_phone)) is not None
    assert count(Notification, Notification.user_id == victim.id) >= 2
    assert db.session.get(Student, student.id).verified_at is None  # must verify again (信息验证)


def test_email_change_of_a_verified_student_is_recorded_masked(schools):
    a, _b, reviewer, _ = schools
    student = make_student(a, email="zhangsan@example.com")
    user = make_user("student", student, email="zhangsan@example.com")
    students.save_student(reviewer, student_form(student, email="other@example.org"), student)
    event = db.session.scalar(select(AccountEvent).where(AccountEvent.user_id == user.id))
    assert event.kind == "email_changed"
    assert event.old_value == "z***@example.com" and event.new_value == "o***@example.org"
    assert db.session.get(Student, student.id).verified_at is None
    mail = db.session.scalar(select(Notification).where(Notification.user_id == user.id))
    assert mail.email == "zhangsan@example.com"  # the previous address, not the school's new one


def test_an_edit_that_changes_no_contact_records_nothing(schools):
    a, _b, reviewer, _ = schools
    student = make_student(a)
    make_user("student", student)
    students.save_student(reviewer, student_form(student, major="法学"), student)
    assert count(AccountEvent) == 0
    assert db.session.get(Student, student.id).verified_at is not None


def test_the_student_sees_account_events_on_the_home_page(client, schools):
    a, _b, reviewer, _ = schools
    student = make_student(a)
    user = make_user("student", student)
    students.save_student(reviewer, student_form(student, phone="13600002222"), student)
    db.session.get(Student, student.id).verified_at = datetime(2026, 3, 2)  # verified again
    db.session.commit()
    login(client, user.username)
    page = client.get("/student/").get_data(as_text=True)
    assert "账号安全记录" in page and "手机号变更" in page and "136****2222" in page


# ---------------------------------------------------------------- first access: 账号激活 by SMS

def test_activation_by_sms_sets_the_password_and_proves_the_phone(client, schools):
    a, _b, reviewer, _ = schools
    student = make_student(a, verified_at=None, email=None, address=None)
    students.reset_student_password(reviewer, student)  # a login with no usable password
    user = accounts.login_of(student)
    client.post("/recover/activate", data={"school": a.id, "account": student.student_no, "step": "send"})
    code = last_code(student.phone)
    response = client.post("/recover/activate", data={
        "school": a.id, "account": student.student_no, "step": "set", "code": code,
        "password": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert redirect_of(response)[0] == 302
    assert accounts.check_password(db.session.get(AppUser, user.id), NEW_PASSWORD)
    assert students.phone_proven(db.session.get(Student, student.id))
    assert db.session.scalar(select(AccountEvent.kind).where(AccountEvent.user_id == user.id)
                             .order_by(AccountEvent.id.desc())) == "activated"
    student_login(client, a, student.student_no, NEW_PASSWORD)
    page = client.get("/student/verify").get_data(as_text=True)
    assert "短信验证码" not in page  # the phone was just proven by the activation code
    client.post("/student/verify", data={"email": "me@example.com", "address": "武汉市洪山区"})
    assert db.session.get(Student, student.id).verified_at is not None


def test_a_phone_the_school_just_set_cannot_activate_the_account(client, schools, app):
    """Finding 3 through to the end: the school changes a verified student's phone to its own,
    resets, asks for the activation code on that phone — and cannot set the password for
    CONTACT_HOLD_HOURS, while the student (told on the old phone and e-mail) may object."""
    from datetime import timedelta

    a, _b, reviewer, _ = schools
    student = make_student(a)
    make_user("student", student)
    login(client, reviewer.username)
    client.post(f"/school/students/{student.id}/edit", data=student_form(student, phone="13600003333"))
    client.post(f"/school/students/{student.id}/reset-password")
    logout(client)
    client.post("/recover/activate", data={"school": a.id, "account": student.student_no, "step": "send"})
    code = last_code("13600003333")
    response = client.post("/recover/activate", data={
        "school": a.id, "account": student.student_no, "step": "set", "code": code,
        "password": NEW_PASSWORD, "password2": NEW_PASSWORD})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "新手机号须在" in page
    user = accounts.login_of(db.session.get(Student, student.id))
    assert not accounts.check_password(user, NEW_PASSWORD)
    later = datetime.utcnow() + timedelta(hours=app.config["CONTACT_HOLD_HOURS"] + 1)
    students.send_activation_code(a.id, student.student_no, now=later)
    students.activate_student(a.id, student.student_no, last_code("13600003333"), NEW_PASSWORD, now=later)
    assert accounts.check_password(db.session.get(AppUser, user.id), NEW_PASSWORD)


# ---------------------------------------------------------------- finding 8: FAB's password screens

def test_fab_password_validator_is_a_callable(app):
    assert callable(app.config["FAB_PASSWORD_COMPLEXITY_VALIDATOR"])


def test_admin_resets_a_password_and_adds_a_user_without_a_500(client, schools):
    admin = make_user("admin")
    target = make_user("province")
    login(client, admin.username)
    weak = client.post(f"/resetpassword/form?pk={target.id}", data={"password": "weak", "conf_password": "weak"})
    assert weak.status_code == 200 and "大写字母" in weak.get_data(as_text=True)
    ok = client.post(f"/resetpassword/form?pk={target.id}",
                     data={"password": NEW_PASSWORD, "conf_password": NEW_PASSWORD})
    assert ok.status_code == 302
    assert accounts.check_password(db.session.get(AppUser, target.id), NEW_PASSWORD)
    event = db.session.scalar(select(AccountEvent).where(AccountEvent.user_id == target.id))
    assert (event.kind, event.actor_id) == ("password_reset", admin.id)  # recorded (R18)
    assert db.session.get(AppUser, target.id).must_change_password is True
    assert count(Notification, Notification.user_id == target.id) == 1
    assert client.get("/users/add").status_code == 200


def test_admin_adds_a_user_with_the_password_rule(client, schools):
    from flask import current_app

    admin = make_user("admin")
    login(client, admin.username)
    role = current_app.appbuilder.sm.find_role("province")
    form = {"first_name": "明", "last_name": "王", "username": "prov-new", "active": "y",
            "email": "prov-new@example.org", "roles": [str(role.id)]}
    weak = client.post("/users/add", data=dict(form, password="weak", conf_password="weak"))
    assert weak.status_code == 200 and "大写字母" in weak.get_data(as_text=True)
    assert count(AppUser, AppUser.username == "prov-new") == 0
    ok = client.post("/users/add", data=dict(form, password=NEW_PASSWORD, conf_password=NEW_PASSWORD))
    assert ok.status_code == 302 and count(AppUser, AppUser.username == "prov-new") == 1


@pytest.mark.parametrize("role", ["student", "employer", "school", "province", "admin"])
def test_no_role_changes_its_password_without_the_old_one(client, schools, role):
    a = schools[0]
    party = {"student": lambda: make_student(a), "school": lambda: a,
             "employer": lambda: make_employer(approved_by=a)}.get(role, lambda: None)()
    user = make_user(role, party)
    before = db.session.get(AppUser, user.id).password
    login(client, user.username)
    response = client.post("/resetmypassword/form", data={"password": NEW_PASSWORD, "conf_password": NEW_PASSWORD})
    assert response.status_code in (302, 403, 404)
    db.session.expire_all()
    assert db.session.get(AppUser, user.id).password == before


@pytest.mark.parametrize("role", ["student", "employer", "school", "province"])
def test_every_role_has_its_own_profile_page(client, schools, role):
    a = schools[0]
    party = {"student": lambda: make_student(a), "school": lambda: a,
             "employer": lambda: make_employer(approved_by=a)}.get(role, lambda: None)()
    user = make_user(role, party, email="zhangsan@example.com")
    login(client, user.username)
    response = client.get("/users/userinfo/", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "个人信息" in page and "z***@example.com" in page
    assert "修改密码" in page and "zhangsan@example.com" not in page


@pytest.mark.parametrize("name, split", [("欧阳晓东", ("欧阳", "晓东")), ("诸葛亮", ("诸葛", "亮")),
                                         ("王伟", ("王", "伟")), ("司马相如", ("司马", "相如"))])
def test_compound_surnames_split_right(name, split):
    assert accounts.split_name(name) == split


# ---------------------------------------------------------------- the roster import is a school's change too

def test_roster_import_changing_a_verified_students_contact_is_recorded(schools):
    import imports
    from app import importing
    from app.models import AccountEvent as Event
    from tests.support.spreadsheets import roster_row, xlsx

    a = schools[0]
    run = lambda rows: importing.import_roster(a, imports.read(xlsx(rows), imports.ROSTER))  # noqa: E731
    run([roster_row(71), roster_row(72)])
    first, second = db.session.scalars(select(Student).where(Student.school_id == a.id)
                                       .order_by(Student.student_no)).all()
    first.verified_at = second.verified_at = datetime(2026, 3, 2)
    old_phone = first.phone
    db.session.commit()
    outcome, _ = run([roster_row(71, phone="13600007171", email="new71@example.org"), roster_row(72, major="法学")])
    assert outcome.updated == 2
    user = accounts.login_of(first)
    kinds = sorted(db.session.scalars(select(Event.kind).where(Event.user_id == user.id)))
    assert kinds == ["email_changed", "phone_changed"]
    assert db.session.scalar(select(Event.actor_name).where(Event.user_id == user.id).limit(1)).endswith("导入学生生源")
    assert db.session.get(Student, first.id).verified_at is None
    assert db.session.get(Student, second.id).verified_at is not None  # 专业 only: nothing to record
    assert db.session.scalar(select(SmsMessage).where(SmsMessage.phone == old_phone)) is not None
    mail = db.session.scalar(select(Notification).where(Notification.user_id == user.id))
    assert mail.email == "s71@example.edu.cn"  # the previous address


def test_changing_ones_own_password_is_recorded_like_every_other_change(client, schools):
    """修改密码 goes through accounts.set_password, the one writer of a login's password: the
    student sees it in 账号安全记录 (R18)."""
    a, _b, _reviewer, _ = schools
    student = make_student(a)
    user = make_user("student", student)
    login(client, user.username)
    response = client.post("/account/password", data={
        "old_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    event = db.session.scalar(select(AccountEvent).where(AccountEvent.user_id == user.id))
    assert (event.kind, event.actor_name) == ("password_changed", "本人")
    assert accounts.check_password(db.session.get(AppUser, user.id), NEW_PASSWORD)

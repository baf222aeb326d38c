"""First login (manual §2.1 签约信息确认, §2.2 信息验证, FAQ 1–2, 5): registration, approval, profile
confirmation, SMS verification, 学生登录, forced password change, 学生管理 (issue 3)."""
import json
import re
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from app import accounts, profiles, sms, students, workflow
from app.extensions import db
from app.models import AppUser, Employer, EmployerApproval, SmsCode, SmsMessage, Student
from app.workflow import WorkflowError
from tests.support.checks import count
from tests.support.factories import (
    PASSWORD,
    approve,
    credit_code,
    id_number,
    login,
    logout,
    make_employer,
    make_reviewer,
    make_school,
    make_student,
    make_user,
    valid_terms,
)
from tests.support.web import redirect_of

NEW_PASSWORD = "NewPassw0rd"


def registration(**overrides):
    values = {
        "name": "武汉新注册科技有限公司", "credit_code": credit_code(), "nature": "39", "industry": "I", "region": "420111",
        "contact_name": "李经理", "contact_phone": "13912345678", "email": "hr@newco.example.com",
        "address": "武汉市洪山区", "username": "newco-hr",
    }
    values.update(overrides)
    return values


@pytest.fixture
def schools():
    a, b = make_school("10486", "武汉大学"), make_school("10487", "华中科技大学")
    return a, b, make_reviewer(a), make_reviewer(b)


# ---------------------------------------------------------------- registration (单位注册)

@pytest.mark.parametrize("change, field", [
    ({"credit_code": "91420111MA4K12345Y"}, "credit_code"),
    ({"credit_code": ""}, "credit_code"),
    ({"region": "999999"}, "region"),
    ({"nature": "77"}, "nature"),
    ({"industry": "Z"}, "industry"),
    ({"contact_phone": "12345"}, "contact_phone"),
    ({"email": "not-an-email"}, "email"),
    ({"username": "a b"}, "username"),
])
def test_registration_with_invalid_field_is_refused(schools, change, field):
    with pytest.raises(WorkflowError) as info:
        profiles.register_employer(registration(**change), PASSWORD, [schools[0].id])
    assert field in info.value.fields
    assert count(Employer) == 0 and count(AppUser) == 2 and count(EmployerApproval) == 0


def test_registration_refuses_weak_password_duplicate_code_and_no_school(schools):
    with pytest.raises(WorkflowError) as info:
        profiles.register_employer(registration(), "password", [schools[0].id])
    assert "大写字母" in info.value.fields["password"]
    with pytest.raises(WorkflowError) as info:
        profiles.register_employer(registration(), PASSWORD, [])
    assert "schools" in info.value.fields
    existing = make_employer()
    with pytest.raises(WorkflowError) as info:
        profiles.register_employer(registration(credit_code=existing.credit_code), PASSWORD, [schools[0].id])
    assert info.value.message == profiles.REGISTRATION_TAKEN and not info.value.fields  # no enumeration
    assert count(Employer) == 1


def test_approval_by_one_school_enables_offers_to_every_school(schools):
    a, b, reviewer_a, reviewer_b = schools
    employer, user = profiles.register_employer(registration(), PASSWORD, [a.id])
    assert employer.profile_confirmed_at is None and user.employer_id == employer.id
    approval = db.session.scalar(select(EmployerApproval).where(EmployerApproval.employer_id == employer.id))
    assert approval.status == "pending" and approval.school_id == a.id
    other_school_student = make_student(b)
    profiles.confirm_employer_profile(employer, {**registration(), "archive_mode": "none", "hukou_mode": "none"})
    with pytest.raises(WorkflowError) as info:  # R1: not yet approved anywhere
        workflow.invite(employer, [other_school_student], valid_terms())
    assert info.value.rule == "R1"
    workflow.review_employer(reviewer_a, approval, True)
    [offer] = workflow.invite(employer, [other_school_student], valid_terms())
    assert offer.school_id == b.id


def test_apply_for_approval_at_another_school_and_after_refusal(schools):
    a, b, reviewer_a, _ = schools
    employer, _user = profiles.register_employer(registration(), PASSWORD, [a.id])
    approval = db.session.scalar(select(EmployerApproval).where(EmployerApproval.employer_id == employer.id))
    with pytest.raises(WorkflowError) as info:
        workflow.apply_for_approval(employer, a)  # already pending there
    assert (info.value.rule, info.value.message) == ("R1", "已向该校提交审核申请")
    workflow.review_employer(reviewer_a, approval, False, "营业执照信息与注册信息不符")
    assert workflow.apply_for_approval(employer, a).status == "pending"
    assert workflow.apply_for_approval(employer, b).status == "pending"
    assert count(EmployerApproval, EmployerApproval.employer_id == employer.id) == 2


def test_registration_page_and_first_login_leads_to_confirmation(client, schools):
    a = schools[0]
    form = {**registration(), "password": PASSWORD, "password2": PASSWORD, "schools": [a.id]}
    response = client.post("/register/", data={**form, "password2": "Other0ne"})
    assert "两次输入的密码不一致" in response.get_data(as_text=True) and count(Employer) == 0
    response = client.post("/register/", data=form, follow_redirects=True)
    assert "注册成功" in response.get_data(as_text=True)
    login(client, "newco-hr")
    for path in ("/employer/", "/employer/search", "/employer/offers/"):
        response = client.get(path)
        assert redirect_of(response) == (302, "/employer/confirm"), path
    page = client.get("/employer/confirm").get_data(as_text=True)
    assert "签约信息确认" in page and "region-picker" in page
    # Forwarded archive needs its forwarding details; nothing is saved while they are missing.
    bad = {**registration(), "archive_mode": "forward", "hukou_mode": "none"}
    response = client.post("/employer/confirm", data=bad)
    text = response.get_data(as_text=True)
    assert "请输入档案转寄单位名称" in text and "档案转递邮编须为6位数字" in text
    assert db.session.scalar(select(Employer.profile_confirmed_at)) is None
    # 单位不接收: no forwarding details are kept even if typed.
    good = {**registration(), "archive_mode": "none", "archive_unit": "某人才中心", "hukou_mode": "none"}
    response = client.post("/employer/confirm", data=good)
    assert redirect_of(response) == (302, "/employer/")
    employer = db.session.scalar(select(Employer))
    assert employer.profile_confirmed_at is not None and employer.archive_unit is None
    home = client.get("/employer/").get_data(as_text=True)
    assert "等待学校审核" in home and "待审核" in home


def test_school_approves_waiting_employer_and_needs_a_reason_to_refuse(client, login, w):
    waiting = make_employer()
    approval = approve(waiting, w.school, status="pending")
    login(client, w.reviewer.username)
    assert waiting.name in client.get("/school/employers/").get_data(as_text=True)
    refused = client.post(f"/school/employers/{approval.id}/review", data={"decision": "refuse", "reason": ""},
                          follow_redirects=True)
    assert "请填写审核不通过原因" in refused.get_data(as_text=True)
    assert db.session.get(EmployerApproval, approval.id).status == "pending"
    client.post(f"/school/employers/{approval.id}/review", data={"decision": "approve"})
    assert db.session.get(EmployerApproval, approval.id).status == "approved"


def test_region_picker_data_is_gb2260():
    from app import regions

    assert ("420000", "湖北省") in regions.provinces()
    assert ("420100", "武汉市") in regions.children("420000")
    assert ("420111", "洪山区") in regions.children("420100")
    assert ("110101", "东城区") in regions.children("110000")  # municipality: districts directly
    assert regions.children("420111") == []


def test_region_json_lists_children(client):
    assert ["420000", "湖北省"] in client.get("/regions/root.json").get_json()
    assert ["420100", "武汉市"] in client.get("/regions/420000.json").get_json()


# ---------------------------------------------------------------- 信息验证 with SMS codes

@pytest.fixture
def fresh(schools):
    student = make_student(schools[0], verified_at=None, email=None)
    return student, make_user("student", student)


def last_code(phone):
    body = db.session.scalar(select(SmsMessage.body).where(SmsMessage.phone == phone).order_by(SmsMessage.id.desc()))
    return re.search(r"验证码为(\d{6})", body).group(1)


def test_code_verifies_once_and_sets_verified(fresh):
    student, _ = fresh
    sms.send_code(student.phone, ip="10.0.0.1")
    code = last_code(student.phone)
    assert count(SmsCode, SmsCode.phone == student.phone) == 1
    assert db.session.scalar(select(SmsCode.code_hash)) != code  # stored hashed
    students.verify_student(student, "me@example.com", "武汉市洪山区珞喻路1号", code)
    db.session.expire_all()
    student = db.session.get(Student, student.id)
    assert student.verified_at is not None and student.email == "me@example.com"
    with pytest.raises(WorkflowError) as info:  # single use
        students.verify_student(student, "me@example.com", "武汉", code)
    assert "code" in info.value.fields


def test_code_expires_after_five_minutes(fresh):
    student, _ = fresh
    sent = datetime(2026, 5, 11, 1, 0)
    sms.send_code(student.phone, now=sent)
    with pytest.raises(WorkflowError) as info:
        students.verify_student(student, "me@example.com", "武汉", last_code(student.phone),
                                now=sent + timedelta(minutes=5, seconds=1))
    assert "失效" in info.value.message
    assert db.session.get(Student, student.id).verified_at is None


def test_five_wrong_codes_kill_the_code(fresh):
    student, _ = fresh
    sms.send_code(student.phone)
    right = last_code(student.phone)
    wrong = "000000" if right != "000000" else "111111"
    for attempt in range(5):
        with pytest.raises(WorkflowError) as info:
            students.verify_student(student, "me@example.com", "武汉", wrong)
    assert "次数过多" in info.value.message
    with pytest.raises(WorkflowError):  # even the right code is dead now
        students.verify_student(student, "me@example.com", "武汉", right)
    assert db.session.get(Student, student.id).verified_at is None


def test_send_limits_per_phone_and_per_ip(fresh, app):
    student, _ = fresh
    t0 = datetime(2026, 5, 11, 1, 0)
    sms.send_code(student.phone, now=t0)
    with pytest.raises(sms.SmsError) as info:
        sms.send_code(student.phone, now=t0 + timedelta(seconds=30))
    assert "1分钟" in str(info.value)
    for i in range(1, app.config["SMS_PER_PHONE_DAY"]):
        sms.send_code(student.phone, now=t0 + timedelta(minutes=2 * i))
    with pytest.raises(sms.SmsError) as info:  # 11th code on the same Shanghai day
        sms.send_code(student.phone, now=t0 + timedelta(hours=1))
    assert "上限" in str(info.value)
    app.config["SMS_PER_IP_HOUR"] = 2
    try:
        sms.send_code("13900000001", ip="10.9.9.9", now=t0)
        sms.send_code("13900000002", ip="10.9.9.9", now=t0)
        with pytest.raises(sms.SmsError):
            sms.send_code("13900000003", ip="10.9.9.9", now=t0)
    finally:
        app.config["SMS_PER_IP_HOUR"] = 30


def test_http_backend_posts_to_the_provider(fresh, app):
    student, _ = fresh
    received = []

    class Provider(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.headers["Authorization"], json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.handle_request, daemon=True).start()
    app.config.update(SMS_BACKEND="http", SMS_HTTP_URL=f"http://127.0.0.1:{server.server_port}/send",
                      SMS_HTTP_TOKEN="secret-token")
    try:
        sms.send_code(student.phone)
        assert received[0][0] == "Bearer secret-token" and received[0][1]["phone"] == student.phone
        assert re.search(r"验证码为\d{6}", received[0][1]["text"])
        # Provider down: a clear refusal, recorded as failed.
        server.server_close()
        with pytest.raises(sms.SmsError) as info:
            sms.send_code(student.phone, now=datetime.utcnow() + timedelta(minutes=2))
        assert "发送失败" in str(info.value)
        assert db.session.scalar(select(SmsMessage.status).order_by(SmsMessage.id.desc())) == "failed"
    finally:
        app.config.update(SMS_BACKEND="dev", SMS_HTTP_URL=None, SMS_HTTP_TOKEN=None)


def test_unverified_student_is_sent_to_verification_and_verifies_by_code(client, fresh):
    student, user = fresh
    login(client, user.username)
    response = client.get("/student/offers/")
    assert redirect_of(response) == (302, "/student/verify")
    page = client.get("/student/verify").get_data(as_text=True)
    assert student.student_no in page and student.phone[:3] + "****" + student.phone[-4:] in page
    assert student.phone not in page
    response = client.post("/student/verify/send-code", data={"email": "me@example.com", "address": "武汉"})
    assert "验证码已发送" in response.get_data(as_text=True)
    response = client.post("/student/verify", data={"email": "me@example.com", "address": "武汉大学",
                                                    "code": last_code(student.phone)})
    assert redirect_of(response) == (302, "/student/")
    assert client.get("/student/offers/").status_code == 200


# ---------------------------------------------------------------- who may log in (FAQ 1) and how

def student_login(client, school, account, password=PASSWORD):
    return client.post("/login/?mode=student", data={"mode": "student", "school": school.id, "username": account,
                                                     "password": password}, follow_redirects=True)


def test_student_logs_in_by_student_no_or_id_number_within_the_school(client, schools):
    a, b = schools[0], schools[1]
    student = make_student(a)
    make_user("student", student)
    assert student_login(client, a, student.student_no).request.path == "/student/"
    logout(client)
    assert student_login(client, a, student.id_number.lower()).request.path == "/student/"
    logout(client)
    response = student_login(client, b, student.student_no)  # right 学号, wrong school
    assert "不正确" in response.get_data(as_text=True) and response.request.path.startswith("/login")


@pytest.mark.parametrize("field, value, reason", [
    ("training_mode", "targeted", "定向"), ("plan_submitted", True, "就业方案已提交"),
])
def test_targeted_or_plan_submitted_student_cannot_log_in_and_sees_why(client, schools, field, value, reason):
    student = make_student(schools[0], **{field: value})
    make_user("student", student)
    response = student_login(client, schools[0], student.student_no)
    assert reason in response.get_data(as_text=True)
    assert redirect_of(client.get("/student/")) == (302, "/login/?next=/student/")  # not logged in


def test_forced_password_change_then_normal_use(client, schools):
    student = make_student(schools[0])
    make_user("student", student, must_change_password=True)
    student_login(client, schools[0], student.student_no)
    response = client.get("/student/")
    assert redirect_of(response) == (302, "/account/password")
    for form, message in (
        ({"old_password": "Wrong0ne", "new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, "原密码不正确"),
        ({"old_password": PASSWORD, "new_password": "short", "new_password2": "short"}, "大写字母"),
        ({"old_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password2": "Other0ne1"}, "不一致"),
    ):
        assert message in client.post("/account/password", data=form).get_data(as_text=True)
    client.post("/account/password", data={"old_password": PASSWORD, "new_password": NEW_PASSWORD,
                                            "new_password2": NEW_PASSWORD})
    assert client.get("/student/").status_code == 200
    logout(client)
    assert student_login(client, schools[0], student.student_no, NEW_PASSWORD).request.path == "/student/"


def test_every_role_can_change_password(client, schools):
    for user in (schools[2], make_user("employer", make_employer(approved_by=schools[0])), make_user("province")):
        login(client, user.username)
        assert "修改密码" in client.get("/account/password").get_data(as_text=True)
        logout(client)


# ---------------------------------------------------------------- 学生管理: add, edit, reset password

def student_form(**overrides):
    values = {"student_no": "2023999001", "name": "新同学", "id_number": id_number(4242), "phone": "13700001111",
              "email": "", "department": "法学院", "major": "法学", "education": "本科生毕业",
              "graduation_year": "2027", "training_mode": "non_targeted"}
    values["gender"] = "男" if int(values["id_number"][16]) % 2 else "女"
    values.update(overrides)
    return values


def test_school_adds_student_who_activates_the_login_by_sms(client, schools):
    a, _b, reviewer, _ = schools
    login(client, reviewer.username)
    page = client.get("/school/students/new").get_data(as_text=True)
    assert "没有初始密码" in page
    bad = client.post("/school/students/new", data=student_form(id_number="420111200301011234"))
    assert "身份证号" in bad.get_data(as_text=True) and count(Student) == 0
    response = client.post("/school/students/new", data=student_form())
    student = db.session.scalar(select(Student))
    assert redirect_of(response) == (302, f"/school/students/show/{student.id}")
    user = accounts.login_of(student)
    assert user.username == f"{a.code}-2023999001" and user.password == accounts.NO_PASSWORD
    logout(client)
    client.post("/recover/activate", data={"school": a.id, "account": student.id_number, "step": "send"})
    client.post("/recover/activate", data={"school": a.id, "account": student.id_number, "step": "set",
                                           "code": last_code(student.phone), "password": NEW_PASSWORD,
                                           "password2": NEW_PASSWORD})
    student_login(client, a, student.id_number, NEW_PASSWORD)
    response = client.get("/student/")
    assert response.headers["Location"].endswith("/student/verify")


def test_school_edits_phone_and_resets_password_of_own_students_only(client, schools):
    a, b, reviewer, _ = schools
    mine, theirs = make_student(a), make_student(b)
    make_user("student", mine)
    make_user("student", theirs)
    login(client, reviewer.username)
    form = student_form(student_no=mine.student_no, id_number=mine.id_number, phone="13600002222")
    form["gender"] = "男" if int(mine.id_number[16]) % 2 else "女"
    response = client.post(f"/school/students/{mine.id}/edit", data=form)
    assert redirect_of(response) == (302, f"/school/students/show/{mine.id}")
    assert db.session.get(Student, mine.id).phone == "13600002222"
    client.post(f"/school/students/{mine.id}/reset-password")
    assert accounts.login_of(db.session.get(Student, mine.id)).password == accounts.NO_PASSWORD
    for url in (f"/school/students/{theirs.id}/edit", f"/school/students/{theirs.id}/reset-password"):
        assert client.post(url, data=form).status_code == 404
    assert accounts.has_password(accounts.login_of(db.session.get(Student, theirs.id)))


def test_school_restricts_own_student_through_the_list_action(client, login, w):
    login(client, w.reviewer.username)
    listing = client.get("/school/students/list/").get_data(as_text=True)
    assert w.student.student_no in listing
    client.post("/school/students/action_post", data={"action": "restrict", "rowid": [w.student.id]})
    assert db.session.get(Student, w.student.id).signing_restricted is True


def test_nul_bytes_in_login_are_a_wrong_login_not_an_error(client, schools):
    response = client.post("/login/", data={"username": "adm\x00in", "password": "x\x00"})
    assert redirect_of(response) == (302, "/login/?next=/&mode=account")  # back to the form, as any wrong login
    response = student_login(client, schools[0], "2022\x00")
    assert "不正确" in response.get_data(as_text=True)


def test_nul_bytes_anywhere_get_a_clear_400(client, schools):
    login(client, schools[2].username)
    response = client.get("/school/review/?name=%00x")
    assert response.status_code == 400 and "非法字符" in response.get_data(as_text=True)
    assert client.post("/school/students/new", data={"name": "a\x00"}).status_code == 400


def test_placeholder_addresses_get_in_app_messages_only(schools):
    from app.models import Notification
    from app.notify import notify

    student = make_student(schools[0], email=None)
    user = make_user("student", student, email=accounts.placeholder_email("10486-x"))
    real = make_user("student", make_student(schools[0]))
    notify([(user.id, user.email), (real.id, real.email)], "测试", "正文")
    db.session.commit()
    rows = dict(db.session.execute(select(Notification.user_id, Notification.email_status)).all())
    assert rows == {user.id: "none", real.id: "pending"}


# ---------------------------------------------------------------- review findings: bad input never 500s

def test_registration_email_already_used_gets_the_same_answer_as_any_taken_value(schools):
    taken = make_user("employer", make_employer(approved_by=schools[0]))
    with pytest.raises(WorkflowError) as info:
        profiles.register_employer(registration(email=taken.email.upper()), PASSWORD, [schools[0].id])
    assert info.value.message == profiles.REGISTRATION_TAKEN and not info.value.fields


def test_long_employer_name_keeps_notification_subjects_in_their_column(schools):
    from app.models import Notification

    profiles.register_employer(registration(name="测" * 200), PASSWORD, [schools[0].id])
    subjects = db.session.scalars(select(Notification.subject)).all()
    assert subjects and all(len(s) <= 200 for s in subjects)


def test_verification_replaces_the_login_placeholder_email_and_refuses_a_taken_one(fresh, schools):
    student, user = fresh
    user.email = accounts.placeholder_email(user.username)
    db.session.commit()
    other = make_user("employer", make_employer(approved_by=schools[0]))
    sms.send_code(student.phone)
    with pytest.raises(WorkflowError) as info:
        students.verify_student(student, other.email, "武汉", last_code(student.phone))
    assert "email" in info.value.fields
    students.verify_student(student, "mine@example.com", "武汉", last_code(student.phone))
    assert db.session.get(AppUser, user.id).email == "mine@example.com"


def test_reset_password_requires_sms_verification_again(schools):
    student = make_student(schools[0])
    make_user("student", student)
    students.reset_student_password(schools[2], student)
    assert db.session.get(Student, student.id).verified_at is None


def test_student_email_clash_is_refused_not_a_500(client, schools):
    a, _b, reviewer, _ = schools
    taken = make_user("employer", make_employer(approved_by=a))
    login(client, reviewer.username)
    response = client.post("/school/students/new", data=student_form(email=taken.email))
    assert response.status_code == 200 and "邮箱已被其他账号使用" in response.get_data(as_text=True)
    assert count(Student) == 0


def test_odd_numbers_and_dates_in_forms_and_urls_are_not_500s(client, schools):
    a, _b, reviewer, _ = schools
    response = client.post("/login/?mode=student", data={"mode": "student", "school": "²", "username": "1",
                                                          "password": "x"})
    assert redirect_of(response) == (302, "/login/?next=/&mode=student")
    assert client.post("/register/", data={**registration(), "password": PASSWORD, "password2": PASSWORD,
                                           "schools": ["²", "99999999999999"]}).status_code == 200
    employer_user = make_user("employer", make_employer(approved_by=a))
    login(client, employer_user.username)
    for query in ("school=²&year=²", "date_from=0001-01-01&date_to=9999-12-31", "school=99999999999"):
        assert client.get(f"/employer/terminations/?tab=signed&{query}").status_code == 200, query
        assert client.get(f"/employer/terminations/export?{query}").status_code == 200, query
    assert client.get("/employer/offers/99999999999").status_code == 404
    assert redirect_of(client.post("/employer/approvals/apply", data={"school": "99999999999"})) == (302, "/employer/")


def test_real_sms_backend_masks_the_code_in_the_outbox(fresh, app):
    student, _ = fresh
    app.config.update(SMS_BACKEND="http", SMS_HTTP_URL=None)
    try:
        with pytest.raises(sms.SmsError):
            sms.send_code(student.phone)  # no URL configured: failed, but recorded
    finally:
        app.config.update(SMS_BACKEND="dev")
    body = db.session.scalar(select(SmsMessage.body))
    assert "******" in body and not re.search(r"\d{6}", body)


def test_admin_reads_the_sms_outbox_in_chinese(client, fresh):
    student, _ = fresh
    sms.send_code(student.phone)
    admin = make_user("admin")
    login(client, admin.username)
    page = client.get("/admin/sms/list/").get_data(as_text=True)
    assert "验证码为" in page and "开发（不外发）" in page and "已发送" in page and ">None<" not in page
    logout(client)
    login(client, make_user("province").username)
    assert client.get("/admin/sms/list/").status_code == 403

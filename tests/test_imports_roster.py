"""学生生源 import (app.importing.import_roster) and student logins (app.accounts)."""
from datetime import datetime

from sqlalchemy import select
from werkzeug.security import check_password_hash

import imports
from app import accounts, importing
from app.extensions import db
from app.models import AppUser, Student
from app.security import password_problem
from tests.support import factories as f
from tests.support.checks import count, statements
from tests.support.spreadsheets import csv_bytes, male_id, roster_row, xlsx


def table_of(rows, fmt="xlsx"):
    data = xlsx(rows) if fmt == "xlsx" else csv_bytes(rows)
    return imports.read(data, imports.ROSTER)


def run_roster(school, rows, valid_only=False, fmt="xlsx"):
    return importing.import_roster(school, table_of(rows, fmt), valid_only=valid_only)


def test_roster_import_creates_students_and_their_logins(client):
    school = f.make_school()
    rows = [roster_row(1, email=""), roster_row(2, training_mode="定向", education="硕士生毕业")]
    outcome, checked = run_roster(school, rows)
    assert (outcome.created, outcome.updated, outcome.refused, outcome.written) == (2, 0, 0, True)
    students = db.session.scalars(select(Student).where(Student.school_id == school.id).order_by(Student.student_no)).all()
    assert [s.student_no for s in students] == ["2022000001", "2022000002"]
    s1, s2 = students
    assert (s2.training_mode, s2.education, s2.graduation_year) == ("targeted", "硕士生毕业", 2026)
    assert s1.email is None and s1.verified_at is None and not s1.signing_restricted
    user = db.session.scalar(select(AppUser).where(AppUser.student_id == s1.id))
    assert user.username == "10486-2022000001"
    assert [r.name for r in user.roles] == ["student"]
    assert accounts.is_placeholder_email(user.email)
    assert user.get_full_name() == s1.name
    # R18: no usable password until the student activates the login by SMS (test_recovery.py).
    assert user.password == accounts.NO_PASSWORD and not accounts.has_password(user)
    assert not accounts.check_password(user, "Jy" + s1.id_number[-6:])
    u2 = db.session.scalar(select(AppUser).where(AppUser.student_id == s2.id))
    assert u2.email == s2.email


def test_reimport_updates_instead_of_duplicating_and_keeps_the_password():
    school = f.make_school()
    run_roster(school, [roster_row(3), roster_row(4)])
    user = db.session.scalar(select(AppUser).where(AppUser.username == "10486-2022000003"))
    user.password = "changed-by-student"
    db.session.commit()
    outcome, _ = run_roster(school, [roster_row(3, phone="13900000003", name="李明", email="new3@example.edu.cn"),
                                     roster_row(4), roster_row(5)])
    assert (outcome.created, outcome.updated, outcome.unchanged, outcome.refused) == (1, 1, 1, 0)
    assert count(Student, Student.school_id == school.id) == 3
    s3 = db.session.scalar(select(Student).where(Student.student_no == "2022000003"))
    assert (s3.phone, s3.name, s3.email) == ("13900000003", "李明", "new3@example.edu.cn")
    db.session.expire_all()
    user = db.session.scalar(select(AppUser).where(AppUser.username == "10486-2022000003"))
    assert user.password == "changed-by-student"
    assert (user.get_full_name(), user.email) == ("李明", "new3@example.edu.cn")
    assert count(AppUser, AppUser.student_id.isnot(None)) == 3


def test_same_student_no_at_another_school_is_another_student():
    a, b = f.make_school(), f.make_school("10487", "华中科技大学")
    run_roster(a, [roster_row(6)])
    outcome, _ = run_roster(b, [roster_row(6, email="")])
    assert outcome.created == 1
    assert count(Student) == 2
    assert db.session.scalar(select(AppUser.username).where(AppUser.username.like("10487-%"))) == "10487-2022000006"


def test_existing_student_without_a_login_gets_one():
    school = f.make_school()
    student = f.make_student(school, student_no="2022000007", id_number=male_id(7), phone="13800000007", name="赵敏")
    outcome, _ = run_roster(school, [roster_row(7, name=student.name, email=student.email)])
    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 0, 1), outcome
    assert db.session.scalar(select(AppUser.username).where(AppUser.student_id == student.id)) == "10486-2022000007"


def test_all_or_nothing_holds_when_row_9999_is_bad():
    school = f.make_school()
    rows = [roster_row(n) for n in range(1, 10_001)]
    rows[9_997][4] = "12345"  # sheet row 9,999 (row 1 is the header)
    outcome, checked = run_roster(school, rows, fmt="csv")
    assert list(checked.errors) == [9_999]
    assert (outcome.created, outcome.updated, outcome.refused, outcome.written) == (0, 0, 1, False)
    assert count(Student) == 0 and count(AppUser) == 0


def test_valid_only_imports_the_correct_rows():
    school = f.make_school()
    rows = [roster_row(1), roster_row(2, phone="1"), roster_row(3)]
    outcome, checked = run_roster(school, rows, valid_only=True)
    assert (outcome.created, outcome.refused, outcome.written) == (2, 1, True)
    assert sorted(db.session.scalars(select(Student.student_no))) == ["2022000001", "2022000003"]
    assert outcome.preview == [(3, "手机应为11位手机号码（1开头）")]


def test_conflicts_with_existing_data_are_refused():
    school = f.make_school()
    other = f.make_student(school, student_no="2099000001", id_number=male_id(40), phone="13800000040")
    f.make_user("employer", f.make_employer(), email="taken@example.com")
    rows = [roster_row(40), roster_row(41, email="taken@example.com"), roster_row(42)]
    outcome, checked = run_roster(school, rows)
    assert "身份证号与本校学号为 2099000001 的学生重复" in checked.reason(2)
    assert "邮箱已被其他账号使用" in checked.reason(3)
    assert list(checked.errors) == [2, 3] and not outcome.written
    assert count(Student) == 1 and other.id


def test_username_taken_by_another_login_is_refused():
    school = f.make_school()
    f.make_user("province", username="10486-2022000050")
    _outcome, checked = run_roster(school, [roster_row(50)])
    assert "登录账号 10486-2022000050 已被其他账号占用" in checked.reason(2)


def test_name_and_id_number_are_frozen_once_an_agreement_is_live():
    school = f.make_school()
    run_roster(school, [roster_row(60)])
    student = db.session.scalar(select(Student).where(Student.student_no == "2022000060"))
    student.verified_at = datetime(2026, 3, 1)
    db.session.commit()
    f.accepted_offer(f.make_employer(approved_by=school), student)
    _outcome, checked = run_roster(school, [roster_row(60, name="改名")])
    assert "已有生效或待审核的协议书，姓名不能修改" in checked.reason(2)
    outcome, _ = run_roster(school, [roster_row(60, phone="13900000060")])
    assert outcome.updated == 1


def test_create_login_goes_through_fab_add_user():
    school = f.make_school()
    student = f.make_student(school, id_number="42011120030101000X", gender="女")
    user = accounts.create_login(student)
    assert user.username == f"10486-{student.student_no}" and user.password == accounts.NO_PASSWORD
    assert not check_password_hash(user.password, "Jy01000X")
    assert accounts.login_of(student).id == user.id


def test_a_login_without_password_accepts_nothing():
    from types import SimpleNamespace

    user = SimpleNamespace(password=accounts.NO_PASSWORD, student_id=1)
    for guess in ("Jy07803X", "", accounts.NO_PASSWORD, "!no-password:activate-by-sms"):
        assert not accounts.check_password(user, guess)
    assert not check_password_hash(accounts.NO_PASSWORD, "Jy07803X")  # not a hash anyone accepts


def test_a_big_roster_refreshes_the_planner_statistics(monkeypatch):
    """PostgreSQL: after inserting ANALYZE_AFTER_ROWS students or more, the import ANALYZEs student
    and ab_user (bench/README.md, "Imports": the next import is planned on the new table sizes);
    a smaller one does not."""
    monkeypatch.setattr(importing, "ANALYZE_AFTER_ROWS", 2)
    school = f.make_school()
    with statements() as seen:
        run_roster(school, [roster_row(1)])
        small = [s for s in seen if s.startswith("ANALYZE")]
        run_roster(school, [roster_row(2), roster_row(3)])
    analyzed = [s for s in seen if s.startswith("ANALYZE")]
    assert small == []
    if db.engine.dialect.name == "postgresql":
        assert analyzed == ["ANALYZE student", "ANALYZE ab_user"]
    else:
        assert analyzed == []  # SQLite keeps no such statistics to go stale

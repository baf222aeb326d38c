"""Defects that came from a rule written in two places (issue "rules"): each test failed on the
code that had the copies."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import documents, students, workflow
from app.extensions import db
from app.jobs import reminders
from app.models import Notification, Student
from tests.support.factories import NOW, accepted_offer, certified_offer, id_number, offer
from tests.support.scenes import scene


@pytest.fixture
def w():
    w = scene(student={"name": "李明"})
    w.student.gender = "男" if int(w.student.id_number[16]) % 2 else "女"  # as the roster check wants
    db.session.commit()
    return w


def _same_gender_id(student):
    n = 777 if student.gender == "男" else 778
    return id_number(n)


def _form(student, **changes):
    values = {f: getattr(student, f) for f in ("student_no", "name", "id_number", "gender", "phone", "email",
                                               "department", "major", "education", "graduation_year",
                                               "training_mode")}
    values.update(changes)
    return {k: "" if v is None else str(v) for k, v in values.items()}


# ---------------------------------------------------------------- R19: one identity rule

@pytest.mark.parametrize("field", ["name", "id_number"])
@pytest.mark.parametrize("stage", ["accepted", "certified"])
def test_school_cannot_change_identity_of_student_with_live_agreement(w, field, stage):
    if stage == "accepted":
        accepted_offer(w.employer, w.student)
    else:
        certified_offer(w.employer, w.student, w.reviewer)
    before = getattr(w.student, field)
    new_value = "李改名" if field == "name" else _same_gender_id(w.student)
    with pytest.raises(workflow.WorkflowError) as refused:
        students.save_student(w.reviewer, _form(w.student, **{field: new_value}), w.student)
    assert refused.value.rule == "R19"
    assert ("姓名" if field == "name" else "身份证号") in refused.value.message
    db.session.expire_all()
    assert getattr(db.session.get(Student, w.student.id), field) == before


def test_school_may_still_change_other_fields_of_a_signed_student(w):
    certified_offer(w.employer, w.student, w.reviewer)
    students.save_student(w.reviewer, _form(w.student, major="软件工程"), w.student)
    db.session.expire_all()
    assert db.session.get(Student, w.student.id).major == "软件工程"


def test_school_may_correct_identity_before_any_agreement_is_live(w):
    offer(w.employer, w.student)  # pending: nothing printed yet
    students.save_student(w.reviewer, _form(w.student, name="李正名"), w.student)
    db.session.expire_all()
    assert db.session.get(Student, w.student.id).name == "李正名"


def test_student_edit_page_refuses_identity_change_of_certified_student(w, client, login):
    certified_offer(w.employer, w.student, w.reviewer)
    login(client, w.reviewer.username)
    response = client.post(f"/school/students/{w.student.id}/edit",
                           data=_form(w.student, name="李改名"), follow_redirects=True)
    assert response.status_code == 200
    assert "姓名" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Student, w.student.id).name != "李改名"


def test_seal_covers_student_name_id_number_and_school(w):
    agreement = certified_offer(w.employer, w.student, w.reviewer)
    sealed = documents.content_hash(agreement)
    assert agreement.content_hash == sealed
    content = documents.canonical_content(agreement)
    assert w.student.name in content and w.student.id_number in content and w.school.code in content
    w.student.name = "李改名"  # not committed: what a rewrite of the identity would do
    assert documents.content_hash(agreement) != sealed
    db.session.rollback()


# ---------------------------------------------------------------- one outbox: who gets mail

def test_expiry_reminder_is_not_mailed_to_a_placeholder_address(w):
    from app import accounts

    user = w.student_user
    user.email = accounts.placeholder_email(user.username)  # a roster login without a real address
    db.session.commit()
    agreement = offer(w.employer, w.student)
    assert reminders.remind_expiring(agreement.expires_at - timedelta(hours=2)) == 1
    db.session.commit()
    (note,) = db.session.scalars(select(Notification).where(
        Notification.user_id == user.id, Notification.subject == "邀约即将过期")).all()
    assert note.email_status == "none" and note.email is None


def test_expiry_reminder_is_mailed_to_a_real_address(w):
    user = w.student_user
    user.email = "real.student@example.org"
    db.session.commit()
    agreement = offer(w.employer, w.student, now=NOW)
    reminders.remind_expiring(agreement.expires_at - timedelta(hours=2))
    db.session.commit()
    (note,) = db.session.scalars(select(Notification).where(
        Notification.user_id == user.id, Notification.subject == "邀约即将过期")).all()
    assert note.email_status == "pending" and note.email == "real.student@example.org"

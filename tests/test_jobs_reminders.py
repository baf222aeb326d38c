"""Reminders (app.jobs.reminders): each sent once, to the right party, never changing a status;
and the expiry job: twice, concurrently, and through a real rq worker."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import labels, workflow
from app.extensions import db
from app.jobs import expire_due_offers, reminders, send_reminders
from app.models import Agreement, Destination, FlowEvent, Notification, Termination
from tests.support.checks import count, inbox
from tests.support.concurrency import at_once
from tests.support.database import is_postgres
from tests.support.factories import (
    NOW, accepted_offer, at, certified_offer, make_employer, make_school, make_student, make_user, offer, valid_terms,
)
from tests.support.jobs import REDIS_URL


def statuses():
    db.session.expire_all()
    return (sorted(db.session.scalars(select(Agreement.status))),
            sorted(db.session.scalars(select(Termination.status))),
            sorted(db.session.scalars(select(Destination.status))))


def remind(now):
    return reminders.send_all(now)


# ---------------------------------------------------------------- working days

def test_workdays_before_skips_weekends():
    monday = labels.local(workflow.utc(NOW))  # Monday 09:00 Shanghai
    assert monday.weekday() == 0
    cutoff = labels.local(reminders.workdays_before(workflow.utc(NOW), 5))
    assert (cutoff.weekday(), cutoff.hour, (monday - cutoff).days) == (0, 9, 7)
    saturday = NOW + timedelta(days=5)
    cutoff = labels.local(reminders.workdays_before(workflow.utc(saturday), 1))
    assert cutoff.weekday() == 4  # Friday


# ---------------------------------------------------------------- expiry reminder (24 h)

def test_student_reminded_once_24h_before_expiry(w):
    agreement = offer(w.employer, w.student)
    expires = agreement.expires_at  # naive UTC
    assert remind(expires - timedelta(hours=25))["expiry"] == 0
    assert inbox(w.student_user, "即将过期") == []
    assert remind(expires - timedelta(hours=23))["expiry"] == 1
    assert remind(expires - timedelta(hours=22))["expiry"] == 0
    assert remind(expires - timedelta(hours=1))["expiry"] == 0
    (note,) = inbox(w.student_user, "即将过期")
    assert w.employer.name in note.body and note.link == f"/student/offers/{agreement.id}"
    db.session.refresh(agreement)
    assert agreement.expiry_reminded_at == expires - timedelta(hours=23)
    assert agreement.status == "pending"
    assert remind(expires + timedelta(hours=1))["expiry"] == 0  # past: the expiry job's business


def test_amended_offer_is_reminded_again(w):
    agreement = offer(w.employer, w.student)
    remind(agreement.expires_at - timedelta(hours=2))
    amended_at = agreement.expires_at - timedelta(hours=1)
    workflow.amend(w.employer, agreement, valid_terms(feedback_days=1), now=amended_at)
    db.session.refresh(agreement)
    assert remind(agreement.expires_at - timedelta(hours=1))["expiry"] == 1
    assert len(inbox(w.student_user, "即将过期")) == 2


def test_answered_offer_is_not_reminded(w):
    agreement = accepted_offer(w.employer, w.student)
    assert remind(agreement.expires_at - timedelta(hours=2))["expiry"] == 0


# ---------------------------------------------------------------- termination waiting on a party (3 days)

@pytest.mark.parametrize("initiator", ["student", "employer"])
def test_waiting_party_reminded_once_after_3_days(w, initiator):
    agreement = certified_offer(w.employer, w.student, w.reviewer)
    party = w.student if initiator == "student" else w.employer
    asked = at(days=1)
    termination = workflow.request_termination(party, agreement, "个人原因", now=asked)
    waiting_user = w.employer_user if initiator == "student" else w.student_user
    asker_user = w.student_user if initiator == "student" else w.employer_user
    before = statuses()
    assert remind(asked + timedelta(days=3) - timedelta(minutes=1))["termination"] == 0
    assert remind(asked + timedelta(days=3))["termination"] == 1
    assert remind(asked + timedelta(days=4))["termination"] == 0
    (note,) = inbox(waiting_user, "待处理解约")
    assert f"/terminations/{termination.id}" in note.link
    assert inbox(asker_user, "待处理解约") == []
    assert statuses() == before


def test_agreed_termination_not_reminded_to_party_but_to_school_after_5_workdays(w):
    agreement = certified_offer(w.employer, w.student, w.reviewer)
    termination = workflow.request_termination(w.student, agreement, "个人原因", now=at(days=1))
    agreed = at(days=1, hours=1)  # Tuesday 10:00
    workflow.agree_termination(w.employer, termination, now=agreed)
    assert remind(agreed + timedelta(days=6))["termination"] == 0  # no longer waits on a party
    assert remind(agreed + timedelta(days=6, hours=23))["review"] == 0  # Tue→Mon: 4 working days
    assert remind(agreed + timedelta(days=7))["review"] == 1  # next Tuesday: 5 working days
    assert remind(agreed + timedelta(days=8))["review"] == 0
    (note,) = inbox(w.reviewer, "解约申请")
    assert note.link == f"/school/terminations/{termination.id}"
    db.session.refresh(termination)
    assert termination.status == "agreed" and termination.review_reminded_at is not None


# ---------------------------------------------------------------- school reviews (5 working days)

def test_school_reminded_once_about_waiting_agreement(w):
    agreement = accepted_offer(w.employer, w.student)  # accepted Monday 11:00
    accepted = agreement.accepted_at
    assert remind(accepted + timedelta(days=6, hours=23))["review"] == 0  # Sunday: 4 working days
    assert remind(accepted + timedelta(days=7))["review"] == 1
    assert remind(accepted + timedelta(days=9))["review"] == 0
    (note,) = inbox(w.reviewer, "待审核超时")
    assert note.link == f"/school/review/{agreement.id}"
    assert inbox(w.employer_user, "待审核超时") == [] and inbox(w.student_user, "待审核超时") == []
    db.session.refresh(agreement)
    assert agreement.status == "accepted"


def test_school_reminded_once_about_waiting_destination(w):
    submitted = at(days=2)  # Wednesday
    destination = workflow.submit_destination(w.student, "76", {"occupation": "自由撰稿", "region": "420111"},
                                              now=submitted)
    assert remind(submitted + timedelta(days=6))["review"] == 0
    assert remind(submitted + timedelta(days=7))["review"] == 1
    assert remind(submitted + timedelta(days=8))["review"] == 0
    (note,) = inbox(w.reviewer, "待审核超时")
    assert note.link == f"/school/destinations/{destination.id}"
    db.session.refresh(destination)
    assert destination.status == "submitted"


def test_reminder_settings_are_read(app, w, monkeypatch):
    monkeypatch.setitem(app.config, "EXPIRY_REMINDER_HOURS", 48)
    agreement = offer(w.employer, w.student)
    assert remind(agreement.expires_at - timedelta(hours=47))["expiry"] == 1


def test_send_reminders_job_runs_inline(w):
    agreement = offer(w.employer, w.student)
    out = send_reminders((agreement.expires_at - timedelta(hours=2)).isoformat())
    assert out == {"expiry": 1, "termination": 0, "review": 0}


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="row claims race only on PostgreSQL")
def test_concurrent_reminder_runs_send_each_once(app):
    school = make_school()
    employer = make_employer(approved_by=school)
    students = [make_student(school) for _ in range(30)]
    users = [make_user("student", s) for s in students]
    agreements = workflow.invite(employer, students, valid_terms(), now=NOW)
    when = agreements[0].expires_at - timedelta(hours=2)
    assert sum(r["expiry"] for r in at_once(app, lambda: reminders.send_all(when))) == 30
    db.session.expire_all()
    per_user = dict(db.session.execute(
        select(Notification.user_id, func.count()).where(Notification.subject == "邀约即将过期")
        .group_by(Notification.user_id)).all())
    assert per_user == {u.id: 1 for u in users}


# ---------------------------------------------------------------- expiry job (set-based, R4)

def _expiry_world(n=5):
    school = make_school()
    employer = make_employer(approved_by=school)
    employer_user = make_user("employer", employer)
    students = [make_student(school) for _ in range(n)]
    agreements = workflow.invite(employer, students, valid_terms(), now=NOW)
    return employer_user, agreements


def _expired_counts():
    db.session.expire_all()
    expired = count(Agreement, Agreement.status == "expired")
    events = count(FlowEvent, FlowEvent.action == "expire")
    notices = count(Notification, Notification.subject == "邀约已过期")
    return expired, events, notices


def test_expiry_job_marks_overdue_offer_once(w):
    agreement = offer(w.employer, w.student)
    later = (NOW + timedelta(days=6)).isoformat()
    assert expire_due_offers(later) == 1
    assert expire_due_offers(later) == 0
    assert db.session.get(Agreement, agreement.id).status == "expired"


def test_expiry_job_twice_expires_once():
    employer_user, agreements = _expiry_world(5)
    after = (agreements[0].expires_at + timedelta(minutes=1)).isoformat()
    before = (agreements[0].expires_at - timedelta(minutes=1)).isoformat()
    assert expire_due_offers(before) == 0
    assert expire_due_offers(after) == 5
    assert expire_due_offers(after) == 0
    assert _expired_counts() == (5, 5, 5)  # one FlowEvent and one employer notice per offer
    assert {n.user_id for n in db.session.scalars(select(Notification).where(Notification.subject == "邀约已过期"))} \
        == {employer_user.id}


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="concurrent expiry is meaningful on PostgreSQL only")
def test_expiry_job_concurrently_expires_once(app):
    _, agreements = _expiry_world(40)
    after = (agreements[0].expires_at + timedelta(minutes=1)).isoformat()
    assert sum(at_once(app, lambda: expire_due_offers(after))) == 40
    assert _expired_counts() == (40, 40, 40)


def test_expiry_and_reminders_through_real_worker(app, redis_queue):
    from redis import Redis
    from rq import Queue, SimpleWorker

    _, agreements = _expiry_world(3)
    after = (agreements[0].expires_at + timedelta(minutes=1)).isoformat()
    conn = Redis.from_url(REDIS_URL)
    queue = Queue(redis_queue, connection=conn)
    first = queue.enqueue("app.jobs.expire_due_offers", after)
    second = queue.enqueue("app.jobs.expire_due_offers", after)
    reminder = queue.enqueue("app.jobs.send_reminders", after)
    SimpleWorker([queue], connection=conn).work(burst=True)
    assert (first.latest_result().return_value, second.latest_result().return_value) == (3, 0)
    assert reminder.latest_result().return_value == {"expiry": 0, "termination": 0, "review": 0}
    assert _expired_counts() == (3, 3, 3)

"""R4 at scale: `workflow.expire_due` over a few thousand due offers expires each exactly once and
writes exactly one FlowEvent and one employer notice per offer, and touches nothing else.

Correctness only, no timing: the speed (100,000 offers against the ≤ 5 s target, and the per-row
ORM loop it is compared with) is measured by bench/expiry_bench.py. N = 2,000 is above the chunk
of 900 ids that the SQLite path writes its FlowEvents and notices in, so both databases run the
multi-chunk case; on PostgreSQL the whole run is one statement of data-modifying CTEs.
"""
from datetime import date, datetime, timedelta

from sqlalchemy import func, insert, select

from app import workflow
from app.extensions import db
from app.models import Agreement, AppUser, FlowEvent, Notification, Student
from tests.support.factories import make_employer, make_school, make_user

DUE = 2_000        # pending offers past their deadline: each must expire
NOT_YET = 150      # pending offers whose deadline is still ahead: must stay pending
ANSWERED = 150     # offers past their deadline but already rejected: must stay rejected

SENT = datetime(2026, 5, 1, 1, 0)          # naive UTC, the storage form
DEADLINE = SENT + timedelta(days=5)
NOW = DEADLINE + timedelta(minutes=1)


def _students(school, n):
    rows = [{"school_id": school.id, "student_no": f"X{i:07d}", "name": f"学生{i}",
             "id_number": "420111200301011234", "gender": "男", "phone": "13800000000",
             "graduation_year": 2026, "education": "本科生毕业", "department": "", "major": "",
             "training_mode": "non_targeted", "signing_restricted": False, "plan_submitted": False}
            for i in range(n)]
    return db.session.scalars(insert(Student).returning(Student.id, sort_by_parameter_order=True), rows).all()


def _offers(school, employers, student_ids, status, expires_at):
    rows = []
    for i, sid in enumerate(student_ids):
        employer = employers[i % len(employers)]
        rows.append({"kind": "electronic", "status": status, "student_id": sid, "school_id": school.id,
                     "employer_id": employer.id, "employer_name": employer.name,
                     "employer_credit_code": employer.credit_code, "job_category": "其他",
                     "position": f"岗位{i}", "feedback_days": 5, "probation_days": 0, "probation_salary": 0,
                     "salary": 8000, "penalty": 0, "report_region": "420111",
                     "report_deadline": date(2027, 7, 1), "work_region": "420111", "contact_name": "王",
                     "contact_phone": "13900000000", "archive_mode": "none", "hukou_mode": "none",
                     "sent_at": SENT, "expires_at": expires_at, "updated_at": SENT})
    return db.session.scalars(insert(Agreement).returning(Agreement.id, sort_by_parameter_order=True), rows).all()


def _world():
    """Two employers with one active login each (plus an inactive one that must get nothing),
    DUE due offers spread over both, and the two kinds of offer the run must leave alone."""
    school = make_school()
    employers = [make_employer(), make_employer()]
    logins = {e.id: make_user("employer", e).id for e in employers}
    make_user("employer", employers[0], active=False)  # notices go to active logins only
    students = _students(school, DUE + NOT_YET + ANSWERED)
    due = _offers(school, employers, students[:DUE], "pending", DEADLINE)
    not_yet = _offers(school, employers, students[DUE:DUE + NOT_YET], "pending", NOW + timedelta(hours=1))
    answered = _offers(school, employers, students[DUE + NOT_YET:], "rejected", DEADLINE)
    db.session.commit()
    return {"due": set(due), "not_yet": set(not_yet), "answered": set(answered), "logins": logins}


def _ids_with(status):
    return set(db.session.scalars(select(Agreement.id).where(Agreement.status == status)))


def test_every_due_offer_expires_once_with_one_event_and_one_notice(app):
    w = _world()

    assert workflow.expire_due(NOW) == DUE
    assert workflow.expire_due(NOW) == 0  # a second run finds nothing left
    db.session.expire_all()

    # Exactly the due offers expired, stamped with the run's instant; the others are as they were.
    assert _ids_with("expired") == w["due"]
    assert _ids_with("pending") == w["not_yet"]
    assert _ids_with("rejected") == w["answered"]
    assert set(db.session.scalars(select(Agreement.updated_at).where(Agreement.status == "expired"))) == {NOW}

    # One FlowEvent per expired offer, none for any other.
    per_offer = dict(db.session.execute(
        select(FlowEvent.agreement_id, func.count()).where(FlowEvent.action == "expire")
        .group_by(FlowEvent.agreement_id)).all())
    assert set(per_offer) == w["due"]
    assert set(per_offer.values()) == {1}

    # One notice per expired offer, to the active login of the employer that sent it.
    notices = db.session.execute(
        select(Notification.link, Notification.user_id, AppUser.employer_id)
        .join(AppUser, AppUser.id == Notification.user_id)
        .where(Notification.subject == "邀约已过期")).all()
    assert len(notices) == DUE
    notified = [int(link.removeprefix("/employer/offers/")) for link, _, _ in notices]
    assert sorted(notified) == sorted(w["due"])  # each expired offer once, no other offer
    sender = dict(db.session.execute(select(Agreement.id, Agreement.employer_id)).all())
    for offer_id, (_, user_id, employer_id) in zip(notified, notices):
        assert employer_id == sender[offer_id]
        assert user_id == w["logins"][employer_id]  # the active login, never the inactive one

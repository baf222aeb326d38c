"""Offer rules (docs/rules.md): who may offer (R1), one pending offer per employer and student
(R3), expiry (R4) and the expiry job, cooling-off (R5), one live outcome per student (R6), blocked
students (R7), amendments (R8) and valid terms (R15) — straight on app.workflow.

Review and numbering: test_review_rules.py; the flow trace and notices (R14): test_history_rules.py.
Every refusal is also checked for leaving nothing behind (checks.refused: no row, no status change,
no stored file). Clocks move by `now=`; nothing sleeps.
"""
from datetime import date, datetime, timedelta

import pytest
from app import workflow
from app.extensions import db
from app.models import Agreement, Destination, FlowEvent
from tests.support.checks import count, events, inbox, refused, reload, snapshot
from tests.support.factories import (
    NOW,
    SHANGHAI,
    accepted_offer,
    approve,
    archive_details,
    at,
    make_employer,
    make_student,
    offer,
    paper_agreement,
    valid_terms,
)

AFTER_COOLING = at(hours=2)
# Sent NOW (Mon 2026-05-11 09:00 Shanghai) with feedback_days=5: the last day is Sat 2026-05-16.
LAST_MINUTE = datetime(2026, 5, 16, 23, 59, tzinfo=SHANGHAI)
MIDNIGHT = datetime(2026, 5, 17, 0, 0, tzinfo=SHANGHAI)


# ---------------------------------------------------------------- R1

def test_employer_cannot_offer_before_profile_confirmed(w):
    employer = make_employer(approved_by=w.school, confirmed=False)
    with refused("R1"):
        workflow.invite(employer, [w.student], valid_terms(), now=NOW)


@pytest.mark.parametrize("approval", [None, "pending", "refused"])
def test_employer_cannot_offer_before_approval(w, approval):
    employer = make_employer()
    if approval:
        approve(employer, w.school, status=approval)
    with refused("R1"):
        workflow.invite(employer, [w.student], valid_terms(), now=NOW)


def test_employer_approved_by_one_school_may_offer_to_every_school(w):
    outsider = make_student(w.other_school)
    [agreement] = workflow.invite(w.employer, [outsider], valid_terms(), now=NOW)
    assert agreement.status == "pending"
    assert agreement.school_id == w.other_school.id


def test_invite_returns_agreements_in_order_of_students(w):
    students = [make_student(w.school) for _ in range(3)]
    created = workflow.invite(w.employer, students, valid_terms(), now=NOW)
    assert [a.student_id for a in created] == [s.id for s in students]
    assert all(a.status == "pending" for a in created)


# ---------------------------------------------------------------- R3

def test_employer_cannot_send_second_pending_offer(w):
    first = offer(w.employer, w.student)
    with refused("R3"):
        workflow.invite(w.employer, [w.student], valid_terms(position="测试工程师"), now=at(hours=1))
    assert reload(first).status == "pending"


def test_employer_cannot_invite_group_with_one_refused_student(w):
    offer(w.employer, w.student)
    fresh = make_student(w.school)
    with refused("R3"):
        workflow.invite(w.employer, [fresh, w.student], valid_terms(), now=at(hours=1))
    assert count(Agreement, Agreement.student_id == fresh.id) == 0


def test_employer_cannot_invite_same_student_twice_at_once(w):
    with refused("R3"):
        workflow.invite(w.employer, [w.student, w.student], valid_terms(), now=NOW)


def test_employer_may_offer_again_after_rejection(w):
    first = offer(w.employer, w.student)
    workflow.reject(w.student, first, now=at(minutes=5))
    second = offer(w.employer, w.student, now=at(minutes=10))
    assert (reload(first).status, second.status) == ("rejected", "pending")


def test_employer_may_offer_again_after_expiry(w):
    first = offer(w.employer, w.student)
    assert workflow.expire_due(now=MIDNIGHT) == 1
    second = offer(w.employer, w.student, now=MIDNIGHT)
    assert (reload(first).status, second.status) == ("expired", "pending")


def test_employer_may_offer_again_after_expiry_before_job_runs(w):
    first = offer(w.employer, w.student)
    with refused("R3"):
        offer(w.employer, w.student, now=LAST_MINUTE)
    second = offer(w.employer, w.student, now=MIDNIGHT)
    assert (reload(first).status, second.status) == ("expired", "pending")
    assert events(first) == ["invite", "expire"]


def test_other_employers_may_always_offer(w):
    offer(w.employer, w.student)
    rival = make_employer(approved_by=w.school)
    assert offer(rival, w.student, now=at(minutes=1)).status == "pending"
    # ... even once the student has signed and the agreement is certified.
    signed = make_student(w.school)
    workflow.certify(w.reviewer, accepted_offer(w.employer, signed), now=at(hours=3))
    assert offer(rival, signed, now=at(hours=4)).status == "pending"


def test_amending_accepted_offer_cannot_create_second_pending_offer(w):
    """R3 via R8: the employer re-offered after the acceptance; amending the accepted one would
    leave two pending offers of one employer to one student."""
    accepted = accepted_offer(w.employer, w.student)
    newer = offer(w.employer, w.student, now=at(hours=3))
    with refused("R3"):
        workflow.amend(w.employer, accepted, valid_terms(salary=12000, probation_salary=10000), now=at(hours=4))
    assert (reload(accepted).status, reload(newer).status) == ("accepted", "pending")


# ---------------------------------------------------------------- R4

def test_offer_expires_at_shanghai_midnight_after_feedback_days(w):
    agreement = offer(w.employer, w.student)
    assert agreement.expires_at == datetime(2026, 5, 16, 16, 0)  # 2026-05-17 00:00 Shanghai, naive UTC
    # Sent at 00:30 Shanghai = the previous day in UTC: the Shanghai date counts.
    late = offer(w.employer, make_student(w.school), now=datetime(2026, 5, 12, 0, 30, tzinfo=SHANGHAI))
    assert late.expires_at == datetime(2026, 5, 17, 16, 0)
    short = offer(w.employer, make_student(w.school), feedback_days=1)
    assert short.expires_at == datetime(2026, 5, 12, 16, 0)


@pytest.mark.parametrize("when, ok", [
    (LAST_MINUTE, True),
    (datetime(2026, 5, 16, 23, 59, 59, tzinfo=SHANGHAI), True),
    (MIDNIGHT, False),
    (datetime(2026, 5, 20, 12, 0, tzinfo=SHANGHAI), False),
])
def test_expired_offer_cannot_be_accepted_before_job_runs(w, when, ok):
    agreement = offer(w.employer, w.student)
    if ok:
        assert workflow.accept(w.student, agreement, now=when).status == "accepted"
    else:
        with refused("R4"):
            workflow.accept(w.student, agreement, now=when)
        assert reload(agreement).status == "pending"  # the job has not run
        assert workflow.effective_status(reload(agreement), now=when) == "expired"


def test_expired_offer_cannot_be_accepted_after_job_runs(w):
    agreement = offer(w.employer, w.student)
    workflow.expire_due(now=MIDNIGHT)
    with refused("R0"):
        workflow.accept(w.student, reload(agreement), now=at(days=7))
    assert reload(agreement).status == "expired"


def test_expired_offer_cannot_be_rejected(w):
    agreement = offer(w.employer, w.student)
    with refused("R4"):
        workflow.reject(w.student, agreement, now=MIDNIGHT)


def test_expired_offer_cannot_be_amended(w):
    agreement = offer(w.employer, w.student)
    with refused("R4"):
        workflow.amend(w.employer, agreement, valid_terms(salary=11000, probation_salary=9000), now=MIDNIGHT)


def test_pending_and_expired_clauses_agree_with_r4(w):
    agreement = offer(w.employer, w.student)
    for when, pending in ((LAST_MINUTE, 1), (MIDNIGHT, 0)):
        assert count(Agreement, workflow.pending_clause(when)) == pending
        assert count(Agreement, workflow.expired_clause(when)) == 1 - pending
    assert workflow.effective_status(agreement, LAST_MINUTE) == "pending"


# ---------------------------------------------------------------- R5

def test_student_cannot_accept_within_cooling_off(w):
    agreement = offer(w.employer, w.student)
    with refused("R5"):
        workflow.accept(w.student, agreement, now=at(minutes=59, seconds=59))
    assert reload(agreement).status == "pending"
    assert workflow.accept(w.student, agreement, now=at(minutes=60)).status == "accepted"


def test_cooling_off_length_is_a_setting(w, app, monkeypatch):
    monkeypatch.setitem(app.config, "COOLING_OFF_MINUTES", 180)
    agreement = offer(w.employer, w.student)
    with refused("R5"):
        workflow.accept(w.student, agreement, now=at(hours=2, minutes=59))
    assert workflow.accept(w.student, agreement, now=at(hours=3)).status == "accepted"


def test_student_may_reject_within_cooling_off(w):
    agreement = offer(w.employer, w.student)
    assert workflow.reject(w.student, agreement, now=at(minutes=1)).status == "rejected"


def test_student_cannot_answer_another_students_offer(w):
    agreement = offer(w.employer, w.student)
    other = make_student(w.school)
    with refused("R0"):
        workflow.accept(other, agreement, now=AFTER_COOLING)
    with refused("R0"):
        workflow.reject(other, agreement, now=AFTER_COOLING)


# ---------------------------------------------------------------- R6

@pytest.fixture
def two_offers(w):
    rival = make_employer(approved_by=w.school)
    return offer(w.employer, w.student), offer(rival, w.student)


def test_student_cannot_accept_second_offer_while_one_is_accepted(w, two_offers):
    first, second = two_offers
    workflow.accept(w.student, first, now=AFTER_COOLING)
    with refused("R6"):
        workflow.accept(w.student, second, now=at(hours=3))
    assert [reload(first).status, reload(second).status] == ["accepted", "pending"]


def test_student_cannot_accept_second_offer_while_one_is_certified(w, two_offers):
    first, second = two_offers
    workflow.certify(w.reviewer, workflow.accept(w.student, first, now=AFTER_COOLING), now=at(hours=3))
    with refused("R6"):
        workflow.accept(w.student, second, now=at(hours=4))
    assert reload(second).status == "pending"


def test_student_may_accept_again_after_decline(w, two_offers):
    first, second = two_offers
    workflow.accept(w.student, first, now=AFTER_COOLING)
    workflow.decline(w.reviewer, first, "单位信息与实际不符", now=at(hours=3))
    assert workflow.accept(w.student, second, now=at(hours=4)).status == "accepted"


def test_student_may_accept_again_after_amendment_releases_the_first(w, two_offers):
    first, second = two_offers
    workflow.accept(w.student, first, now=AFTER_COOLING)
    workflow.amend(w.employer, first, valid_terms(salary=12000, probation_salary=10000), now=at(hours=3))
    assert workflow.accept(w.student, second, now=at(hours=4)).status == "accepted"


def test_student_may_accept_again_after_termination(w, two_offers):
    first, second = two_offers
    workflow.certify(w.reviewer, workflow.accept(w.student, first, now=AFTER_COOLING), now=at(hours=3))
    first = reload(first)
    first.status = "terminated"  # as approve_termination leaves it
    db.session.commit()
    assert workflow.accept(w.student, second, now=at(hours=4)).status == "accepted"


@pytest.mark.parametrize("status", ["accepted", "certified"])
def test_student_cannot_accept_while_paper_agreement_live(w, status):
    agreement = offer(w.employer, w.student)
    paper = paper_agreement(w.student)
    if status == "certified":
        workflow.certify(w.reviewer, paper, now=at(hours=1))
    with refused("R6"):
        workflow.accept(w.student, agreement, now=AFTER_COOLING)


@pytest.mark.parametrize("status, blocks", [("submitted", True), ("approved", True), ("declined", False)])
def test_student_cannot_accept_while_destination_live(w, status, blocks):
    agreement = offer(w.employer, w.student)
    db.session.add(Destination(student_id=w.student.id, school_id=w.school.id, kind="80",
                               details="硕士研究生", status=status))
    db.session.commit()
    if blocks:
        with refused("R6"):
            workflow.accept(w.student, agreement, now=AFTER_COOLING)
    else:
        assert workflow.accept(w.student, agreement, now=AFTER_COOLING).status == "accepted"


# ---------------------------------------------------------------- R7

BLOCKS = {
    "restricted": {"signing_restricted": True},
    "targeted": {"training_mode": "targeted"},
    "plan_submitted": {"plan_submitted": True},
    "unverified": {"verified_at": None},
}
BLOCK_REASONS = {"restricted": "已被学校限制签约", "targeted": "培养方式为定向", "plan_submitted": "已提交就业方案",
                 "unverified": "尚未完成首次登录信息验证"}


@pytest.mark.parametrize("reason", list(BLOCKS))
def test_blocked_student_cannot_accept(w, reason):
    agreement = offer(w.employer, w.student)
    for key, value in BLOCKS[reason].items():
        setattr(w.student, key, value)
    db.session.commit()
    with refused("R7"):
        workflow.accept(w.student, agreement, now=AFTER_COOLING)
    assert reload(agreement).status == "pending"


@pytest.mark.parametrize("reason", list(BLOCKS))
def test_blocked_student_cannot_receive_offer(w, reason):
    blocked = make_student(w.school, **BLOCKS[reason])
    fine = make_student(w.school)
    with refused("R7"):
        workflow.invite(w.employer, [fine, blocked], valid_terms(), now=NOW)
    assert workflow.student_block_reason(blocked) == BLOCK_REASONS[reason]
    assert workflow.student_block_reason(fine) is None


# ---------------------------------------------------------------- R8

AMENDED = dict(salary=12000, probation_salary=10000, position="高级软件工程师")


def test_employer_may_amend_pending_offer(w):
    agreement = offer(w.employer, w.student)
    amended = workflow.amend(w.employer, agreement, valid_terms(**AMENDED), now=at(minutes=30))
    amended = reload(amended)
    assert (amended.status, amended.salary, amended.position) == ("pending", 12000, "高级软件工程师")
    assert events(agreement) == ["invite", "amend"]


def test_amended_accepted_offer_must_be_accepted_again_without_new_cooling_off(w):
    agreement = accepted_offer(w.employer, w.student)
    amend_at = at(hours=5)
    workflow.amend(w.employer, agreement, valid_terms(**AMENDED), now=amend_at)
    agreement = reload(agreement)
    assert (agreement.status, agreement.accepted_at) == ("pending", None)
    # One minute after the amendment: no second cooling-off.
    accepted = workflow.accept(w.student, agreement, now=amend_at + timedelta(minutes=1))
    assert (reload(accepted).status, reload(accepted).salary) == ("accepted", 12000)
    assert events(agreement) == ["invite", "accept", "amend", "accept"]


def test_employer_cannot_amend_certified_agreement(w):
    agreement = workflow.certify(w.reviewer, accepted_offer(w.employer, w.student), now=at(hours=3))
    with refused("R8"):
        workflow.amend(w.employer, agreement, valid_terms(**AMENDED), now=at(hours=4))
    agreement = reload(agreement)
    assert (agreement.status, agreement.salary) == ("certified", 10000)


@pytest.mark.parametrize("status", ["rejected", "declined"])
def test_employer_cannot_amend_closed_offer(w, status):
    agreement = accepted_offer(w.employer, w.student)
    if status == "declined":
        workflow.decline(w.reviewer, agreement, "材料不全", now=at(hours=3))
    else:
        agreement = offer(w.employer, make_student(w.school))
        workflow.reject(agreement.student, agreement, now=at(hours=1))
    with refused("R8"):
        workflow.amend(w.employer, reload(agreement), valid_terms(**AMENDED), now=at(hours=4))


def test_employer_cannot_amend_agreement_numbered_once_even_after_withdrawal(signed):
    w = signed
    workflow.withdraw_certification(w.reviewer, w.agreement, "重新审核", now=at(hours=4))
    with refused("R8"):
        workflow.amend(w.employer, w.agreement, valid_terms(position="别的岗位"), now=at(hours=5))
    assert reload(w.agreement).status == "accepted"


def test_other_employer_cannot_amend(w):
    agreement = offer(w.employer, w.student)
    rival = make_employer(approved_by=w.school)
    with refused("R0"):
        workflow.amend(rival, agreement, valid_terms(**AMENDED), now=at(hours=1))


def test_employer_cannot_amend_with_invalid_terms(w):
    agreement = offer(w.employer, w.student)
    with refused("R15", "probation_days"):
        workflow.amend(w.employer, agreement, valid_terms(probation_days=200), now=at(hours=1))
    assert reload(agreement).probation_days == 90


# ---------------------------------------------------------------- R15

BAD_TERMS = [
    ({"salary": -1}, "salary"),
    ({"penalty": -1}, "penalty"),
    ({"probation_salary": -100}, "probation_salary"),
    ({"probation_days": -1}, "probation_days"),
    ({"feedback_days": -1}, "feedback_days"),
    ({"feedback_days": 0}, "feedback_days"),
    ({"salary": 10000.5, "probation_salary": 9000}, "salary"),
    ({"salary": "10000.5", "probation_salary": 9000}, "salary"),
    ({"penalty": "五千"}, "penalty"),
    ({"probation_days": "3个月"}, "probation_days"),
    ({"salary": True}, "salary"),
    ({"salary": None}, "salary"),
    ({"probation_days": 181}, "probation_days"),
    ({"probation_salary": 7999}, "probation_salary"),  # salary 10000: below 80%
    ({"report_deadline": NOW.date()}, "report_deadline"),
    ({"report_deadline": NOW.date() - timedelta(days=1)}, "report_deadline"),
    ({"report_deadline": "2026-02-30"}, "report_deadline"),
    ({"report_deadline": None}, "report_deadline"),
    ({"contact_phone": "1381234567"}, "contact_phone"),
    ({"contact_phone": "12345678901"}, "contact_phone"),
    ({"contact_phone": "87654321"}, "contact_phone"),
    ({"contact_phone": ""}, "contact_phone"),
    ({"report_region": "999999"}, "report_region"),
    ({"work_region": "4201"}, "work_region"),
    ({"work_region": ""}, "work_region"),
    ({"job_category": "程序员"}, "job_category"),
    ({"position": ""}, "position"),
    ({"position": "岗" * 101}, "position"),
    ({"contact_name": " "}, "contact_name"),
    ({"archive_mode": "lost"}, "archive_mode"),
    ({"hukou_mode": "lost"}, "hukou_mode"),
    ({"archive_mode": "employer"}, "archive_unit"),
    ({"archive_mode": "employer"}, "archive_address"),
    ({"archive_mode": "employer"}, "archive_postcode"),
    ({"archive_mode": "employer"}, "archive_contact"),
    ({"archive_mode": "employer"}, "archive_phone"),
    ({"archive_mode": "forward"}, "archive_unit"),
    ({"archive_mode": "forward"}, "archive_postcode"),
    ({"archive_mode": "forward", **archive_details(archive_postcode="43001")}, "archive_postcode"),
    ({"archive_mode": "forward", **archive_details(archive_postcode="4300140")}, "archive_postcode"),
    ({"archive_mode": "employer", **archive_details(archive_postcode="43O014")}, "archive_postcode"),
    ({"archive_mode": "employer", **archive_details(archive_phone="110")}, "archive_phone"),
    ({"hukou_mode": "forward"}, "hukou_address"),
]


@pytest.mark.parametrize("overrides, field", BAD_TERMS,
                         ids=[f"{field}-{i}" for i, (_, field) in enumerate(BAD_TERMS)])
def test_employer_cannot_offer_invalid_terms(w, overrides, field):
    with refused("R15", field) as info:
        workflow.invite(w.employer, [w.student], valid_terms(**overrides), now=NOW)
    assert set(info.value.fields) <= set(workflow.TERM_FIELDS)


GOOD_TERMS = [
    {"probation_days": 180},
    {"probation_days": 0, "probation_salary": 10000},
    {"probation_salary": 8000, "salary": 10000},  # exactly 80%
    {"probation_salary": "8000", "salary": " 10000 ", "penalty": "0"},
    {"salary": 0, "probation_salary": 0, "penalty": 0},
    {"report_deadline": NOW.date() + timedelta(days=1)},
    {"report_deadline": (NOW.date() + timedelta(days=30)).isoformat()},
    {"contact_phone": "027-87654321"},
    {"contact_phone": "02787654321"},
    {"archive_mode": "employer", **archive_details()},
    {"archive_mode": "forward", **archive_details(archive_phone="13812345678")},
    {"hukou_mode": "forward", "hukou_address": "湖北省武汉市洪山区珞喻路1号"},
]


@pytest.mark.parametrize("overrides", GOOD_TERMS)
def test_employer_offers_valid_terms_as_cleaned(w, overrides):
    agreement = reload(workflow.invite(w.employer, [w.student], valid_terms(**overrides), now=NOW)[0])
    clean = workflow.validate_terms(valid_terms(**overrides), NOW)
    for field in workflow.TERM_FIELDS:
        assert getattr(agreement, field) == clean[field], field
    assert isinstance(agreement.salary, int) and isinstance(agreement.report_deadline, date)


def test_report_deadline_today_means_today_in_shanghai(w):
    # 00:30 on 12 May in Shanghai is still 11 May in UTC: 12 May is today, so not in the future.
    now = datetime(2026, 5, 12, 0, 30, tzinfo=SHANGHAI)
    with refused("R15", "report_deadline"):
        workflow.invite(w.employer, [w.student], valid_terms(report_deadline=date(2026, 5, 12)), now=now)


def test_archive_details_dropped_when_employer_does_not_receive(w):
    agreement = offer(w.employer, w.student, archive_mode="none", **archive_details())
    agreement = reload(agreement)
    assert (agreement.archive_unit, agreement.archive_postcode) == (None, None)


def test_every_field_error_is_reported_at_once(w):
    bad = valid_terms(salary=-1, probation_days=181, contact_phone="123", report_region="000000")
    with refused("R15", "salary", "probation_days", "contact_phone", "report_region"):
        workflow.invite(w.employer, [w.student], bad, now=NOW)


# ---------------------------------------------------------------- expire_due (R4 job)

def test_expire_due_marks_only_overdue_pending_offers(w):
    students = [make_student(w.school) for _ in range(5)]
    overdue = offer(w.employer, students[0])
    overdue_short = offer(w.employer, students[1], now=at(days=2), feedback_days=1)  # due 14 May 24:00
    longer = offer(w.employer, students[2], feedback_days=10)
    later = offer(w.employer, students[3], now=at(days=1))  # due 17 May 24:00
    answered = accepted_offer(w.employer, students[4])
    rejected = offer(make_employer(approved_by=w.school), students[2])
    workflow.reject(students[2], rejected, now=at(hours=1))
    notes_before = len(inbox(w.employer_user))

    assert workflow.expire_due(now=LAST_MINUTE) == 1  # only the 1-day offer is already due
    assert workflow.expire_due(now=MIDNIGHT) == 1
    db.session.expire_all()
    statuses = {a.id: a.status for a in (overdue, overdue_short, longer, later, answered, rejected)}
    assert statuses == {
        overdue.id: "expired", overdue_short.id: "expired", longer.id: "pending", later.id: "pending",
        answered.id: "accepted", rejected.id: "rejected",
    }
    assert count(FlowEvent, FlowEvent.action == "expire") == 2
    assert events(overdue) == ["invite", "expire"]
    assert [n.subject for n in inbox(w.employer_user)][notes_before:] == ["邀约已过期"] * 2

    before = snapshot()
    assert workflow.expire_due(now=MIDNIGHT) == 0
    assert workflow.expire_due(now=at(minutes=1, base=MIDNIGHT)) == 0
    assert snapshot() == before


def test_expire_due_with_nothing_due_changes_nothing(w):
    offer(w.employer, w.student)
    before = snapshot()
    assert workflow.expire_due(now=LAST_MINUTE) == 0
    assert snapshot() == before

"""Review rules (docs/rules.md): the school certifies or declines an accepted agreement and numbers it
(R9), and may withdraw a certification (R10) — straight on app.workflow.

Every refusal is also checked for leaving nothing behind (checks.refused). Clocks move by `now=`.
"""
from datetime import timezone

import pytest
from sqlalchemy import select

from app import workflow
from app.extensions import db
from app.models import FlowEvent
from tests.support.checks import events, refused, reload
from tests.support.factories import (
    accepted_offer,
    at,
    make_reviewer,
    make_student,
    make_user,
    offer,
    paper_agreement,
)

LATER = at(days=1)


# ---------------------------------------------------------------- R9: certify and decline, numbers

def test_reviewer_certifies_with_number_in_manual_format(w):
    agreement = workflow.certify(w.reviewer, accepted_offer(w.employer, w.student), now=at(hours=3))
    agreement = reload(agreement)
    assert agreement.status == "certified"
    assert agreement.number == "120261048600001"
    assert agreement.certified_at == at(hours=3).astimezone(timezone.utc).replace(tzinfo=None)  # naive UTC


def test_reviewer_of_other_school_cannot_certify(w):
    agreement = accepted_offer(w.employer, w.student)
    with refused("R9"):
        workflow.certify(w.other_reviewer, agreement, now=at(hours=3))
    agreement = reload(agreement)
    assert (agreement.status, agreement.number) == ("accepted", None)


def test_reviewer_of_other_school_cannot_decline(w):
    agreement = accepted_offer(w.employer, w.student)
    with refused("R9"):
        workflow.decline(w.other_reviewer, agreement, "不符合要求", now=at(hours=3))
    assert reload(agreement).status == "accepted"


@pytest.mark.parametrize("actor", ["student", "employer", "province", "student_user"])
def test_only_school_reviewer_can_certify(w, actor):
    agreement = accepted_offer(w.employer, w.student)
    who = {
        "student": w.student, "employer": w.employer, "student_user": w.student_user,
        "province": make_user("province"),
    }[actor]
    with refused("R9"):
        workflow.certify(who, agreement, now=at(hours=3))


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_reviewer_cannot_decline_without_reason(w, reason):
    agreement = accepted_offer(w.employer, w.student)
    with refused("R9"):
        workflow.decline(w.reviewer, agreement, reason, now=at(hours=3))
    assert reload(agreement).status == "accepted"


def test_reviewer_declines_with_reason_and_no_number(w):
    agreement = workflow.decline(w.reviewer, accepted_offer(w.employer, w.student), "  岗位信息不完整 ",
                                 now=at(hours=3))
    agreement = reload(agreement)
    assert (agreement.status, agreement.review_reason, agreement.number) == ("declined", "岗位信息不完整", None)


def test_reviewer_cannot_certify_offer_not_accepted(w):
    agreement = offer(w.employer, w.student)
    with refused("R0"):
        workflow.certify(w.reviewer, agreement, now=at(hours=3))
    assert reload(agreement).number is None


def test_numbers_run_per_school_per_year(w):
    def certified(student):
        return reload(workflow.certify(make_reviewer(student.school), accepted_offer(w.employer, student),
                                       now=at(hours=3))).number

    first, second = certified(w.student), certified(make_student(w.school))
    other_school = certified(make_student(w.other_school))
    next_year = certified(make_student(w.school, graduation_year=2027))
    third = certified(make_student(w.school))
    assert (first, second, third) == ("120261048600001", "120261048600002", "120261048600003")
    assert other_school == "120261048700001"
    assert next_year == "120271048600001"


def test_certified_paper_agreement_number_starts_with_2(w):
    agreement = paper_agreement(w.student)
    certified = reload(workflow.certify(w.reviewer, agreement, now=at(hours=3)))
    assert certified.status == "certified"
    assert certified.number == "220261048600001"


def test_certification_number_is_kept_after_withdrawal_and_never_reused(w):
    agreement = workflow.certify(w.reviewer, accepted_offer(w.employer, w.student), now=at(hours=3))
    number = agreement.number
    workflow.withdraw_certification(w.reviewer, agreement, "录入有误", now=at(hours=4))
    again = reload(workflow.certify(w.reviewer, reload(agreement), now=at(hours=5)))
    assert again.number == number
    other = workflow.certify(w.reviewer, accepted_offer(w.employer, make_student(w.school)), now=at(hours=6))
    assert reload(other).number == "120261048600002"


# ---------------------------------------------------------------- R10: withdrawing a certification

def test_reviewer_withdraws_certification_keeping_number(signed):
    w = signed
    number = w.agreement.number
    withdrawn = reload(workflow.withdraw_certification(w.reviewer, w.agreement, "学生信息有误", now=at(hours=4)))
    assert (withdrawn.status, withdrawn.number, withdrawn.certified_at) == ("accepted", number, None)
    assert events(withdrawn)[-1] == "withdraw"
    remark = db.session.scalar(select(FlowEvent.remark).where(
        FlowEvent.agreement_id == withdrawn.id, FlowEvent.action == "withdraw"))
    assert remark == "学生信息有误"


@pytest.mark.parametrize("status", ["requested", "agreed"])
def test_reviewer_cannot_withdraw_certification_while_termination_open(signed, status):
    w = signed
    t = workflow.request_termination(w.student, w.agreement, "考取公务员", now=at(days=1))
    if status == "agreed":
        workflow.agree_termination(w.employer, t, now=at(days=1, hours=1))
    with refused("R10"):
        workflow.withdraw_certification(w.reviewer, w.agreement, "录入有误", now=at(hours=4))
    assert reload(w.agreement).status == "certified"


def test_reviewer_may_withdraw_certification_after_termination_refused(signed):
    w = signed
    t = workflow.request_termination(w.student, w.agreement, "考取公务员", now=at(days=1))
    workflow.agree_termination(w.employer, t, now=at(days=1, hours=1))
    workflow.refuse_termination(w.reviewer, t, "理由不充分", now=at(days=1, hours=2))
    assert workflow.withdraw_certification(w.reviewer, w.agreement, "录入有误", now=at(hours=4)).status == "accepted"


def test_reviewer_cannot_withdraw_certification_without_reason(signed):
    w = signed
    with refused("R10"):
        workflow.withdraw_certification(w.reviewer, w.agreement, " ", now=at(hours=4))


def test_reviewer_of_other_school_cannot_withdraw_certification(signed):
    w = signed
    with refused("R9"):
        workflow.withdraw_certification(w.other_reviewer, w.agreement, "录入有误", now=at(hours=4))
    assert reload(w.agreement).status == "certified"


def test_reviewer_cannot_withdraw_certification_of_uncertified_agreement(w):
    agreement = accepted_offer(w.employer, w.student)
    with refused("R0"):
        workflow.withdraw_certification(w.reviewer, agreement, "录入有误", now=at(hours=4))


def test_reviewer_cannot_withdraw_certification_while_employer_asks_termination(signed):
    w = signed
    workflow.request_termination(w.employer, w.agreement, "单位原因", now=LATER)
    with refused("R10"):
        workflow.withdraw_certification(w.reviewer, w.agreement, "录入有误", now=LATER)
    assert reload(w.agreement).status == "certified"


# ---------------------------------------------------------------- FAQ 6

def test_faq6_wrong_content_after_certification_withdraw_decline_and_sign_again(signed):
    """FAQ 6: 网上签约管理员撤回审核，重新审核不通过，让单位和学生重新签约."""
    w = signed
    number = w.agreement.number
    workflow.withdraw_certification(w.reviewer, w.agreement, "协议书岗位名称有误", now=LATER)
    declined = workflow.decline(w.reviewer, w.agreement, "岗位名称有误，请单位重新发起邀约", now=LATER)
    assert (declined.status, declined.number) == ("declined", number)  # the number is never reused
    again = offer(w.employer, w.student, now=at(days=2), position="高级软件工程师")
    again = workflow.accept(w.student, again, now=at(days=2, hours=2))
    certified = workflow.certify(w.reviewer, again, now=at(days=3))
    assert certified.number != number
    assert events(w.agreement)[-2:] == ["withdraw", "decline"]

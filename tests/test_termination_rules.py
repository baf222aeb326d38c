"""Termination rules (docs/rules.md): 解约 asked by one party, agreed by the other, reviewed by the
school (R11), at most TERMINATION_LIMIT approved per student (R12) — straight on app.workflow.

Paper agreements' terminations: test_paper_agreement_rules.py. Refusals are checked for leaving
nothing behind (checks.refused: no row, no status change, no stored file).
"""
from datetime import timedelta

import pytest
from flask import current_app

from app import workflow
from tests.support.checks import events, inbox, refused, reload
from tests.support.factories import at, certified_offer, make_employer, make_student, offer

LATER = at(days=1)


# ---------------------------------------------------------------- terminations (R11)

def test_student_terminates_with_employer_agreement_and_school_approval(signed):
    w = signed
    t = workflow.request_termination(w.student, w.agreement, "考取公务员", now=LATER)
    assert (t.status, t.initiator, t.school_id, t.employer_id) == ("requested", "student", w.school.id, w.employer.id)
    notice = inbox(w.employer_user)[-1]
    assert notice.subject == f"{w.student.name}提出解约申请"
    assert notice.body == (f"{w.student.name}申请解除编号 {w.agreement.number} 的就业协议，原因：考取公务员。"
                           "请在解约办理中处理。")
    assert notice.link == f"/employer/terminations/{t.id}"
    t = workflow.agree_termination(w.employer, t, now=LATER + timedelta(hours=1))
    assert t.status == "agreed"
    assert inbox(w.reviewer)[-1].subject == f"待解约审核：{w.student.name}"
    t = workflow.approve_termination(w.reviewer, t, now=LATER + timedelta(hours=2))
    assert t.status == "approved"
    assert reload(w.agreement).status == "terminated"
    assert events(t) == ["termination_request", "termination_agree", "termination_approve"]
    assert workflow.employment_status(w.student.id)["state"] == "未就业"
    # Free to sign again (R6 no longer blocks).
    other = make_employer(approved_by=w.school)
    new = offer(other, w.student, now=LATER + timedelta(days=1))
    assert workflow.accept(w.student, new, now=LATER + timedelta(days=1, hours=2)).status == "accepted"


def test_employer_terminates_with_student_agreement_and_school_approval(signed):
    w = signed
    t = workflow.request_termination(w.employer, w.agreement, "单位原因", now=LATER)
    assert t.initiator == "employer" and t.status == "requested"
    assert [n.subject for n in inbox(w.student_user, "解约")] == [f"{w.employer.name}提出解约"]
    t = workflow.agree_termination(w.student, t, now=LATER + timedelta(hours=1))
    assert t.status == "agreed"
    workflow.approve_termination(w.reviewer, t, now=LATER + timedelta(hours=2))
    assert reload(w.agreement).status == "terminated"


@pytest.mark.parametrize("stage", ["pending", "accepted", "declined", "rejected"])
def test_party_cannot_request_termination_of_uncertified_agreement(w, stage):
    agreement = offer(w.employer, w.student)
    if stage != "pending":
        if stage == "rejected":
            agreement = workflow.reject(w.student, agreement, now=at(hours=2))
        else:
            agreement = workflow.accept(w.student, agreement, now=at(hours=2))
        if stage == "declined":
            agreement = workflow.decline(w.reviewer, agreement, "信息有误", now=at(hours=3))
    with refused("R11") as info:
        workflow.request_termination(w.student, agreement, "考取公务员", now=LATER)
    if stage == "accepted":
        assert "审核期间" in info.value.message


@pytest.mark.parametrize("open_status", ["requested", "agreed"])
def test_party_cannot_request_termination_while_one_is_open(signed, open_status):
    w = signed
    t = workflow.request_termination(w.student, w.agreement, "考取公务员", now=LATER)
    if open_status == "agreed":
        workflow.agree_termination(w.employer, t, now=LATER)
    for party in (w.student, w.employer):
        with refused("R11"):
            workflow.request_termination(party, w.agreement, "再次申请", now=LATER + timedelta(hours=1))


def test_initiator_cannot_agree_to_own_termination_request(signed):
    w = signed
    t = workflow.request_termination(w.student, w.agreement, "考取公务员", now=LATER)
    with refused("R11"):
        workflow.agree_termination(w.student, t, now=LATER)
    assert reload(t).status == "requested"


def test_stranger_cannot_request_or_agree_to_termination(signed):
    w = signed
    other_employer = make_employer(approved_by=w.school)
    other_student = make_student(w.school)
    with refused("R11"):
        workflow.request_termination(other_employer, w.agreement, "与我无关", now=LATER)
    with refused("R11"):
        workflow.request_termination(other_student, w.agreement, "与我无关", now=LATER)
    t = workflow.request_termination(w.student, w.agreement, "考取公务员", now=LATER)
    with refused("R11"):
        workflow.agree_termination(other_employer, t, now=LATER)


def test_termination_reason_is_required_and_at_most_200_characters(signed):
    w = signed
    with refused("R11"):
        workflow.request_termination(w.student, w.agreement, "   ", now=LATER)
    with refused("R11"):
        workflow.request_termination(w.student, w.agreement, "解" * 201, now=LATER)
    # 200 Chinese characters (600 bytes in UTF-8) are fine: counted as characters.
    t = workflow.request_termination(w.student, w.agreement, "解" * 200, now=LATER)
    assert len(t.reason) == 200


def test_school_reviews_only_agreed_requests_of_its_own_students(signed):
    w = signed
    t = workflow.request_termination(w.student, w.agreement, "考取公务员", now=LATER)
    with refused("R11"):  # the other party has not agreed yet
        workflow.approve_termination(w.reviewer, t, now=LATER)
    workflow.agree_termination(w.employer, t, now=LATER)
    with refused("R11"):
        workflow.approve_termination(w.other_reviewer, t, now=LATER)
    with refused("R11"):
        workflow.refuse_termination(w.other_reviewer, t, "不同意", now=LATER)
    with refused("R9"):
        workflow.approve_termination(w.employer_user, t, now=LATER)


def test_refused_termination_keeps_agreement_and_allows_a_new_request(signed):
    w = signed
    t = workflow.request_termination(w.student, w.agreement, "考取公务员", now=LATER)
    workflow.agree_termination(w.employer, t, now=LATER)
    with refused("R11"):
        workflow.refuse_termination(w.reviewer, t, " ", now=LATER)
    t = workflow.refuse_termination(w.reviewer, t, "存在虚假签约情况", now=LATER + timedelta(hours=1))
    assert (t.status, t.review_reason) == ("refused", "存在虚假签约情况")
    assert reload(w.agreement).status == "certified"
    again = workflow.request_termination(w.employer, w.agreement, "单位原因", now=LATER + timedelta(days=1))
    assert again.status == "requested"


def test_party_cannot_request_termination_after_limit_reached(signed):
    """R12: one approved termination per student (TERMINATION_LIMIT=1); refused ones don't count."""
    w = signed
    t = workflow.request_termination(w.student, w.agreement, "考取公务员", now=LATER)
    workflow.agree_termination(w.employer, t, now=LATER)
    workflow.approve_termination(w.reviewer, t, now=LATER)
    other = make_employer(approved_by=w.school)
    second = certified_offer(other, w.student, w.reviewer, sent=at(days=3))
    for party in (w.student, other):
        with refused("R12"):
            workflow.request_termination(party, second, "再次解约", now=at(days=4))


def test_refused_terminations_do_not_count_towards_the_limit(signed):
    w = signed
    for day in (1, 2):
        t = workflow.request_termination(w.student, w.agreement, "考取公务员", now=at(days=day))
        workflow.agree_termination(w.employer, t, now=at(days=day))
        workflow.refuse_termination(w.reviewer, t, "理由不充分", now=at(days=day, hours=1))
    t = workflow.request_termination(w.student, w.agreement, "考取公务员", now=at(days=3))
    workflow.agree_termination(w.employer, t, now=at(days=3))
    assert workflow.approve_termination(w.reviewer, t, now=at(days=3, hours=1)).status == "approved"


def test_party_may_request_second_termination_when_limit_raised(signed, app):
    w = signed
    t = workflow.request_termination(w.student, w.agreement, "考取公务员", now=LATER)
    workflow.agree_termination(w.employer, t, now=LATER)
    workflow.approve_termination(w.reviewer, t, now=LATER)
    other = make_employer(approved_by=w.school)
    second = certified_offer(other, w.student, w.reviewer, sent=at(days=3))
    app.config["TERMINATION_LIMIT"] = 2
    try:
        assert workflow.request_termination(w.student, second, "再次解约", now=at(days=4)).status == "requested"
    finally:
        app.config["TERMINATION_LIMIT"] = 1


def test_school_cannot_approve_termination_when_limit_reached_meanwhile(signed):
    """Two requests opened before either was approved: the second approval is refused (R12)."""
    w = signed
    t1 = workflow.request_termination(w.student, w.agreement, "考取公务员", now=LATER)
    workflow.agree_termination(w.employer, t1, now=LATER)
    # A second certified agreement cannot coexist with the first (R6), so fake the situation the
    # re-check guards against: an approved termination recorded meanwhile for this student.
    workflow.approve_termination(w.reviewer, t1, now=LATER)
    other = make_employer(approved_by=w.school)
    second = certified_offer(other, w.student, w.reviewer, sent=at(days=3))
    current_app.config["TERMINATION_LIMIT"] = 2
    t2 = workflow.request_termination(w.student, second, "再次解约", now=at(days=4))
    workflow.agree_termination(other, t2, now=at(days=4))
    current_app.config["TERMINATION_LIMIT"] = 1
    try:
        with refused("R12"):
            workflow.approve_termination(w.reviewer, t2, now=at(days=5))
    finally:
        current_app.config["TERMINATION_LIMIT"] = 1

"""Terminations, paper agreements and other destinations (R6, R11–R14), straight on app.workflow.

Refusals are checked for leaving nothing behind: no row in any flow table and no stored file.
"""
import os
from datetime import timedelta

import pytest
from flask import current_app

from app import uploads, workflow
from app.extensions import db
from app.workflow import WorkflowError
from tests.support.checks import events, inbox, refused, reload, stored_files
from tests.support.factories import (
    NOW,
    PNG_BYTES,
    accepted_offer,
    at,
    certified_offer,
    make_employer,
    make_student,
    offer,
    paper_agreement,
    paper_terms,
    proof,
)

LATER = at(days=1)


# ---------------------------------------------------------------- terminations (R11)

def test_student_initiated_termination_full_flow(signed):
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


def test_employer_initiated_termination_student_agrees(signed):
    w = signed
    t = workflow.request_termination(w.employer, w.agreement, "单位原因", now=LATER)
    assert t.initiator == "employer" and t.status == "requested"
    assert [n.subject for n in inbox(w.student_user, "解约")] == [f"{w.employer.name}提出解约"]
    t = workflow.agree_termination(w.student, t, now=LATER + timedelta(hours=1))
    assert t.status == "agreed"
    workflow.approve_termination(w.reviewer, t, now=LATER + timedelta(hours=2))
    assert reload(w.agreement).status == "terminated"


@pytest.mark.parametrize("stage", ["pending", "accepted", "declined", "rejected"])
def test_termination_only_of_certified_agreement(w, stage):
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
def test_one_open_termination_per_agreement(signed, open_status):
    w = signed
    t = workflow.request_termination(w.student, w.agreement, "考取公务员", now=LATER)
    if open_status == "agreed":
        workflow.agree_termination(w.employer, t, now=LATER)
    for party in (w.student, w.employer):
        with refused("R11"):
            workflow.request_termination(party, w.agreement, "再次申请", now=LATER + timedelta(hours=1))


def test_initiator_cannot_answer_own_request(signed):
    w = signed
    t = workflow.request_termination(w.student, w.agreement, "考取公务员", now=LATER)
    with refused("R11"):
        workflow.agree_termination(w.student, t, now=LATER)
    assert reload(t).status == "requested"


def test_stranger_cannot_request_or_agree(signed):
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


def test_reason_is_required_and_at_most_200_characters(signed):
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


def test_no_second_approved_termination(signed):
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


def test_termination_limit_is_a_setting(signed, app):
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


def test_limit_rechecked_at_approval(signed):
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


def test_withdraw_certification_refused_while_termination_open(signed):
    w = signed
    workflow.request_termination(w.employer, w.agreement, "单位原因", now=LATER)
    with pytest.raises(WorkflowError) as info:
        workflow.withdraw_certification(w.reviewer, w.agreement, "录入有误", now=LATER)
    assert info.value.rule == "R10"


# ---------------------------------------------------------------- paper agreements (R13)

def test_paper_agreement_recorded_reviewed_and_numbered_with_kind_2(w):
    agreement = paper_agreement(w.student)
    assert (agreement.kind, agreement.status, agreement.employer_id) == ("paper", "accepted", None)
    assert agreement.proof_path and os.path.exists(uploads.path_of(agreement.proof_path))
    assert events(agreement) == ["paper_record"]
    assert [n.subject for n in inbox(w.reviewer)] == [f"待审核：{w.student.name}的纸质协议书"]
    certified = workflow.certify(w.reviewer, agreement, now=at(hours=1))
    assert certified.number.startswith("2" + str(w.student.graduation_year) + w.school.code)
    assert workflow.employment_status(w.student.id)["category"] == "签就业协议形式就业（纸质签约）"


def test_paper_agreement_needs_scan_and_valid_fields(w):
    with refused("R13", "proof"):
        workflow.record_paper_agreement(w.student, paper_terms(), None, now=NOW)
    with refused("R15", "employer_credit_code", "employer_name"):
        workflow.record_paper_agreement(
            w.student, paper_terms(employer_credit_code="91420111MA4K12345Y", employer_name=""), proof(), now=NOW)
    with refused("R15", "report_deadline"):
        workflow.record_paper_agreement(w.student, paper_terms(report_deadline=NOW.date()), proof(), now=NOW)


def test_paper_agreement_refused_while_another_outcome_is_live(w):
    accepted_offer(w.employer, w.student)
    with refused("R6"):
        paper_agreement(w.student, now=at(days=1))


def test_paper_agreement_refused_for_restricted_student(w):
    w.student.signing_restricted = True
    db.session.commit()
    with refused("R7"):
        paper_agreement(w.student)


def test_paper_agreement_may_be_entered_again_after_decline(w):
    first = paper_agreement(w.student)
    workflow.decline(w.reviewer, first, "扫描件不清晰", now=at(hours=1))
    assert paper_agreement(w.student, now=at(hours=2)).status == "accepted"


def test_paper_termination_student_only_with_proof_straight_to_school(w):
    agreement = workflow.certify(w.reviewer, paper_agreement(w.student), now=at(hours=1))
    with refused("R13", "proof"):
        workflow.request_termination(w.student, agreement, "单位同意解约", now=LATER)
    with refused("R11"):  # the employer is no online party of a paper agreement
        workflow.request_termination(w.employer, agreement, "单位原因", now=LATER)
    t = workflow.request_termination(w.student, agreement, "单位同意解约", proof=proof(PNG_BYTES, "证明.png"), now=LATER)
    assert (t.status, t.initiator) == ("agreed", "student")
    assert t.proof_path.endswith(".png")
    assert [n.subject for n in inbox(w.reviewer, "解约")] == [f"待解约审核：{w.student.name}"]
    workflow.approve_termination(w.reviewer, t, now=LATER + timedelta(hours=1))
    assert reload(agreement).status == "terminated"


# ---------------------------------------------------------------- uploads

@pytest.mark.parametrize("data, message", [
    (b"", "空文件"),
    (b"MZ\x90\x00 this is an exe", "PDF、JPG 或 PNG"),
    (b"<html><script>alert(1)</script>", "PDF、JPG 或 PNG"),
])
def test_upload_refused_by_content(data, message):
    before = stored_files()
    with pytest.raises(uploads.UploadError) as info:
        uploads.from_bytes(data, "证明.pdf")  # the name claims PDF; the content decides
    assert message in str(info.value)
    assert stored_files() == before


def test_upload_too_large(app):
    limit = app.config["UPLOAD_MAX_BYTES"]
    before = stored_files()
    with pytest.raises(uploads.UploadError) as info:
        uploads.from_bytes(b"%PDF-" + b"0" * limit, "big.pdf")
    assert "MB" in str(info.value)
    assert uploads.from_bytes(b"%PDF-" + b"0" * (limit - 5), "ok.pdf").ext == "pdf"  # the limit itself is fine
    assert stored_files() == before


def test_refused_request_stores_no_file(w):
    agreement = workflow.certify(w.reviewer, paper_agreement(w.student), now=at(hours=1))
    files = stored_files()
    with refused("R11"):
        workflow.request_termination(w.student, agreement, "解" * 201, proof=proof(), now=LATER)
    assert stored_files() == files


# ---------------------------------------------------------------- other destinations (R6)

def further_study(**overrides):
    details = {"school": "华中科技大学", "major": "计算机科学与技术", "level": "硕士研究生"}
    details.update(overrides)
    return details


def test_destination_submit_and_approve(w):
    d = workflow.submit_destination(w.student, "80", further_study(), proof(), now=NOW)
    assert d.status == "submitted" and d.proof_path
    assert workflow.employment_status(w.student.id) == {"state": "去向待学校审核", "category": "升学",
                                                        "since": d.created_at}
    d = workflow.review_destination(w.reviewer, d, True, now=at(hours=1))
    assert d.status == "approved"
    assert workflow.employment_status(w.student.id)["state"] == "已落实去向"
    assert events(d) == ["destination_submit", "destination_approve"]
    assert [n.subject for n in inbox(w.student_user)] == ["其他去向审核通过"]


@pytest.mark.parametrize("status", ["submitted", "approved"])
def test_live_destination_blocks_accept_and_paper(w, status):
    pending = offer(w.employer, w.student)
    d = workflow.submit_destination(w.student, "80", further_study(), proof(), now=NOW)
    if status == "approved":
        workflow.review_destination(w.reviewer, d, True, now=at(hours=1))
    with refused("R6"):
        workflow.accept(w.student, pending, now=at(hours=2))
    with refused("R6"):
        paper_agreement(w.student, now=at(hours=2))
    with refused("R6"):
        workflow.submit_destination(w.student, "76", {"occupation": "自由撰稿", "region": "420111"}, now=at(hours=2))
    # R3: employers may still send offers; the student only views them.
    other = make_employer(approved_by=w.school)
    assert offer(other, w.student, now=at(hours=3)).status == "pending"


def test_destination_details_and_proof_per_kind(w):
    with refused("R15", "school", "major"):
        workflow.submit_destination(w.student, "80", {"level": "硕士研究生"}, proof(), now=NOW)
    with refused("R15", "proof"):
        workflow.submit_destination(w.student, "80", further_study(), None, now=NOW)
    with refused("R15", "credit_code", "region"):
        workflow.submit_destination(w.student, "75", {"company": "某某科技", "credit_code": "123",
                                                      "region": "999999"}, proof(), now=NOW)
    with refused("R15", "kind"):
        workflow.submit_destination(w.student, "70", {}, proof(), now=NOW)  # 待就业 is not a destination
    # 自由职业 needs no proof.
    assert workflow.submit_destination(w.student, "76", {"occupation": "自由撰稿", "region": "420111"},
                                       now=NOW).status == "submitted"


def test_destination_withdrawn_before_review_only(w):
    d = workflow.submit_destination(w.student, "80", further_study(), proof(), now=NOW)
    d = workflow.withdraw_destination(w.student, d, now=at(hours=1))
    assert d.status == "withdrawn"
    assert inbox(w.reviewer)[-1].subject == f"{w.student.name}撤回了其他去向登记"
    assert workflow.employment_status(w.student.id)["state"] == "未就业"
    d2 = workflow.submit_destination(w.student, "80", further_study(), proof(), now=at(hours=2))
    workflow.review_destination(w.reviewer, d2, True, now=at(hours=3))
    with pytest.raises(WorkflowError):
        workflow.withdraw_destination(w.student, d2, now=at(hours=4))
    assert reload(d2).status == "approved"


def test_destination_decline_needs_reason_and_frees_the_student(w):
    d = workflow.submit_destination(w.student, "80", further_study(), proof(), now=NOW)
    with refused("R9"):
        workflow.review_destination(w.reviewer, d, False, "  ", now=at(hours=1))
    with refused("R9"):
        workflow.review_destination(w.other_reviewer, d, True, now=at(hours=1))
    d = workflow.review_destination(w.reviewer, d, False, "录取通知书不清晰", now=at(hours=1))
    assert (d.status, d.review_reason) == ("declined", "录取通知书不清晰")
    pending = offer(w.employer, w.student, now=at(hours=2))
    assert workflow.accept(w.student, pending, now=at(hours=4)).status == "accepted"


def test_other_student_cannot_withdraw(w):
    d = workflow.submit_destination(w.student, "80", further_study(), proof(), now=NOW)
    with pytest.raises(WorkflowError):
        workflow.withdraw_destination(make_student(w.school), d, now=at(hours=1))
    assert reload(d).status == "submitted"


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

"""Other destinations (其他去向, docs/rules.md): the student registers 升学, 出国, 自由职业 … with
proof where its kind needs one; the school approves or declines; a live destination is the student's
one live outcome (R6) — straight on app.workflow."""
import pytest

from app import workflow
from tests.support.checks import events, inbox, refused, reload
from tests.support.factories import NOW, at, make_employer, make_student, offer, paper_agreement, proof


def further_study(**overrides):
    details = {"school": "华中科技大学", "major": "计算机科学与技术", "level": "硕士研究生"}
    details.update(overrides)
    return details


def test_student_registers_destination_and_school_approves(w):
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
def test_student_cannot_accept_record_or_register_while_destination_live(w, status):
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


def test_student_cannot_register_destination_without_details_or_proof_of_its_kind(w):
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


def test_student_may_withdraw_destination_only_before_review(w):
    d = workflow.submit_destination(w.student, "80", further_study(), proof(), now=NOW)
    d = workflow.withdraw_destination(w.student, d, now=at(hours=1))
    assert d.status == "withdrawn"
    assert inbox(w.reviewer)[-1].subject == f"{w.student.name}撤回了其他去向登记"
    assert workflow.employment_status(w.student.id)["state"] == "未就业"
    d2 = workflow.submit_destination(w.student, "80", further_study(), proof(), now=at(hours=2))
    workflow.review_destination(w.reviewer, d2, True, now=at(hours=3))
    with refused("R0") as info:
        workflow.withdraw_destination(w.student, d2, now=at(hours=4))
    assert info.value.message == "学校已审核的去向登记不能撤回"
    assert reload(d2).status == "approved"


def test_reviewer_declines_destination_with_reason_and_frees_the_student(w):
    d = workflow.submit_destination(w.student, "80", further_study(), proof(), now=NOW)
    with refused("R9"):
        workflow.review_destination(w.reviewer, d, False, "  ", now=at(hours=1))
    with refused("R9"):
        workflow.review_destination(w.other_reviewer, d, True, now=at(hours=1))
    d = workflow.review_destination(w.reviewer, d, False, "录取通知书不清晰", now=at(hours=1))
    assert (d.status, d.review_reason) == ("declined", "录取通知书不清晰")
    pending = offer(w.employer, w.student, now=at(hours=2))
    assert workflow.accept(w.student, pending, now=at(hours=4)).status == "accepted"


def test_other_student_cannot_withdraw_destination(w):
    d = workflow.submit_destination(w.student, "80", further_study(), proof(), now=NOW)
    other = make_student(w.school)
    with refused("R0") as info:
        workflow.withdraw_destination(other, d, now=at(hours=1))
    assert info.value.message == "只能撤回本人的去向登记"
    assert reload(d).status == "submitted"

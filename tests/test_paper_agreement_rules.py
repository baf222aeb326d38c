"""Paper agreement rules (R13, docs/rules.md): the student enters a signed paper agreement with its
scan; the school reviews it and numbers it with kind digit 2; its termination is the student's, with
the employer's release letter, straight to the school — straight on app.workflow."""
import os
from datetime import timedelta

from app import uploads, workflow
from app.extensions import db
from tests.support.checks import events, inbox, refused, reload, stored_files
from tests.support.factories import NOW, PNG_BYTES, accepted_offer, at, paper_agreement, paper_terms, proof

LATER = at(days=1)


def test_paper_agreement_recorded_reviewed_and_numbered_with_kind_2(w):
    agreement = paper_agreement(w.student)
    assert (agreement.kind, agreement.status, agreement.employer_id) == ("paper", "accepted", None)
    assert agreement.proof_path and os.path.exists(uploads.path_of(agreement.proof_path))
    assert events(agreement) == ["paper_record"]
    assert [n.subject for n in inbox(w.reviewer)] == [f"待审核：{w.student.name}的纸质协议书"]
    certified = workflow.certify(w.reviewer, agreement, now=at(hours=1))
    assert certified.number == "220261048600001"  # kind 2, year 2026, school 10486, first of the year
    assert workflow.employment_status(w.student.id)["category"] == "签就业协议形式就业（纸质签约）"


def test_student_cannot_record_paper_agreement_without_scan_or_valid_fields(w):
    with refused("R13", "proof"):
        workflow.record_paper_agreement(w.student, paper_terms(), None, now=NOW)
    with refused("R15", "employer_credit_code", "employer_name"):
        workflow.record_paper_agreement(
            w.student, paper_terms(employer_credit_code="91420111MA4K12345Y", employer_name=""), proof(), now=NOW)
    with refused("R15", "report_deadline"):
        workflow.record_paper_agreement(w.student, paper_terms(report_deadline=NOW.date()), proof(), now=NOW)


def test_student_cannot_record_paper_agreement_while_another_outcome_live(w):
    accepted_offer(w.employer, w.student)
    with refused("R6"):
        paper_agreement(w.student, now=at(days=1))


def test_restricted_student_cannot_record_paper_agreement(w):
    w.student.signing_restricted = True
    db.session.commit()
    with refused("R7"):
        paper_agreement(w.student)


def test_student_may_record_paper_agreement_again_after_decline(w):
    first = paper_agreement(w.student)
    workflow.decline(w.reviewer, first, "扫描件不清晰", now=at(hours=1))
    assert paper_agreement(w.student, now=at(hours=2)).status == "accepted"


def test_paper_termination_is_asked_by_student_with_proof_and_goes_to_school(w):
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


def test_refused_termination_request_stores_no_file(w):
    agreement = workflow.certify(w.reviewer, paper_agreement(w.student), now=at(hours=1))
    files = stored_files()
    with refused("R11"):
        workflow.request_termination(w.student, agreement, "解" * 201, proof=proof(), now=LATER)
    assert stored_files() == files

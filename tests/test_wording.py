"""Issue 18 item 5: the generated 解约 letters join whatever the user typed into clean sentences;
R12's refusal speaks to its reader (你的 / 该生的) from the one guard; 流程追踪 says 学校, not 管理员."""
import re

import pytest
from sqlalchemy import select

from app import labels, workflow
from app.extensions import db
from app.models import Notification
from tests.support.factories import accepted_offer


@pytest.mark.parametrize("typed, clause", [
    ("公司业务调整。", "公司业务调整"), ("  考研；\n", "考研"), ("个人原因，，", "个人原因"), ("协议。。", "协议"),
    ("家庭原因!", "家庭原因"), ("单位 原因", "单位 原因"), ("。", "。"),
])
def test_clause_drops_the_punctuation_a_sentence_ended_with(typed, clause):
    assert labels.clause(typed) == clause


def letter_text(page):
    """The letter's sentences without tags: what a reader sees joined."""
    letter = page[page.index('<div class="letter">'):]
    return re.sub(r"\s*<[^>]+>\s*", "", letter[:letter.index("</div>")])


def newest_notice(user):
    return db.session.scalar(select(Notification.body).where(Notification.user_id == user.id)
                             .order_by(Notification.id.desc()).limit(1))


def test_employer_letter_reads_cleanly_whatever_was_typed(client, login, signed):
    w = signed
    termination = workflow.request_termination(w.employer, w.agreement, "公司业务调整。")
    login(client, w.student_user.username)
    text = letter_text(client.get(f"/student/terminations/{termination.id}").get_data(as_text=True))
    assert "由于公司业务调整原因，决定与你解除编号" in text
    notice = newest_notice(w.student_user)
    assert "原因：公司业务调整。请在解约办理中查看" in notice and "。。" not in notice


def test_a_reason_that_says_原因_is_not_followed_by_a_second_one(client, login, signed):
    w = signed
    termination = workflow.request_termination(w.employer, w.agreement, "单位原因；")
    login(client, w.student_user.username)
    text = letter_text(client.get(f"/student/terminations/{termination.id}").get_data(as_text=True))
    assert "由于单位原因，决定与你解除编号" in text and "原因原因" not in text


def test_student_letter_reads_cleanly_whatever_was_typed(client, login, signed):
    w = signed
    termination = workflow.request_termination(w.student, w.agreement, "考取公务员，不能履行协议。")
    login(client, w.employer_user.username)
    text = letter_text(client.get(f"/employer/terminations/{termination.id}").get_data(as_text=True))
    assert "因考取公务员，不能履行协议，申请解除编号" in text and "。，" not in text
    notice = newest_notice(w.employer_user)
    assert "。。" not in notice and "原因：考取公务员，不能履行协议。请在解约办理中处理" in notice


def test_r12_tells_the_student_of_your_chances_and_the_others_of_the_students(w):
    first = accepted_offer(w.employer, w.student)
    workflow.certify(w.reviewer, first)
    termination = workflow.request_termination(w.student, first, "考研")
    workflow.agree_termination(w.employer, termination)
    workflow.approve_termination(w.reviewer, termination)
    second = accepted_offer(w.employer, w.student)
    workflow.certify(w.reviewer, second)
    told = {who: workflow.why_not("termination_request", actor, second)
            for who, actor in (("student", w.student), ("employer", w.employer))}
    assert told["student"].rule == "R12" and "你的解约机会已用完" in told["student"].message
    assert "该生的解约机会已用完" in told["employer"].message
    [(row, refusal)] = workflow.why_not_each("termination_request", w.student, [second]).items()
    assert "你的解约机会已用完" in refusal.message  # the list page asks the same guard


def test_r12_on_the_students_page_says_yours(client, login, w, app):
    agreement = accepted_offer(w.employer, w.student)
    workflow.certify(w.reviewer, agreement)
    app.config["TERMINATION_LIMIT"] = 0
    try:
        login(client, w.student_user.username)
        page = client.get("/student/terminations/").get_data(as_text=True)
    finally:
        app.config["TERMINATION_LIMIT"] = 1
    assert "你的解约机会已用完" in page and "该生" not in page


def test_flow_labels_name_the_school_not_an_administrator():
    assert labels.FLOW_ACTION["accept"] == "同意签约，待学校审核"
    assert labels.FLOW_ACTION["paper_record"] == "录入纸质协议书，待学校审核"
    assert not any("管理员" in text for text in labels.FLOW_ACTION.values())

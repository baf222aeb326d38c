"""网上就业市场 (docs/rules.md R16, R17), straight on app.workflow: every state change of a posting,
a school's hiding and an application, and every refusal with its rule; an application that becomes
an offer, which then follows R3–R8 unchanged."""
from datetime import timedelta

import pytest

from app import workflow
from app.models import InviteListEntry, JobApplication, JobPosting
from app.workflow import market
from tests.support.checks import count, events, inbox, refused, reload
from tests.support.factories import NOW, at, make_employer, make_student, valid_terms
from tests.support.market import make_application, make_posting, posting_values


# ---------------------------------------------------------------- postings (R16)

def test_employer_saves_draft_publishes_closes_and_reopens(w):
    posting = market.create_posting(w.employer, posting_values(), now=NOW)
    assert posting.status == "draft" and posting.published_at is None
    assert (posting.province_code, posting.city_code) == ("420000", "420100")
    posting = market.publish_posting(w.employer, posting, now=at(minutes=5))
    assert posting.status == "open" and workflow.posting_status(posting, at(days=1)) == "open"
    posting = market.close_posting(w.employer, posting, now=at(hours=1))
    assert posting.status == "offline"
    posting = market.reopen_posting(w.employer, posting, now=at(hours=2))
    assert posting.status == "open"
    assert events(posting) == ["posting_create", "posting_publish", "posting_close", "posting_reopen"]


def test_employer_that_may_not_offer_cannot_publish_r16(w):
    unapproved = make_employer()
    with refused("R16") as info:
        market.create_posting(unapproved, posting_values(), now=NOW)
    assert "审核" in info.value.message
    unconfirmed = make_employer(approved_by=w.school, confirmed=False)
    with refused("R16") as info:
        market.create_posting(unconfirmed, posting_values(), now=NOW)
    assert "签约信息确认" in info.value.message


@pytest.mark.parametrize("field,value", [
    ("title", ""), ("title", "职" * 101), ("title", "后端\n工程师"), ("title", "<b>急招</b>"),
    ("description", "<script>alert(1)</script>"), ("description", "描述\x07"), ("description", "字" * 2001),
    ("headcount", "0"), ("headcount", "三"), ("region", "999999"), ("job_category", "厨师"),
    ("education", "小学"), ("major_class", "厨艺学"), ("deadline", "2026-05-10"), ("deadline", "明天"),
    ("contact_phone", "12345"), ("salary_min", "-1"),
])
def test_bad_posting_field_is_refused_with_its_message_and_writes_nothing(w, field, value):
    with refused("R15", field):
        market.create_posting(w.employer, posting_values(**{field: value}), publish=True, now=NOW)


def test_salary_range_must_not_be_upside_down(w):
    with refused("R15", "salary_max"):
        market.create_posting(w.employer, posting_values(salary_min=20000, salary_max=9000), now=NOW)


def test_posting_closes_at_midnight_of_its_deadline_on_read_and_by_the_job(w):
    posting = make_posting(w.employer, deadline="2026-05-20")
    before, after = at(days=9, hours=14, minutes=59), at(days=9, hours=15)  # 24:00 Shanghai = 16:00 UTC
    assert workflow.posting_status(posting, before) == "open"
    assert workflow.posting_status(posting, after) == "closed"  # before any job ran
    student = w.student
    with refused("R16") as info:
        market.apply(student, posting, now=after)
    assert "截止" in info.value.message
    assert market.close_due(now=before) == 0
    assert market.close_due(now=after) == 1
    assert market.close_due(now=after) == 0  # safe to run twice
    assert reload(posting).status == "closed"
    assert events(posting)[-1] == "posting_expire"
    assert [n.subject for n in inbox(w.employer_user, "已截止")] == ["招聘职位已截止"]


def test_closed_posting_reopens_only_with_a_deadline_ahead(w):
    posting = make_posting(w.employer, status="closed")
    assert posting.status == "closed" or reload(posting).status == "closed"
    with refused("R16") as info:
        market.reopen_posting(w.employer, reload(posting), now=at(days=40))
    assert "截止日期" in info.value.message
    later = (NOW + timedelta(days=60)).date().isoformat()
    posting = market.update_posting(w.employer, reload(posting), posting_values(deadline=later), now=at(days=40))
    assert posting.status == "closed"
    assert market.reopen_posting(w.employer, posting, now=at(days=40)).status == "open"


def test_editing_an_overdue_open_posting_closes_it_first(w):
    posting = make_posting(w.employer, deadline="2026-05-20")
    later = (NOW + timedelta(days=60)).date().isoformat()
    posting = market.update_posting(w.employer, posting, posting_values(deadline=later), now=at(days=20))
    assert posting.status == "closed"  # R16: it had closed at its old deadline; 重新上线 opens it again
    assert events(posting)[-2:] == ["posting_expire", "posting_edit"]


def test_state_refusals_of_postings_carry_r16(w):
    draft = market.create_posting(w.employer, posting_values(), now=NOW)
    with refused("R16"):
        market.close_posting(w.employer, draft, now=NOW)
    with refused("R16"):
        market.reopen_posting(w.employer, draft, now=NOW)
    posting = make_posting(w.employer)
    with refused("R16"):
        market.publish_posting(w.employer, posting, now=NOW)


def test_employer_cannot_touch_another_employers_posting_r0(w):
    posting = make_posting(w.employer)
    other = make_employer(approved_by=w.school)
    for action in (market.close_posting, market.publish_posting, market.reopen_posting):
        with refused("R0"):
            action(other, posting, now=NOW)
    with refused("R0"):
        market.update_posting(other, posting, posting_values(title="改名"), now=NOW)


def test_unchanged_edit_is_refused(w):
    posting = make_posting(w.employer)
    with refused("R15"):
        market.update_posting(w.employer, posting, posting_values(), now=NOW)


# ---------------------------------------------------------------- a school hides a posting (R16)

def test_school_hides_posting_from_its_students_only_and_employer_sees_why(w):
    posting = make_posting(w.employer)
    other_student = make_student(w.other_school)
    hide = market.hide_posting(w.reviewer, posting, "岗位描述与实际不符", now=at(hours=1))
    assert hide.status == "hidden" and hide.school_id == w.school.id
    with refused("R16") as info:
        market.apply(w.student, posting, now=at(hours=2))
    assert "隐藏" in info.value.message
    assert market.apply(other_student, posting, now=at(hours=2)).status == "submitted"
    notice = inbox(w.employer_user, "隐藏")[0]
    assert "岗位描述与实际不符" in notice.body
    with refused("R16"):
        market.hide_posting(w.reviewer, posting, "再次隐藏", now=at(hours=3))
    with refused("R16"):
        market.unhide_posting(w.other_reviewer, hide, now=at(hours=3))
    assert market.unhide_posting(w.reviewer, hide, now=at(hours=4)).status == "shown"
    assert market.apply(w.student, posting, now=at(hours=5)).status == "submitted"
    assert market.hide_posting(w.reviewer, posting, "第二次", now=at(hours=6)).status == "hidden"
    assert events(posting)[-3:] == ["posting_hide", "posting_unhide", "posting_hide"]


def test_hiding_needs_a_reason_and_a_published_posting(w):
    posting = make_posting(w.employer)
    with refused("R16"):
        market.hide_posting(w.reviewer, posting, "  ", now=NOW)
    draft = make_posting(w.employer, status="draft")
    with refused("R16"):
        market.hide_posting(w.reviewer, draft, "不实", now=NOW)
    with refused("R9"):
        market.hide_posting(w.employer, posting, "不实", now=NOW)


# ---------------------------------------------------------------- applications (R17)

def test_graduate_applies_once_and_employer_is_told(w):
    posting = make_posting(w.employer)
    application = make_application(w.student, posting)
    assert application.status == "submitted" and application.employer_id == w.employer.id
    assert events(application) == ["application_submit"]
    assert inbox(w.employer_user, "新的求职投递")
    with refused("R17"):
        market.apply(w.student, posting, now=at(hours=3))


@pytest.mark.parametrize("block", [{"verified_at": None}, {"signing_restricted": True},
                                   {"training_mode": "targeted"}, {"plan_submitted": True}])
def test_graduate_who_may_not_sign_cannot_apply_r7(w, block):
    posting = make_posting(w.employer)
    student = make_student(w.school, **block)
    with refused("R7"):
        market.apply(student, posting, now=at(hours=1))


@pytest.mark.parametrize("status", ["draft", "offline", "closed"])
def test_graduate_cannot_apply_to_posting_not_open_r16(w, status):
    posting = make_posting(w.employer, status=status)
    with refused("R16"):
        market.apply(w.student, reload(posting), now=at(days=41 if status == "closed" else 0, hours=1))


def test_cover_note_is_plain_text_of_at_most_500_characters(w):
    posting = make_posting(w.employer)
    for note in ("字" * 501, "<a href=x>看这里</a>", "求职\x00信"):
        with refused("R15", "cover_note"):
            market.apply(w.student, posting, note, now=at(hours=1))


def test_employer_views_invites_to_interview_or_marks_unsuitable_and_graduate_is_told(w):
    posting = make_posting(w.employer)
    first, second = make_application(w.student, posting), make_application(make_student(w.school), posting)
    first = market.view_application(w.employer, first, now=at(hours=2))
    assert first.status == "viewed"
    assert market.view_application(w.employer, first, now=at(hours=3)).status == "viewed"  # once
    first = market.answer_application(w.employer, first, "application_interview", now=at(hours=4))
    assert first.status == "interview"
    second = market.answer_application(w.employer, second, "application_unsuitable", now=at(hours=4))
    assert second.status == "unsuitable"
    assert events(first) == ["application_submit", "application_view", "application_interview"]
    assert [n.subject for n in inbox(w.student_user)] == [f"{w.employer.name}查看了你的简历",
                                                          f"{w.employer.name}邀请你面试"]
    with refused("R17"):
        market.answer_application(w.employer, second, "application_interview", now=at(hours=5))
    with refused("R17"):
        market.shortlist(w.employer, second, now=at(hours=5))


def test_graduate_withdraws_until_the_employer_acted_r17(w):
    posting = make_posting(w.employer)
    application = make_application(w.student, posting)
    application = market.view_application(w.employer, application, now=at(hours=2))
    assert market.withdraw_application(w.student, application, now=at(hours=3)).status == "withdrawn"
    assert inbox(w.employer_user, "撤回")
    other = make_student(w.school)
    acted = market.answer_application(w.employer, make_application(other, posting), "application_interview",
                                      now=at(hours=4))
    with refused("R17") as info:
        market.withdraw_application(other, acted, now=at(hours=5))
    assert "邀请面试" in info.value.message


def test_nobody_acts_on_another_partys_application_r0(w):
    posting = make_posting(w.employer)
    application = make_application(w.student, posting)
    other_employer = make_employer(approved_by=w.school)
    with refused("R0"):
        market.answer_application(other_employer, application, "application_interview", now=at(hours=2))
    with refused("R0"):
        market.shortlist(other_employer, application, now=at(hours=2))
    with refused("R0"):
        market.withdraw_application(make_student(w.school), application, now=at(hours=2))


# ---------------------------------------------------------------- application → offer (R17, then R3–R8)

def test_application_becomes_an_offer_and_then_a_certified_agreement(w):
    posting = make_posting(w.employer)
    application = make_application(w.student, posting)
    entry = market.shortlist(w.employer, application, now=at(hours=2))
    assert (entry.student_id, entry.application_id) == (w.student.id, application.id)
    assert count(InviteListEntry) == 1
    agreement = workflow.invite(w.employer, [w.student], valid_terms(position=posting.title), now=at(hours=3))[0]
    application = reload(application)
    assert application.status == "offered" and application.agreement_id == agreement.id
    assert events(application)[-1] == "application_offer"
    # R5 unchanged: no acceptance within the cooling-off.
    with refused("R5"):
        workflow.accept(w.student, agreement, now=at(hours=3, minutes=10))
    agreement = workflow.accept(w.student, agreement, now=at(hours=5))
    agreement = workflow.certify(w.reviewer, agreement, now=at(hours=6))
    assert agreement.status == "certified" and agreement.number
    # R3 unchanged for a second offer; the application is no longer offerable.
    with refused("R17"):
        market.shortlist(w.employer, reload(application), now=at(hours=7))


def test_offer_from_search_does_not_touch_applications(w):
    posting = make_posting(w.employer)
    application = make_application(w.student, posting)
    workflow.invite(w.employer, [w.student], valid_terms(), now=at(hours=3))
    assert reload(application).status == "submitted"


def test_shortlist_needs_an_employer_that_may_offer_and_a_graduate_who_may_sign(w):
    posting = make_posting(w.employer)
    application = make_application(w.student, posting)
    w.student.signing_restricted = True
    from app.extensions import db

    db.session.commit()
    with refused("R7"):
        market.shortlist(w.employer, application, now=at(hours=2))


def test_refused_invite_leaves_the_application_as_it_was(w):
    posting = make_posting(w.employer)
    application = make_application(w.student, posting)
    market.shortlist(w.employer, application, now=at(hours=2))
    with refused("R15"):
        workflow.invite(w.employer, [w.student], valid_terms(salary="很多"), now=at(hours=3))
    assert reload(application).status == "submitted" and count(JobApplication, JobApplication.agreement_id.isnot(None)) == 0


def test_why_not_each_answers_rows_of_applications_like_why_not(w):
    posting = make_posting(w.employer)
    rows = [make_application(make_student(w.school), posting) for _ in range(3)]
    market.answer_application(w.employer, rows[1], "application_unsuitable", now=at(hours=2))
    rows = [reload(r) for r in rows]
    each = workflow.why_not_each("application_offer", w.employer, rows, at(hours=3))
    assert each == {r: workflow.why_not("application_offer", w.employer, r, at(hours=3)) for r in rows}
    assert [each[r] and each[r].rule for r in rows] == [None, "R17", None]
    assert count(JobPosting) == 1

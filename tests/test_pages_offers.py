"""The offer pages through the web client (manual §2.3 签约): the employer searches, lists and invites
through the preview; the student reads the letter and accepts or rejects; the school reviews; then bad
input. Offers here are sent at the real time (send_offer), as the pages' own clock runs."""
import re

import pytest
from sqlalchemy import select

from app import workflow
from app.extensions import db
from app.models import Agreement, FlowEvent, InviteListEntry, Notification
from tests.support.checks import count
from tests.support.factories import GRADUATION_YEAR, make_employer, make_student, valid_terms
from tests.support.scenes import scene


@pytest.fixture
def world():
    """武汉大学 with its reviewer, 星光集团 (approved) and the student 黄河水, with logins."""
    return scene(student={"name": "黄河水"}, employer={"name": "星光集团"})


def form_of(terms):
    out = {}
    for key, value in terms.items():
        out[key] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return out


def search(client, school, student, key):
    return client.get("/employer/search", query_string={
        "school_id": school.id, "year": student.graduation_year, "name": student.name, "key": key})


def add_to_list(client, page_html):
    token = re.search(r'name="token" value="([^"]+)"', page_html).group(1)
    return client.post("/employer/list/add", data={"token": token}, follow_redirects=True)


def test_employer_searches_adds_and_sends_offer_through_preview(client, login, world):
    school, student = world.school, world.student
    login(client, world.employer_user.username)

    page = search(client, school, student, student.phone).get_data(as_text=True)
    assert "黄河水" in page
    assert student.id_number not in page  # R2: masked
    assert student.id_number[:6] + "********" + student.id_number[-4:] in page
    listed = add_to_list(client, page).get_data(as_text=True)
    assert "已加入签约发送列表" in listed and "黄河水" in listed

    form = client.get(f"/employer/invite?ids={student.id}").get_data(as_text=True)
    assert "邀请函" in form and "签约信息" in form
    terms = form_of(valid_terms())
    preview = client.post("/employer/invite", data={**terms, "ids": student.id, "step": "preview"})
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "确认发送" in text and "软件工程师" in text
    assert count(Agreement) == 0  # the preview writes nothing

    done = client.post("/employer/invite", data={**terms, "ids": student.id, "step": "confirm"},
                       follow_redirects=True)
    assert "邀约发送成功" in done.get_data(as_text=True)
    agreement = db.session.scalar(select(Agreement))
    assert agreement.status == "pending" and agreement.student_id == student.id
    assert "黄河水" in client.get("/employer/offers/?tab=pending").get_data(as_text=True)


def test_search_needs_all_four_fields_and_hides_blocked_students(client, login, world):
    school, student = world.school, world.student
    login(client, world.employer_user.username)
    assert 'name="token"' not in search(client, school, student, "13900000000").get_data(as_text=True)
    wrong = client.get("/employer/search", query_string={
        "school_id": school.id, "year": GRADUATION_YEAR + 1, "name": student.name, "key": student.phone})
    assert 'name="token"' not in wrong.get_data(as_text=True)
    assert 'name="token"' in search(client, school, student, student.id_number).get_data(as_text=True)
    bad_id = search(client, school, student, student.id_number[:-1] + ("0" if student.id_number[-1] != "0" else "1"))
    assert "身份证号或手机号格式不正确" in bad_id.get_data(as_text=True)  # checksum checked by stdnum
    blocked = make_student(school, name="限制生", signing_restricted=True)
    assert 'name="token"' not in search(client, school, blocked, blocked.phone).get_data(as_text=True)


def test_offer_form_shows_field_errors_and_writes_nothing(client, login, world):
    student = world.student
    login(client, world.employer_user.username)
    db.session.add(InviteListEntry(employer_id=world.employer.id, student_id=student.id))
    db.session.commit()
    bad = form_of(valid_terms(salary="abc", probation_days=200, contact_phone="123"))
    response = client.post("/employer/invite", data={**bad, "ids": student.id, "step": "confirm"})
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "转正起薪须为整数" in text and "试用期不能大于180" in text and "联系电话格式不正确" in text
    assert count(Agreement) == 0 and count(FlowEvent) == 0 and count(Notification) == 0
    # The form comes back with what was chosen: each region select keeps its one selected option.
    for name in ("report_region", "work_region"):
        select = text.split(f'name="{name}">', 1)[1].split("</select>", 1)[0]
        assert select.count(" selected") == 1 and f'value="{bad[name]}" selected>' in select


def test_employer_cannot_invite_student_not_on_own_list(client, login, world):
    login(client, world.employer_user.username)
    terms = form_of(valid_terms())
    response = client.post("/employer/invite", data={**terms, "ids": world.student.id, "step": "confirm"})
    assert response.status_code == 404
    assert count(Agreement) == 0


def send_offer(world):
    """world.employer lists world.student and sends an offer at the real time (the pages' clock)."""
    db.session.add(InviteListEntry(employer_id=world.employer.id, student_id=world.student.id))
    db.session.commit()
    [agreement] = workflow.invite(world.employer, [world.student], valid_terms())
    return agreement


def test_student_sees_todo_and_accepts_after_reading_notice(client, login, world, no_cooling_off):
    agreement = send_offer(world)
    login(client, world.student_user.username)
    home = client.get("/student/").get_data(as_text=True)
    assert "邀约待办" in home and re.search(r">\s*1\s*</a> 个", home)
    letter = client.get(f"/student/offers/{agreement.id}").get_data(as_text=True)
    assert "签约前必读" in letter and "现在签约" in letter and "星光集团" in letter

    without_tick = client.post(f"/student/offers/{agreement.id}/accept", follow_redirects=True)
    assert "请先阅读签约前必读" in without_tick.get_data(as_text=True)
    assert db.session.get(Agreement, agreement.id).status == "pending"

    done = client.post(f"/student/offers/{agreement.id}/accept", data={"agree": "1"}, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "签约成功" in text and "流程追踪" in text and "同意签约，待学校审核" in text
    assert db.session.get(Agreement, agreement.id).status == "accepted"


def test_student_cannot_accept_within_cooling_off_on_the_page(client, login, world):
    agreement = send_offer(world)
    login(client, world.student_user.username)
    response = client.post(f"/student/offers/{agreement.id}/accept", data={"agree": "1"}, follow_redirects=True)
    assert "冷静期" in response.get_data(as_text=True)
    assert db.session.get(Agreement, agreement.id).status == "pending"


def test_student_rejects_offer_from_the_letter(client, login, world):
    agreement = send_offer(world)
    login(client, world.student_user.username)
    client.post(f"/student/offers/{agreement.id}/reject", follow_redirects=True)
    assert db.session.get(Agreement, agreement.id).status == "rejected"


def test_other_offers_are_view_only_while_one_is_live(client, login, world, no_cooling_off):
    first = send_offer(world)
    other_employer = make_employer(approved_by=world.school)
    [second] = workflow.invite(other_employer, [world.student], valid_terms())
    workflow.accept(world.student, first)
    login(client, world.student_user.username)
    page = client.get(f"/student/offers/{second.id}").get_data(as_text=True)
    assert "其他邀请函只能查看" in page and "现在签约" not in page


def test_reviewer_certifies_declines_and_withdraws(client, login, world, no_cooling_off):
    agreement = send_offer(world)
    workflow.accept(world.student, agreement)
    login(client, world.reviewer.username)
    listing = client.get("/school/review/").get_data(as_text=True)
    assert "黄河水" in listing and "待审核" in listing
    detail = client.get(f"/school/review/{agreement.id}").get_data(as_text=True)
    assert "签约审核通过" in detail and world.student.id_number in detail  # own school: unmasked

    client.post(f"/school/review/{agreement.id}/certify", follow_redirects=True)
    certified = db.session.get(Agreement, agreement.id)
    assert certified.status == "certified"
    assert certified.number == f"1{GRADUATION_YEAR}{world.school.code}00001"

    refused = client.post(f"/school/review/{agreement.id}/withdraw", data={"reason": ""}, follow_redirects=True)
    assert "请填写撤回审核原因" in refused.get_data(as_text=True)
    client.post(f"/school/review/{agreement.id}/withdraw", data={"reason": "协议书内容有误"})
    assert db.session.get(Agreement, agreement.id).status == "accepted"
    no_reason = client.post(f"/school/review/{agreement.id}/decline", data={"reason": " "}, follow_redirects=True)
    assert "请填写审核不通过原因" in no_reason.get_data(as_text=True)
    client.post(f"/school/review/{agreement.id}/decline", data={"reason": "虚假签约"})
    declined = db.session.get(Agreement, agreement.id)
    assert declined.status == "declined" and declined.number == certified.number


def test_reviewer_bulk_certifies_selected_rows(client, login, world, no_cooling_off):
    agreements = []
    for i in range(3):
        student = make_student(world.school)
        [a] = workflow.invite(world.employer, [student], valid_terms())
        workflow.accept(student, a)
        agreements.append(a)
    login(client, world.reviewer.username)
    response = client.post("/school/review/bulk-certify", data={"ids": [a.id for a in agreements[:2]]},
                           follow_redirects=True)
    assert "2份协议书签约审核通过" in response.get_data(as_text=True)
    statuses = [db.session.get(Agreement, a.id).status for a in agreements]
    assert statuses == ["certified", "certified", "accepted"]


def test_employer_amends_accepted_offer_and_student_answers_again(client, login, world, no_cooling_off):
    agreement = send_offer(world)
    workflow.accept(world.student, agreement)
    login(client, world.employer_user.username)
    form = form_of(valid_terms(position="高级软件工程师"))
    client.post(f"/employer/offers/{agreement.id}/amend", data=form, follow_redirects=True)
    amended = db.session.get(Agreement, agreement.id)
    assert amended.status == "pending" and amended.position == "高级软件工程师"
    detail = client.get(f"/employer/offers/{agreement.id}").get_data(as_text=True)
    assert "修改邀约" in detail


def test_student_cannot_accept_terms_changed_after_reading(client, login, world, no_cooling_off):
    agreement = send_offer(world)
    login(client, world.student_user.username)
    letter = client.get(f"/student/offers/{agreement.id}").get_data(as_text=True)
    version = re.search(r'name="version" value="([^"]+)"', letter).group(1)
    workflow.amend(world.employer, agreement, valid_terms(salary=20000, probation_salary=16000),
                   now=agreement.updated_at.replace(tzinfo=__import__("datetime").timezone.utc)
                   + __import__("datetime").timedelta(seconds=1))
    response = client.post(f"/student/offers/{agreement.id}/accept", data={"agree": "1", "version": version},
                           follow_redirects=True)
    assert "请重新阅读后再应约" in response.get_data(as_text=True)
    assert db.session.get(Agreement, agreement.id).status == "pending"


def test_batch_invite_from_list_opens_prefilled_form(client, login, world):
    other = make_student(world.school)
    for student in (world.student, other):
        db.session.add(InviteListEntry(employer_id=world.employer.id, student_id=student.id))
    db.session.commit()
    login(client, world.employer_user.username)
    response = client.post("/employer/invite", data={"ids": [world.student.id, other.id]})
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "邀请函" in text and "请输入" in text
    assert "field-error" not in text and count(Agreement) == 0



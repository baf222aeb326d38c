"""The termination pages through the web client (manual §2.4 解约办理): the student's and the
employer's requests, the other party's answer, the school's review and the employer's signed list."""
import io

from sqlalchemy import select

from app.extensions import db
from app.models import Agreement, Termination
from tests.support.checks import count
from tests.support.web import switch


def test_student_termination_through_the_pages(client, login, signed):
    w = signed
    login(client, w.student_user.username)
    page = client.get("/student/terminations/").get_data(as_text=True)
    assert w.agreement.number in page and "解约申请" in page and "解约须知" in page
    url = f"/student/terminations/request/{w.agreement.id}"
    # Without ticking 解约须知 nothing is sent.
    client.post(url, data={"reason": "考取公务员"})
    assert count(Termination) == 0
    response = client.post(url, data={"agree": "1", "reason": "考取公务员"}, follow_redirects=True)
    assert "等待单位处理" in response.get_data(as_text=True)
    t = db.session.scalar(select(Termination))
    assert (t.initiator, t.status) == ("student", "requested")

    switch(client, w.employer_user)
    home = client.get("/employer/").get_data(as_text=True)
    assert "解约待办" in home
    todo = client.get("/employer/terminations/?tab=todo").get_data(as_text=True)
    assert w.student.name in todo and "查看解约申请" in todo
    letter = client.get(f"/employer/terminations/{t.id}").get_data(as_text=True)
    assert "学生解除协议申请" in letter and "考取公务员" in letter and "暂不处理" in letter
    client.post(f"/employer/terminations/{t.id}/agree", data={"remark": "同意，祝前程似锦"})
    assert db.session.get(Termination, t.id).status == "agreed"

    switch(client, w.reviewer)
    queue = client.get("/school/terminations/").get_data(as_text=True)
    assert "等待解约审核" in queue and w.student.student_no in queue
    detail = client.get(f"/school/terminations/{t.id}").get_data(as_text=True)
    assert "考取公务员" in detail and "同意，祝前程似锦" in detail and "流程追踪" in detail
    client.post(f"/school/terminations/{t.id}/approve")
    assert db.session.get(Agreement, w.agreement.id).status == "terminated"

    switch(client, w.student_user)
    home = client.get("/student/").get_data(as_text=True)
    assert "未就业" in home


def test_employer_termination_with_notice_and_student_answer(client, login, signed):
    w = signed
    login(client, w.employer_user.username)
    signed = client.get("/employer/terminations/?tab=signed").get_data(as_text=True)
    assert w.agreement.number in signed and "申请解约" in signed
    # Filters: a wrong ID number finds nothing, the right one finds the row.
    assert w.agreement.number not in client.get(
        "/employer/terminations/?tab=signed&id_number=110101199001011234").get_data(as_text=True)
    assert w.agreement.number in client.get(
        f"/employer/terminations/?tab=signed&id_number={w.student.id_number}").get_data(as_text=True)
    client.post("/employer/terminations/request", data={"ids": [w.agreement.id], "agree": "1", "reason": "单位原因"})
    t = db.session.scalar(select(Termination))
    assert (t.initiator, t.status, t.reason) == ("employer", "requested", "单位原因")

    switch(client, w.student_user)
    assert "1</a> 个" in client.get("/student/").get_data(as_text=True).replace("\n", "")
    letter = client.get(f"/student/terminations/{t.id}").get_data(as_text=True)
    assert "单位解约通知" in letter and "单位原因" in letter and w.agreement.number in letter
    client.post(f"/student/terminations/{t.id}/agree")
    assert db.session.get(Termination, t.id).status == "agreed"


def test_termination_reason_over_200_characters_is_refused_on_the_page(client, login, signed):
    w = signed
    login(client, w.student_user.username)
    response = client.post(f"/student/terminations/request/{w.agreement.id}",
                           data={"agree": "1", "reason": "解" * 201}, follow_redirects=True)
    assert "不能超过200个字" in response.get_data(as_text=True)
    assert count(Termination) == 0


def test_employer_exports_signed_list_with_filters_and_formula_safe_cells(client, login, signed):
    import openpyxl

    w = signed
    login(client, w.employer_user.username)
    page = client.get(f"/employer/terminations/?tab=signed&name={w.student.name}").get_data(as_text=True)
    assert "导出列表" in page
    response = client.get(f"/employer/terminations/export?name={w.student.name}")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.values)
    assert rows[0][:3] == ("院校名称", "姓名", "身份证号") and len(rows) == 2
    assert rows[1][1] == w.student.name and "*" in rows[1][2]  # masked as on screen
    empty = client.get("/employer/terminations/export?name=不存在的人")
    assert len(list(openpyxl.load_workbook(io.BytesIO(empty.data)).active.values)) == 1

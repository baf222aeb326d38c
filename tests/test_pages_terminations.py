"""The termination, paper-agreement and destination pages through the web client (manual §2.4,
纸质签约, 其他去向): each role's screens call the workflow, scoped to its own party."""
import io

import pytest
from sqlalchemy import select

from app import workflow
from app.extensions import db
from app.models import Agreement, Destination, Termination
from tests.support.checks import count
from tests.support.factories import (
    PDF_BYTES,
    logout,
    certified_offer,
    make_employer,
    make_reviewer,
    make_school,
    make_student,
    make_user,
    paper_terms,
    proof,
)


@pytest.fixture
def world(app):
    """Two schools; in each a student with a certified agreement, a free student, logins."""
    app.config["COOLING_OFF_MINUTES"] = 0
    worlds = []
    for code, name in (("10486", "武汉大学"), ("10487", "华中科技大学")):
        school = make_school(code, name)
        reviewer = make_reviewer(school)
        signed, free = make_student(school), make_student(school)
        employer = make_employer(approved_by=school)
        agreement = certified_offer(employer, signed, reviewer, sent=None)
        worlds.append({
            "school": school, "reviewer": reviewer, "signed": signed, "free": free, "employer": employer,
            "agreement": agreement,
            "users": {"employer": make_user("employer", employer), "signed": make_user("student", signed),
                      "free": make_user("student", free), "school": reviewer},
        })
    yield worlds
    app.config["COOLING_OFF_MINUTES"] = 60


def switch(client, login, user):
    logout(client)
    login(client, user.username)


def form_with_file(fields, data=PDF_BYTES, name="scan.pdf"):
    payload = dict(fields)
    payload["proof"] = (io.BytesIO(data), name)
    return payload


def test_student_termination_through_the_pages(client, login, world):
    w = world[0]
    login(client, w["users"]["signed"].username)
    page = client.get("/student/terminations/").get_data(as_text=True)
    assert w["agreement"].number in page and "解约申请" in page and "解约须知" in page
    url = f"/student/terminations/request/{w['agreement'].id}"
    # Without ticking 解约须知 nothing is sent.
    client.post(url, data={"reason": "考取公务员"})
    assert count(Termination) == 0
    response = client.post(url, data={"agree": "1", "reason": "考取公务员"}, follow_redirects=True)
    assert "等待单位处理" in response.get_data(as_text=True)
    t = db.session.scalar(select(Termination))
    assert (t.initiator, t.status) == ("student", "requested")

    switch(client, login, w["users"]["employer"])
    home = client.get("/employer/").get_data(as_text=True)
    assert "解约待办" in home
    todo = client.get("/employer/terminations/?tab=todo").get_data(as_text=True)
    assert w["signed"].name in todo and "查看解约申请" in todo
    letter = client.get(f"/employer/terminations/{t.id}").get_data(as_text=True)
    assert "学生解除协议申请" in letter and "考取公务员" in letter and "暂不处理" in letter
    client.post(f"/employer/terminations/{t.id}/agree", data={"remark": "同意，祝前程似锦"})
    assert db.session.get(Termination, t.id).status == "agreed"

    switch(client, login, w["users"]["school"])
    queue = client.get("/school/terminations/").get_data(as_text=True)
    assert "等待解约审核" in queue and w["signed"].student_no in queue
    detail = client.get(f"/school/terminations/{t.id}").get_data(as_text=True)
    assert "考取公务员" in detail and "同意，祝前程似锦" in detail and "流程追踪" in detail
    client.post(f"/school/terminations/{t.id}/approve")
    assert db.session.get(Agreement, w["agreement"].id).status == "terminated"

    switch(client, login, w["users"]["signed"])
    home = client.get("/student/").get_data(as_text=True)
    assert "未就业" in home


def test_employer_termination_with_notice_and_student_answer(client, login, world):
    w = world[0]
    login(client, w["users"]["employer"].username)
    signed = client.get("/employer/terminations/?tab=signed").get_data(as_text=True)
    assert w["agreement"].number in signed and "申请解约" in signed
    # Filters: a wrong ID number finds nothing, the right one finds the row.
    assert w["agreement"].number not in client.get(
        "/employer/terminations/?tab=signed&id_number=110101199001011234").get_data(as_text=True)
    assert w["agreement"].number in client.get(
        f"/employer/terminations/?tab=signed&id_number={w['signed'].id_number}").get_data(as_text=True)
    client.post("/employer/terminations/request", data={"ids": [w["agreement"].id], "agree": "1", "reason": "单位原因"})
    t = db.session.scalar(select(Termination))
    assert (t.initiator, t.status, t.reason) == ("employer", "requested", "单位原因")

    switch(client, login, w["users"]["signed"])
    assert "1</a> 个" in client.get("/student/").get_data(as_text=True).replace("\n", "")
    letter = client.get(f"/student/terminations/{t.id}").get_data(as_text=True)
    assert "单位解约通知" in letter and "单位原因" in letter and w["agreement"].number in letter
    client.post(f"/student/terminations/{t.id}/agree")
    assert db.session.get(Termination, t.id).status == "agreed"


def test_refusals_show_the_rule_and_write_nothing(client, login, world):
    w = world[0]
    login(client, w["users"]["signed"].username)
    response = client.post(f"/student/terminations/request/{w['agreement'].id}",
                           data={"agree": "1", "reason": "解" * 201}, follow_redirects=True)
    assert "不能超过200个字" in response.get_data(as_text=True)
    assert count(Termination) == 0


def test_paper_agreement_entered_with_scan_and_reviewed(client, login, world):
    w = world[0]
    login(client, w["users"]["free"].username)
    assert "录入协议书" in client.get("/student/paper/").get_data(as_text=True)
    fields = {k: str(v) for k, v in paper_terms().items() if v is not None}
    # Wrong type by content (an executable named .pdf): clear error, nothing written or stored.
    response = client.post("/student/paper/new", data=form_with_file(fields, b"MZ\x90\x00evil", "scan.pdf"),
                           content_type="multipart/form-data")
    assert "PDF、JPG 或 PNG" in response.get_data(as_text=True)
    assert count(Agreement, Agreement.kind == "paper") == 0
    response = client.post("/student/paper/new", data=form_with_file(fields), content_type="multipart/form-data",
                           follow_redirects=True)
    assert "等待学校老师审核" in response.get_data(as_text=True)
    paper = db.session.scalar(select(Agreement).where(Agreement.kind == "paper"))
    assert paper.status == "accepted" and paper.student_id == w["free"].id
    # The live outcome hides the button and says why (FAQ 4).
    page = client.get("/student/paper/").get_data(as_text=True)
    assert "不能录入协议书" in page and 'href="/student/paper/new"' not in page
    assert client.get(f"/student/files/agreement/{paper.id}").data == PDF_BYTES

    switch(client, login, w["users"]["school"])
    review = client.get(f"/school/review/{paper.id}").get_data(as_text=True)
    assert "纸质协议书扫描件" in review
    scan = client.get(f"/school/files/agreement/{paper.id}")
    assert scan.status_code == 200 and scan.mimetype == "application/pdf"
    client.post(f"/school/review/{paper.id}/certify")
    assert db.session.get(Agreement, paper.id).number.startswith("2")


def test_destination_registered_blocks_offers_and_is_reviewed(client, login, world):
    w = world[0]
    login(client, w["users"]["free"].username)
    data = {"kind": "80", "80-school": "华中科技大学", "80-major": "软件工程", "80-level": "硕士研究生"}
    response = client.post("/student/destinations/", data=form_with_file(data), content_type="multipart/form-data",
                           follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "等待学校老师审核" in text and "华中科技大学" in text
    d = db.session.scalar(select(Destination))
    assert d.status == "submitted"
    # 升学 without the school: refused with the field named, nothing written.
    client.post(f"/student/destinations/{d.id}/withdraw")
    assert db.session.get(Destination, d.id).status == "withdrawn"
    response = client.post("/student/destinations/", data=form_with_file({"kind": "80", "80-major": "软件工程"}),
                           content_type="multipart/form-data")
    assert "请输入升学院校" in response.get_data(as_text=True)
    assert count(Destination) == 1
    client.post("/student/destinations/", data=form_with_file(data), content_type="multipart/form-data")
    d = db.session.scalar(select(Destination).where(Destination.status == "submitted"))

    switch(client, login, w["users"]["school"])
    queue = client.get("/school/destinations/").get_data(as_text=True)
    assert w["free"].name in queue and "升学" in queue
    assert "华中科技大学" in client.get(f"/school/destinations/{d.id}").get_data(as_text=True)
    client.post(f"/school/destinations/{d.id}/review", data={"decision": "decline"})
    assert db.session.get(Destination, d.id).status == "submitted"  # a decline needs a reason
    client.post(f"/school/destinations/{d.id}/review", data={"decision": "approve"})
    assert db.session.get(Destination, d.id).status == "approved"

    switch(client, login, w["users"]["free"])
    home = client.get("/student/").get_data(as_text=True)
    assert "已落实去向" in home and "升学" in home


def _foreign_rows(other):
    """A termination, a destination and a paper agreement in the other world."""
    t = workflow.request_termination(other["signed"], other["agreement"], "考取公务员")
    d = workflow.submit_destination(other["free"], "80", {"school": "武汉大学", "major": "法学", "level": "硕士研究生"},
                                    proof())
    return t, d


FOREIGN = [
    ("employer", "GET", "/employer/terminations/{t}"),
    ("employer", "POST", "/employer/terminations/{t}/agree"),
    ("employer", "POST", "/employer/terminations/request"),
    ("signed", "GET", "/student/terminations/{t}"),
    ("signed", "POST", "/student/terminations/{t}/agree"),
    ("signed", "POST", "/student/terminations/request/{a}"),
    ("signed", "GET", "/student/files/destination/{d}"),
    ("signed", "POST", "/student/destinations/{d}/withdraw"),
    ("signed", "GET", "/student/paper/{a}"),
    ("school", "GET", "/school/terminations/{t}"),
    ("school", "POST", "/school/terminations/{t}/approve"),
    ("school", "POST", "/school/terminations/{t}/refuse"),
    ("school", "GET", "/school/destinations/{d}"),
    ("school", "POST", "/school/destinations/{d}/review"),
    ("school", "GET", "/school/files/destination/{d}"),
]


@pytest.mark.parametrize("who,method,url", FOREIGN, ids=[f"{w}-{m}-{u}" for w, m, u in FOREIGN])
def test_other_partys_flow_rows_are_404(client, login, world, who, method, url):
    mine, other = world
    t, d = _foreign_rows(other)
    login(client, mine["users"][who].username)
    url = url.format(t=t.id, d=d.id, a=other["agreement"].id)
    form = {"ids": other["agreement"].id, "agree": "1", "reason": "x", "decision": "approve"}
    response = client.get(url) if method == "GET" else client.post(url, data=form)
    assert response.status_code == 404, (url, response.status_code)
    assert db.session.get(Termination, t.id).status == "requested"
    assert db.session.get(Destination, d.id).status == "submitted"
    assert count(Termination) == 1


def test_employer_exports_signed_list_with_filters_and_formula_safe_cells(client, login, world):
    import openpyxl

    w = world[0]
    login(client, w["users"]["employer"].username)
    page = client.get(f"/employer/terminations/?tab=signed&name={w['signed'].name}").get_data(as_text=True)
    assert "导出列表" in page
    response = client.get(f"/employer/terminations/export?name={w['signed'].name}")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.values)
    assert rows[0][:3] == ("院校名称", "姓名", "身份证号") and len(rows) == 2
    assert rows[1][1] == w["signed"].name and "*" in rows[1][2]  # masked as on screen
    empty = client.get("/employer/terminations/export?name=不存在的人")
    assert len(list(openpyxl.load_workbook(io.BytesIO(empty.data)).active.values)) == 1

"""Paper agreements and other destinations through the web client (manual 纸质签约, 其他去向): the
student enters them with a scan, the school reviews them; a live one hides the other entries."""
from sqlalchemy import select

from app.extensions import db
from app.models import Agreement, Destination
from tests.support.checks import count
from tests.support.factories import PDF_BYTES, paper_terms
from tests.support.web import form_with_file, switch


def test_paper_agreement_entered_with_scan_and_reviewed(client, login, w):
    login(client, w.student_user.username)
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
    assert paper.status == "accepted" and paper.student_id == w.student.id
    # The live outcome hides the button and says why (FAQ 4).
    page = client.get("/student/paper/").get_data(as_text=True)
    assert "不能录入协议书" in page and 'href="/student/paper/new"' not in page
    assert client.get(f"/student/files/agreement/{paper.id}").data == PDF_BYTES

    switch(client, w.reviewer)
    review = client.get(f"/school/review/{paper.id}").get_data(as_text=True)
    assert "纸质协议书扫描件" in review
    scan = client.get(f"/school/files/agreement/{paper.id}")
    assert scan.status_code == 200 and scan.mimetype == "application/pdf"
    client.post(f"/school/review/{paper.id}/certify")
    assert db.session.get(Agreement, paper.id).number == "220261048600001"  # kind digit 2 (R9)


def test_destination_registered_blocks_offers_and_is_reviewed(client, login, w):
    login(client, w.student_user.username)
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

    switch(client, w.reviewer)
    queue = client.get("/school/destinations/").get_data(as_text=True)
    assert w.student.name in queue and "升学" in queue
    assert "华中科技大学" in client.get(f"/school/destinations/{d.id}").get_data(as_text=True)
    client.post(f"/school/destinations/{d.id}/review", data={"decision": "decline"})
    assert db.session.get(Destination, d.id).status == "submitted"  # a decline needs a reason
    client.post(f"/school/destinations/{d.id}/review", data={"decision": "approve"})
    assert db.session.get(Destination, d.id).status == "approved"

    switch(client, w.student_user)
    home = client.get("/student/").get_data(as_text=True)
    assert "已落实去向" in home and "升学" in home

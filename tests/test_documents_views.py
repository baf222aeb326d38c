"""协议书下载 (DocumentView) and 协议书查验 (/verify) through the web (issue 6)."""
import os
import shutil
from datetime import timedelta

import pytest

from app import workflow
from app.extensions import db
from tests.support.factories import NOW, accepted_offer, logout, make_employer, make_user, offer
from tests.support.scenes import scene
from tests.support.web import redirect_of

pytestmark = pytest.mark.skipif(not shutil.which("wkhtmltopdf") and not os.environ.get("CI"),
                                reason="wkhtmltopdf not installed (make deb)")


def url(agreement):
    return f"/documents/agreement/{agreement.id}.pdf"


@pytest.fixture
def worlds():
    """Two schools, each with a student, an employer and a reviewer (logins); the first world's
    student holds a certified agreement (worlds[0].agreement)."""
    return [scene("certified", student={"name": "武汉同学"}, employer={"name": "武汉星光科技有限公司"}),
            scene(school="10487", student={"name": "华中同学"}, employer={"name": "华中星光科技有限公司"})]


@pytest.mark.parametrize("role", ["student", "employer", "school"])
def test_each_party_downloads_the_certified_pdf(client, login, worlds, role):
    mine = worlds[0]
    login(client, mine.logins[role].username)
    response = client.get(url(mine.agreement))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and mine.agreement.number in disposition
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize("role", ["student", "employer", "school"])
def test_other_schools_parties_get_404_for_the_pdf(client, login, worlds, role):
    other = worlds[1]
    login(client, other.logins[role].username)
    response = client.get(url(worlds[0].agreement))
    assert response.status_code == 404 and not response.data.startswith(b"%PDF")


def test_another_employer_of_the_same_school_gets_404(client, login, worlds):
    mine = worlds[0]
    rival = make_employer(approved_by=mine.school)
    login(client, make_user("employer", rival).username)
    assert client.get(url(mine.agreement)).status_code == 404


def test_province_and_anonymous_cannot_download_the_pdf(client, login, worlds):
    response = client.get(url(worlds[0].agreement))
    assert redirect_of(response) == (302, f"/login/?next={url(worlds[0].agreement)}")
    login(client, make_user("province").username)
    response = client.get(url(worlds[0].agreement))
    assert response.status_code == 403 and not response.data.startswith(b"%PDF")


def test_unknown_agreement_is_404(client, login, worlds):
    login(client, worlds[0].student_user.username)
    assert client.get("/documents/agreement/999999.pdf").status_code == 404


def test_pending_offer_has_no_document(client, login, worlds):
    other = worlds[1]
    pending = offer(other.employer, other.student)
    for role in ("student", "employer", "school"):
        login(client, other.logins[role].username)
        assert client.get(url(pending)).status_code == 404
        logout(client)


def test_accepted_agreement_is_a_preview_for_the_parties(client, login, worlds, tmp_path):
    from tests.support.pdf import normalize, pdf_text

    other = worlds[1]
    agreement = accepted_offer(other.employer, other.student)
    login(client, other.student_user.username)
    response = client.get(url(agreement) + "?inline=1")
    assert response.status_code == 200 and response.headers["Content-Disposition"].startswith("inline;")
    assert "未生效" in normalize(pdf_text(response.data, tmp_path))


def test_render_failure_shows_a_chinese_message_not_500(client, login, worlds, app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "WKHTMLTOPDF", str(tmp_path / "no-such-wkhtmltopdf"))
    login(client, worlds[0].student_user.username)
    response = client.get(url(worlds[0].agreement))
    assert response.status_code == 503
    assert "协议书生成失败" in response.get_data(as_text=True)


# ---------------------------------------------------------------- /verify

def verify(client, number, code):
    return client.get("/verify", query_string={"number": number, "code": code})


def test_verify_needs_no_login_and_shows_only_masked_parties(client, worlds):
    mine = worlds[0]
    a = mine.agreement
    assert client.get("/verify").status_code == 200
    response = verify(client, a.number, a.check_code)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "生效" in page and "已解约" not in page and a.content_hash in page
    assert "武汉同学" not in page and "武**学" in page
    assert "武汉星光科技有限公司" not in page and "武汉****有限公司" in page
    for secret in (mine.student.id_number, mine.student.phone, mine.student.student_no,
                   a.position, a.employer_credit_code, str(a.salary)):
        assert secret not in page


def test_verify_refuses_a_wrong_check_code(client, worlds):
    a = worlds[0].agreement
    wrong = "A" * len(a.check_code) if a.check_code != "A" * len(a.check_code) else "B" * len(a.check_code)
    response = verify(client, a.number, wrong)
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and "协议书编号或校验码不正确" in page and a.content_hash not in page
    for junk in ("校验码", "<script>", "' OR 1=1 --"):
        assert verify(client, a.number, junk).status_code == 404
    assert verify(client, "1" * 15, a.check_code).status_code == 404
    assert verify(client, "1" * 15, "校验码").status_code == 404  # not a 500 on non-ASCII input
    assert verify(client, a.number, "").status_code == 200  # asks for both fields
    assert "请输入协议书编号和校验码" in verify(client, a.number, "").get_data(as_text=True)


def test_verify_shows_terminated_after_termination(client, worlds):
    mine = worlds[0]
    a = mine.agreement
    assert "生效" in verify(client, a.number, a.check_code).get_data(as_text=True)
    now = NOW + timedelta(days=10)
    termination = workflow.request_termination(mine.employer, a, "岗位调整", now=now)
    workflow.agree_termination(mine.student, termination, now=now + timedelta(hours=1))
    # Still in force while the school has not approved.
    page = verify(client, a.number, a.check_code).get_data(as_text=True)
    assert "已解约" not in page
    workflow.approve_termination(mine.reviewer, termination, now=now + timedelta(hours=2))
    page = verify(client, a.number, a.check_code).get_data(as_text=True)
    assert "已解约" in page and a.content_hash in page


def test_verify_after_withdrawn_review_is_not_in_force(client, worlds):
    mine = worlds[0]
    a = mine.agreement
    workflow.withdraw_certification(mine.reviewer, a, "信息有误", now=NOW + timedelta(days=1))
    db.session.refresh(a)
    page = verify(client, a.number, a.check_code).get_data(as_text=True)
    assert "未生效" in page and 'label-success' not in page


def test_verify_is_rate_limited(limited_app, worlds):
    client = limited_app.test_client()
    a = worlds[0].agreement
    codes = [verify(client, a.number, a.check_code).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]

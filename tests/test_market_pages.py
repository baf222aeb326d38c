"""网上就业市场 through the web client: 我要招聘 → 我要求职 → 投递 → 查看简历 → 加入签约发送列表 →
邀请函 prefilled from the posting → 已发邀约; the school hides a posting; bad input; and who may
open what (another party's ids → 404; contact details only for applications to the employer)."""
import io
from datetime import timedelta

import pytest

from app import labels
from app.extensions import db
from app.models import Agreement, FlowEvent, InviteListEntry, JobApplication, JobPosting, PostingHide, Resume
from tests.support.checks import count, reload
from tests.support.factories import PDF_BYTES, make_employer, make_student, make_user, valid_terms
from app.workflow import market
from tests.support.market import make_posting, posting_values
from tests.support.scenes import scene
from tests.test_pages_offers import form_of

TODAY = labels.today_local()


def real_time_values(**overrides):
    """A posting's fields with a deadline ahead of the real clock (the pages run on it)."""
    return posting_values(deadline=(TODAY + timedelta(days=20)).isoformat(), **overrides)


def real_posting(employer, **overrides):
    return market.create_posting(employer, real_time_values(**overrides), publish=True)


@pytest.fixture
def world():
    w = scene(student={"name": "黄河水", "phone": "13800138000"}, employer={"name": "星光集团"}, other_school=True)
    w.other_student = make_student(w.other_school)
    w.other_student_user = make_user("student", w.other_student)
    return w


def test_employer_publishes_graduate_applies_and_the_application_becomes_an_offer(client, login, world, no_cooling_off):
    login(client, world.employer_user.username)
    page = client.post("/employer/market/new", data={**real_time_values(title="嵌入式软件工程师", region="420106"),
                                                     "publish": "1"}, follow_redirects=True)
    assert page.status_code == 200 and "职位已发布" in page.get_data(as_text=True)
    posting = db.session.query(JobPosting).one()
    assert posting.status == "open" and posting.city_code == "420100"
    client.post("/logout/")

    login(client, world.student_user.username)
    found = client.get("/student/market/", query_string={"q": "嵌入式", "province": "420000", "city": "420100"})
    assert "嵌入式软件工程师" in found.get_data(as_text=True)
    elsewhere = client.get("/student/market/", query_string={"q": "嵌入式", "province": "110000"})
    assert "嵌入式软件工程师" not in elsewhere.get_data(as_text=True)
    client.post("/student/market/resume", data={"skills": "C语言、嵌入式Linux", "education": "武汉大学 软件工程 本科"})
    done = client.post(f"/student/market/{posting.id}/apply", data={"cover_note": "熟悉单片机。"}, follow_redirects=True)
    assert "投递成功" in done.get_data(as_text=True)
    application = db.session.query(JobApplication).one()
    client.post("/logout/")

    login(client, world.employer_user.username)
    listing = client.get(f"/employer/market/{posting.id}/applicants").get_data(as_text=True)
    assert "黄河水" in listing and "13800138000" not in listing  # the list shows no contact details
    detail = client.get(f"/employer/market/applications/{application.id}").get_data(as_text=True)
    assert "13800138000" in detail and "嵌入式Linux" in detail and "熟悉单片机" in detail  # applied to it (R17)
    assert reload(application).status == "viewed"
    client.post(f"/employer/market/applications/{application.id}/interview")
    assert reload(application).status == "interview"
    listed = client.post(f"/employer/market/applications/{application.id}/shortlist", follow_redirects=True)
    assert "已将黄河水加入签约发送列表" in listed.get_data(as_text=True) and "求职投递" in listed.get_data(as_text=True)
    form = client.get(f"/employer/invite?ids={world.student.id}").get_data(as_text=True)
    assert 'value="嵌入式软件工程师"' in form  # 邀请函 prefilled from the posting
    terms = form_of(valid_terms(position="嵌入式软件工程师"))
    sent = client.post("/employer/invite", data={**terms, "ids": world.student.id, "step": "confirm"},
                       follow_redirects=True)
    assert "邀约发送成功" in sent.get_data(as_text=True)
    agreement = db.session.query(Agreement).one()
    assert reload(application).status == "offered" and application.agreement_id == agreement.id
    client.post("/logout/")

    login(client, world.student_user.username)
    mine = client.get("/student/market/applications/").get_data(as_text=True)
    assert "已发邀约" in mine and f"/student/offers/{agreement.id}" in mine
    letter = client.get(f"/student/offers/{agreement.id}").get_data(as_text=True)
    assert "来自你对" in letter and "嵌入式软件工程师" in letter


def test_school_hides_a_posting_and_its_students_no_longer_find_it(client, login, world):
    posting = real_posting(world.employer, title="销售代表")
    login(client, world.reviewer.username)
    assert "销售代表" in client.get("/school/market/").get_data(as_text=True)
    client.post(f"/school/market/{posting.id}/hide", data={"reason": "该单位存在虚假招聘投诉"})
    assert count(PostingHide, PostingHide.status == "hidden") == 1
    client.post("/logout/")
    login(client, world.student_user.username)
    assert "销售代表" not in client.get("/student/market/?q=销售").get_data(as_text=True)
    assert client.get(f"/student/market/{posting.id}").status_code == 404
    client.post("/logout/")
    login(client, world.other_student_user.username)  # another school's graduate still sees it
    assert "销售代表" in client.get("/student/market/?q=销售").get_data(as_text=True)
    client.post("/logout/")
    login(client, world.employer_user.username)
    page = client.get(f"/employer/market/{posting.id}/applicants").get_data(as_text=True)
    assert "武汉大学已对本校学生隐藏该职位" in page and "虚假招聘投诉" in page


def test_bad_posting_input_shows_chinese_errors_and_writes_nothing(client, login, world):
    login(client, world.employer_user.username)
    response = client.post("/employer/market/new", data={**real_time_values(title="<b>急招</b>", salary_min="abc"),
                                                         "publish": "1"})
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "职位名称不能包含HTML标签" in text and "薪资下限须为整数" in text
    assert count(JobPosting) == 0 and count(FlowEvent) == 0


def test_resume_pdf_is_checked_and_shown_only_to_employers_applied_to(client, login, world):
    posting = real_posting(world.employer)
    login(client, world.student_user.username)
    bad = client.post("/student/market/resume", data={"skills": "x", "pdf": (io.BytesIO(b"not a pdf"), "a.pdf")},
                      content_type="multipart/form-data")
    assert "PDF" in bad.get_data(as_text=True) and count(Resume) == 0
    client.post("/student/market/resume", data={"skills": "Python", "pdf": (io.BytesIO(PDF_BYTES), "简历.pdf")},
                content_type="multipart/form-data")
    resume = db.session.query(Resume).one()
    assert resume.pdf_path
    client.post(f"/student/market/{posting.id}/apply", data={})
    application = db.session.query(JobApplication).one()
    client.post("/logout/")
    login(client, world.employer_user.username)
    assert client.get(f"/employer/market/applications/{application.id}/resume").status_code == 200
    other = make_employer(approved_by=world.school)
    other_user = make_user("employer", other)
    client.post("/logout/")
    login(client, other_user.username)
    assert client.get(f"/employer/market/applications/{application.id}/resume").status_code == 404


# ---------------------------------------------------------------- who may open what

@pytest.fixture
def two_markets():
    """Two worlds, each with an open posting, an application to it and a school hide of it."""
    worlds = []
    for code in ("10486", "10487"):
        w = scene(school=code)
        w.posting = real_posting(w.employer)
        w.application = market.apply(w.student, w.posting)
        w.hide = market.hide_posting(w.reviewer, w.posting, "不适合本校")
        worlds.append(w)
    return worlds


FOREIGN = [
    ("employer", "GET", "/employer/market/{posting}/edit"),
    ("employer", "POST", "/employer/market/{posting}/edit"),
    ("employer", "POST", "/employer/market/{posting}/close"),
    ("employer", "GET", "/employer/market/{posting}/applicants"),
    ("employer", "GET", "/employer/market/applications/{application}"),
    ("employer", "POST", "/employer/market/applications/{application}/interview"),
    ("employer", "POST", "/employer/market/applications/{application}/unsuitable"),
    ("employer", "POST", "/employer/market/applications/{application}/shortlist"),
    ("employer", "GET", "/employer/market/applications/{application}/resume"),
    ("student", "POST", "/student/market/applications/{application}/withdraw"),
    ("school", "POST", "/school/market/hides/{hide}/unhide"),
]


@pytest.mark.parametrize("role,method,url", FOREIGN, ids=[f"{r}-{m}-{u}" for r, m, u in FOREIGN])
def test_party_gets_404_for_other_partys_market_rows(client, login, two_markets, role, method, url):
    mine, other = two_markets
    login(client, mine.logins[role].username)
    url = url.format(posting=other.posting.id, application=other.application.id, hide=other.hide.id)
    response = client.get(url) if method == "GET" else client.post(url, data=real_time_values(title="改"))
    assert response.status_code == 404, (url, response.status_code)
    assert reload(other.posting).status == "open" and reload(other.posting).title != "改"
    assert reload(other.application).status == "submitted"
    assert reload(other.hide).status == "hidden"
    assert count(InviteListEntry) == 0


def test_graduate_sees_only_own_applications_and_cannot_open_a_posting_hidden_from_them(client, login, two_markets):
    mine, other = two_markets
    login(client, other.student_user.username)
    page = client.get("/student/market/applications/").get_data(as_text=True)
    assert page.count("/withdraw") == 1
    # The other world's posting is hidden by its own school only: this graduate's school hid its own.
    assert client.get(f"/student/market/{mine.posting.id}").status_code == 200
    assert client.get(f"/student/market/{other.posting.id}").status_code == 200  # applied to it: kept visible


def test_employer_lists_only_own_postings_and_applicants(client, login, two_markets):
    mine, other = two_markets
    login(client, mine.employer_user.username)
    page = client.get("/employer/market/").get_data(as_text=True)
    assert f"/employer/market/{mine.posting.id}/applicants" in page
    assert f"/employer/market/{other.posting.id}/applicants" not in page


def test_draft_posting_is_nobodys_but_its_employers(client, login, world):
    draft = make_posting(world.employer, status="draft", deadline=(TODAY + timedelta(days=5)).isoformat())
    login(client, world.student_user.username)
    assert client.get(f"/student/market/{draft.id}").status_code == 404
    assert client.post(f"/student/market/{draft.id}/apply").status_code == 404
    client.post("/logout/")
    login(client, world.reviewer.username)
    assert client.post(f"/school/market/{draft.id}/hide", data={"reason": "x"}).status_code == 404


def test_market_pages_answer_each_role(client, login, world):
    posting = real_posting(world.employer)
    market.apply(world.student, posting)
    for user, urls in ((world.employer_user, ["/employer/market/", "/employer/market/new"]),
                       (world.student_user, ["/student/market/", "/student/market/applications/",
                                             "/student/market/resume", f"/student/market/{posting.id}"]),
                       (world.reviewer, ["/school/market/", "/school/market/?state=hidden"])):
        login(client, user.username)
        for url in urls:
            assert client.get(url).status_code == 200, url
        client.post("/logout/")
    login(client, world.student_user.username)
    assert client.get("/employer/market/").status_code == 403

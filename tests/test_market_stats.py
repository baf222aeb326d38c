"""招聘求职统计 (issue 19 statistics): applications of the filter's graduates, the offers that started
from an application and those certified, by 学校 / 院系, 工作地点 and 职位类别; the postings; the
province workbook's sheets; a school sees its own graduates only."""
import io
from datetime import timedelta

from openpyxl import load_workbook

from app import stats, workflow
from app.workflow import market
from tests.support.factories import NOW, make_employer, make_reviewer, make_school, make_student, make_user
from tests.support.market import make_application, make_posting


def world():
    a, b = make_school("10486", "武汉大学"), make_school("10487", "华中科技大学")
    employer = make_employer(approved_by=a)
    p1 = make_posting(employer, region="420111")
    p2 = make_posting(employer, region="110105", job_category="科学研究人员")
    make_posting(employer, status="draft")
    s1, s2 = make_student(a, department="计算机学院"), make_student(a, department="数学学院")
    t1 = make_student(b, department="计算机学院")
    app1 = make_application(s1, p1)
    make_application(s1, p2)
    make_application(s2, p1)
    make_application(t1, p1)
    # s1's application to p1 becomes an offer, accepted and certified
    market.shortlist(employer, app1, now=NOW + timedelta(hours=2))
    terms = {**market.terms_from_posting(p1)}
    from tests.support.factories import valid_terms

    agreement = workflow.invite(employer, [s1], valid_terms(**terms), now=NOW + timedelta(hours=3))[0]
    workflow.accept(s1, agreement, now=NOW + timedelta(hours=6))
    workflow.certify(make_reviewer(a), agreement, now=NOW + timedelta(hours=7))
    return a, b


def test_applications_offers_and_postings_are_counted():
    a, b = world()
    data = stats.market_tables(stats.Filters(year=2026))
    assert {k: data["summary"][k] for k in ("applications", "offered", "offer_certified", "applicants")} == {
        "applications": 4, "offered": 1, "offer_certified": 1, "applicants": 3}
    by_school = {r["school_name"]: (r["applications"], r["offered"], r["offer_certified"])
                 for r in stats.records(data["by_school"])}
    assert by_school == {"武汉大学": (3, 1, 1), "华中科技大学": (1, 0, 0)}
    by_region = {r["region"]: r["applications"] for r in stats.records(data["by_region"])}
    assert by_region == {"武汉市": 3, "北京市": 1}
    by_category = {r["job_category"]: r["applications"] for r in stats.records(data["by_category"])}
    assert by_category == {"工程技术人员": 3, "科学研究人员": 1}
    assert data["summary"]["postings"]["招聘中"] == (2, 6) and data["summary"]["postings"]["草稿"][0] == 1
    school_a = stats.market_tables(stats.Filters(year=2026, school_id=a.id))
    assert school_a["summary"]["applications"] == 3
    assert {r["department"]: r["applications"] for r in stats.records(school_a["by_department"])} == {
        "计算机学院": 2, "数学学院": 1}


def test_the_pages_and_the_province_workbook(client, login):
    a, b = world()
    make_user("province", username="prov")
    login(client, "prov")
    html = client.get("/stats/province/market?year=2026").get_data(as_text=True)
    assert "招聘求职统计" in html and "武汉大学" in html and "华中科技大学" in html and "邀约后签约审核通过" in html
    assert 'href="/stats/province/market' in client.get("/stats/province/?year=2026").get_data(as_text=True)
    wb = load_workbook(io.BytesIO(client.get("/stats/province/workbook?year=2026").data))
    rows = list(wb["招聘求职-按学校"].iter_rows(values_only=True))
    assert rows[0] == ("学校名称", "投递人次", "已发邀约", "邀约后签约审核通过")
    assert ("武汉大学", 3, 1, 1) in rows
    assert "招聘求职-按职位类别" in wb.sheetnames


def test_a_school_sees_its_own_graduates_only(client, login):
    a, b = world()
    make_user("school", b, username="rev-b")
    login(client, "rev-b")
    html = client.get(f"/stats/school/market?year=2026&school_id={a.id}").get_data(as_text=True)
    assert "华中科技大学" in html and "武汉大学" not in html.split("招聘求职统计", 1)[1].split("按职位类别")[0]
    assert stats.market_tables(stats.Filters(year=2026, school_id=b.id))["summary"]["applications"] == 1

"""网上就业市场 in a real browser (issue 19), in order on the demo database:

1. 用人单位 我要招聘 → 发布职位 (a wrong field first) → 保存并发布;
2. the graduate, on a phone (390×844), finds it in 我要求职 by keyword and city and 投递简历; every
   market page passes tests/support/phone.py `check_page`;
3. the employer 查看投递 → 查看简历 → 邀请面试 → 加入签约发送列表 → 邀约: the 邀请函 is prefilled
   from the posting → 预览 → 确认发送; the application reads 已发邀约;
4. the graduate accepts (cooling-off 0 on the test server), the school certifies;
5. a school hides a posting with a reason, and the employer reads it; a posting past its 截止日期
   reads 已截止 (the demo's).

Each step depends on the one before (STATE); a failed step skips the rest.
"""
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app import labels
from tests.support.phone import PHONE, check_page

from .test_browser_flows import student_row

STATE = {}
TITLE = "智能硬件测试工程师"


def need(*keys):
    missing = [k for k in keys if k not in STATE]
    if missing:
        pytest.skip(f"an earlier step failed ({', '.join(missing)} missing)")


@pytest.fixture(scope="module")
def phone(browser, server, shots_dir):
    from .conftest import Actor

    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="zh-CN", timezone_id="Asia/Shanghai")
    actor = Actor(context, server, shots_dir)
    yield actor
    context.close()


def phone_shot(actor, name):
    actor.page.evaluate("window.scrollTo(0, 0)")
    problems = check_page(actor.page)
    assert problems == [], f"{name} ({actor.page.url}):\n" + "\n".join(problems)
    folder = actor.shots / "mobile"
    folder.mkdir(parents=True, exist_ok=True)
    actor.page.screenshot(path=str(folder / f"{name}.png"), scale="css")


def test_employer_publishes_a_posting(server, actors):
    emp = actors("market-employer")
    emp.login("emp-guanggu")
    emp.nav("我要招聘")
    emp.shot("employer-market-postings")
    emp.nav("发布职位")
    page = emp.page
    page.fill("#title", "<b>急招</b>")
    page.select_option("#job_category", label="工程技术人员")
    page.fill("#headcount", "2")
    page.select_option("#region", value="420106")
    page.fill("#salary_min", "9000")
    page.fill("#salary_max", "14000")
    page.select_option("#education", label="本科生毕业")
    page.fill("#deadline", (labels.today_local() + timedelta(days=20)).isoformat())
    page.fill("#description", "负责智能硬件产品的功能与可靠性测试。")
    emp.submit(page.get_by_role("button", name="保存并发布"))
    error = page.locator(".form-group.has-error", has=page.locator("#title")).locator(".field-error")
    expect(error).to_contain_text("HTML")
    assert server.query("SELECT count(*) FROM job_posting WHERE title LIKE '%急招%'") == [(0,)]
    page.fill("#title", TITLE)
    emp.shot("employer-market-posting-form")
    emp.submit(page.get_by_role("button", name="保存并发布"))
    expect(page.locator(".alert-success")).to_contain_text("职位已发布")
    expect(page.locator("tbody tr", has_text=TITLE)).to_contain_text("招聘中")
    [(posting_id, city)] = server.query("SELECT id, city_code FROM job_posting WHERE title = ?", TITLE)
    assert city == "420100"
    STATE["posting_id"] = posting_id


def test_graduate_finds_it_by_keyword_and_city_and_applies_on_a_phone(server, phone):
    need("posting_id")
    target = student_row(server, "0031")
    phone.student_login("武汉大学", target["student_no"])
    phone.goto("/student/market/resume")
    phone.page.fill("#skills", "熟悉嵌入式测试与自动化测试脚本。")
    phone.submit(phone.page.get_by_role("button", name="保存"))
    expect(phone.page.locator(".alert-success")).to_contain_text("求职简历已保存")
    phone_shot(phone, "student-market-resume")
    phone.goto("/student/market/")
    form = phone.page.locator("form.filter-bar")
    form.locator("input[name=q]").fill("智能硬件")
    form.locator("select[name=province]").select_option(value="420000")
    phone.submit(form.get_by_role("button", name="查询"))
    form.locator("select[name=city]").select_option(value="420100")
    phone.submit(form.get_by_role("button", name="查询"))
    rows = phone.page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(TITLE)
    phone_shot(phone, "student-market-search")
    phone.submit(rows.first.get_by_role("link", name="查看职位"))
    phone_shot(phone, "student-market-posting")
    phone.page.fill("#cover_note", "我做过两年的硬件测试实习。")
    phone.submit(phone.page.get_by_role("button", name="投递简历"))
    expect(phone.page.locator(".alert-success")).to_contain_text("投递成功")
    expect(phone.page.locator("tbody tr", has_text=TITLE)).to_contain_text("已投递")
    phone_shot(phone, "student-market-applications")
    [(application_id,)] = server.query("SELECT id FROM job_application WHERE posting_id = ? AND student_id = ?",
                                       STATE["posting_id"], target["id"])
    STATE.update(target=target, application_id=application_id)


def test_employer_invites_to_interview_lists_and_sends_the_prefilled_offer(server, actors):
    need("application_id")
    target = STATE["target"]
    emp = actors("market-employer")
    emp.nav("我要招聘")
    emp.submit(emp.page.locator("tbody tr", has_text=TITLE).get_by_role("link", name="查看投递"))
    emp.shot("employer-market-applicants")
    emp.submit(emp.page.locator("tbody tr", has_text=target["name"]).get_by_role("link", name="查看简历"))
    page = emp.page
    expect(page.locator(".terms").first).to_contain_text(target["phone"])  # applied to this employer (R17)
    expect(page.locator("h3 .label")).to_have_text("已查看")
    emp.shot("employer-market-application")
    emp.submit(page.get_by_role("button", name="邀请面试"))
    expect(page.locator("h3 .label")).to_have_text("邀请面试")
    emp.submit(page.get_by_role("button", name="加入签约发送列表"))
    row = page.locator("tbody tr", has_text=target["name"])
    expect(row).to_contain_text("求职投递")
    emp.submit(row.get_by_role("link", name="邀约"))
    expect(page.locator("#position")).to_have_value(TITLE)  # prefilled from the posting
    expect(page.locator("#salary")).to_have_value("9000")
    page.fill("#probation_days", "90")
    page.fill("#penalty", "5000")
    page.fill("#report_deadline", (labels.today_local() + timedelta(days=200)).isoformat())
    emp.submit(page.get_by_role("button", name="发送", exact=True))
    expect(page.locator("h3")).to_have_text("预览")
    emp.submit(page.get_by_role("button", name="确认发送", exact=True))
    expect(page.locator(".alert-success")).to_contain_text("邀约发送成功")
    [(status, agreement_id)] = server.query("SELECT status, agreement_id FROM job_application WHERE id = ?",
                                            STATE["application_id"])
    assert status == "offered" and agreement_id
    STATE["agreement_id"] = agreement_id


def test_graduate_accepts_and_the_school_certifies(server, phone, actors):
    need("agreement_id")
    phone.goto("/student/market/applications/")
    row = phone.page.locator("tbody tr", has_text=TITLE)
    expect(row).to_contain_text("已发邀约")
    phone.submit(row.get_by_role("link", name="查看邀请函"))
    expect(phone.page.locator("body")).to_contain_text("来自你对")
    phone.page.get_by_role("button", name="同意").tap()
    phone.page.wait_for_timeout(400)
    phone.page.locator("#agree").check()
    phone.submit(phone.page.locator("#sign-now"))
    expect(phone.page.locator(".alert-success")).to_be_visible()
    assert server.query("SELECT status FROM agreement WHERE id = ?", STATE["agreement_id"]) == [("accepted",)]

    sch = actors("market-school")
    sch.login("school-10486")
    sch.goto(f"/school/review/{STATE['agreement_id']}")
    sch.submit(sch.page.get_by_role("button", name="签约审核通过"))
    expect(sch.page.locator(".alert-success")).to_contain_text("签约审核通过")
    assert server.query("SELECT status FROM agreement WHERE id = ?", STATE["agreement_id"]) == [("certified",)]


def test_school_hides_a_posting_and_the_employer_reads_why(server, actors):
    need("posting_id")
    sch = actors("market-school-10487")
    sch.login("school-10487")
    sch.nav("招聘职位管理")
    row = sch.page.locator("tbody tr", has_text=TITLE)
    row.get_by_role("button", name="隐藏").click()
    modal = sch.page.locator(".modal.in")
    expect(modal).to_be_visible()
    modal.locator("textarea[name=reason]").fill("与本校专业设置不符")
    sch.shot("school-market-hide")
    sch.submit(modal.get_by_role("button", name="确认隐藏"))
    expect(sch.page.locator(".alert-success")).to_contain_text("已对本校学生隐藏")
    sch.shot("school-market-postings")
    emp = actors("market-employer")
    emp.goto(f"/employer/market/{STATE['posting_id']}/applicants")
    expect(emp.page.locator(".alert-warning")).to_contain_text("华中科技大学已对本校学生隐藏该职位")
    expect(emp.page.locator(".alert-warning")).to_contain_text("与本校专业设置不符")


def test_a_posting_past_its_deadline_reads_closed(server, actors):
    emp = actors("market-employer")
    emp.nav("我要招聘")
    expect(emp.page.locator("tbody tr", has_text="界面设计师")).to_contain_text("已截止")
    expect(emp.page.locator("tbody tr", has_text="界面设计师").get_by_role("button", name="重新上线")).to_have_count(0)

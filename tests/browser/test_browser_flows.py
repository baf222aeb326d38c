"""The manual's flows in a real browser (issue 10), in order on one database:

1. 用人单位 签约搜索 (R2) → 加入 签约发送列表 → 邀约 → 邀请函 (a wrong field first) → 预览 → 确认发送;
2. the graduate sees 邀约待办 1, opens 查看邀请函, 同意 → 签约前必读 → 现在签约, keyboard only;
3. the school reviewer: 签约审核 → 审核 → 签约审核通过 (confirm dialog);
4. all three parties download the agreement PDF;
5. 解约 by the student, agreed by the employer, approved by the school;
6. the employer imports a 拟签约名单 spreadsheet and finds the student in 签约发送列表.

Each step depends on the one before (the module-level STATE); a failed step skips the rest.
"""
import io
import re

import openpyxl
import pytest
from playwright.sync_api import expect

STATE = {}
SCHOOL = "武汉大学"


def need(*keys):
    missing = [k for k in keys if k not in STATE]
    if missing:
        pytest.skip(f"an earlier step failed ({', '.join(missing)} missing)")


def student_row(server, suffix):
    """A demo graduate of 武汉大学 (10486) who has no offer yet, by the last digits of the 学号."""
    [row] = server.query(
        "SELECT s.id, s.name, s.id_number, s.phone, s.graduation_year, s.student_no FROM student s "
        "JOIN school c ON c.id = s.school_id WHERE c.code = '10486' AND s.student_no LIKE ?", "%" + suffix)
    return dict(zip(("id", "name", "id_number", "phone", "year", "student_no"), row))


def tab_until(page, predicate_js, limit=120):
    """Press Tab until document.activeElement satisfies the JS predicate (keyboard-only check)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!(el && ({predicate_js})); }})()"):
            return
    raise AssertionError(f"Tab never reached an element with {predicate_js}")


# ---------------------------------------------------------------- 1. employer sends an offer

def test_employer_searches_lists_and_sends_offer(server, actors):
    target = student_row(server, "0021")
    emp = actors("employer")
    emp.login("emp-guanggu")
    expect(emp.page.locator("h3")).to_contain_text("武汉光谷云帆信息技术有限公司")
    emp.shot("employer-home")

    emp.nav("签约搜索")
    assert "/employer/search" in emp.page.url
    emp.shot("employer-search")
    # R2: a wrong ID number finds nobody.
    form = emp.page.locator("form.filter-bar")
    form.locator("select[name=school_id]").select_option(label=SCHOOL)
    form.locator("input[name=year]").fill(str(target["year"]))
    form.locator("input[name=name]").fill(target["name"])
    form.locator("input[name=key]").fill(target["phone"][:-1] + ("0" if target["phone"][-1] != "0" else "1"))
    emp.submit(form.get_by_role("button", name="搜索"))
    expect(emp.page.locator("td.empty")).to_have_text("暂无数据！")
    # All four right (ID number, lower-case x allowed): exactly this student.
    form.locator("input[name=key]").fill(target["id_number"].lower())
    emp.submit(form.get_by_role("button", name="搜索"))
    rows = emp.page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(target["name"])
    assert target["id_number"] not in rows.first.inner_text()  # masked
    emp.shot("employer-search-result")

    emp.submit(rows.first.get_by_role("button", name="加入"))
    assert "/employer/list" in emp.page.url
    expect(emp.page.locator(".alert")).to_contain_text("已加入签约发送列表")
    row = emp.page.locator("tbody tr", has_text=target["name"])
    expect(row).to_have_count(1)
    emp.shot("employer-invite-list")

    emp.submit(row.get_by_role("link", name="邀约"))
    expect(emp.page.locator("h3")).to_have_text("邀请函")
    page = emp.page
    # Every visible field of the form has a label pointing at it.
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('form.form-horizontal input, form.form-horizontal select, form.form-horizontal textarea')]
        .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
        .filter(el => !(el.id && document.querySelector('label[for="' + el.id + '"]')) && !el.getAttribute('aria-label') && !el.closest('label'))
        .map(el => el.name)""")
    assert unlabelled == [], unlabelled
    emp.shot("employer-offer-form")

    # A missing field: the error is shown next to that field, nothing is sent.
    page.select_option("#job_category", index=1)
    page.fill("#position", "")
    page.fill("#feedback_days", "7")
    page.fill("#probation_days", "90")
    page.fill("#probation_salary", "7200")
    page.fill("#salary", "8000")
    page.fill("#penalty", "5000")
    page.fill("#report_deadline", "2027-07-31")
    emp.submit(page.get_by_role("button", name="发送", exact=True))
    error = page.locator(".form-group.has-error", has=page.locator("#position")).locator(".field-error")
    expect(error).to_be_visible()
    page.locator("#position").scroll_into_view_if_needed()
    emp.shot("employer-offer-form-error", top=False)

    page.fill("#position", "软件测试工程师")
    emp.submit(page.get_by_role("button", name="发送", exact=True))
    expect(page.locator("h3")).to_have_text("预览")
    letter = page.locator(".letter")
    expect(letter).to_contain_text(target["name"])
    expect(letter).to_contain_text("软件测试工程师")
    expect(letter).to_contain_text("¥8,000")
    emp.shot("employer-offer-preview")

    emp.submit(page.get_by_role("button", name="确认发送", exact=True))
    expect(page.locator(".alert-success")).to_contain_text("邀约发送成功")
    expect(page.locator("tbody tr", has_text=target["name"])).to_contain_text("软件测试工程师")
    emp.shot("employer-offers-pending")
    [(agreement_id, status)] = server.query(
        "SELECT id, status FROM agreement WHERE student_id = ? AND position = '软件测试工程师'", target["id"])
    assert status == "pending"
    STATE.update(target=target, agreement_id=agreement_id)


# ---------------------------------------------------------------- 2. the student accepts (keyboard only)

def test_student_sees_todo_and_accepts_with_keyboard(server, actors):
    need("agreement_id")
    target = STATE["target"]
    stu = actors("student")
    stu.student_login(SCHOOL, target["student_no"])
    assert "/login" not in stu.page.url, stu.flashes()
    card = stu.page.locator(".stat-card", has_text="邀约待办")
    expect(card.locator(".num a")).to_have_text("1")
    stu.shot("student-home")

    stu.submit(card.locator(".num a"))
    row = stu.page.locator("tbody tr", has_text="武汉光谷云帆信息技术有限公司")
    expect(row).to_contain_text("软件测试工程师")
    stu.shot("student-offers")
    stu.submit(row.get_by_role("link", name="查看邀请函"))
    page = stu.page
    expect(page.locator(".letter")).to_contain_text("软件测试工程师")
    stu.shot("student-offer")

    # Keyboard only: Tab to 同意, Enter opens 签约前必读.
    page.locator("body").click(position={"x": 5, "y": 760})
    tab_until(page, "el.tagName === 'BUTTON' && el.textContent.trim() === '同意'")
    page.keyboard.press("Enter")
    modal = page.locator("#sign-modal")
    expect(modal).to_be_visible()
    expect(modal.locator(".modal-title")).to_have_text("签约前必读")
    page.wait_for_timeout(400)  # the fade-in transition
    # 现在签约 without the box ticked: the form does not go (required checkbox).
    tab_until(page, "el.id === 'sign-now'", limit=10)
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    expect(modal).to_be_visible()
    assert server.query("SELECT status FROM agreement WHERE id = ?", STATE["agreement_id"]) == [("pending",)]
    tab_until(page, "el.id === 'agree'", limit=10)
    page.keyboard.press("Space")
    expect(page.locator("#agree")).to_be_checked()
    stu.shot("student-sign-dialog")
    tab_until(page, "el.id === 'sign-now'", limit=10)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator(".alert-success")).to_be_visible()
    assert server.query("SELECT status FROM agreement WHERE id = ?", STATE["agreement_id"]) == [("accepted",)]
    STATE["accepted"] = True


# ---------------------------------------------------------------- 3. the school certifies

def test_school_reviewer_certifies(server, actors):
    need("accepted")
    target = STATE["target"]
    sch = actors("school")
    sch.login("school-10486")
    sch.shot("school-home")
    sch.nav("签约审核")
    row = sch.page.locator("tbody tr", has_text=target["student_no"])
    if row.count() == 0:  # the default tab may be another filter: ask for 待审核 explicitly
        sch.goto("/school/review/?status=accepted")
        row = sch.page.locator("tbody tr", has_text=target["student_no"])
    expect(row).to_have_count(1)
    sch.shot("school-reviews")
    sch.submit(row.get_by_role("link", name="审核"))
    expect(sch.page.locator("h3")).to_contain_text("协议书详情")
    sch.shot("school-review")
    sch.submit(sch.page.get_by_role("button", name="签约审核通过"))
    assert any("签约审核通过" in d for d in sch.dialogs), sch.dialogs
    [(status, number)] = server.query("SELECT status, number FROM agreement WHERE id = ?", STATE["agreement_id"])
    assert status == "certified" and number
    expect(sch.page.locator(".alert-success")).to_contain_text("签约审核通过")
    sch.goto(f"/school/review/{STATE['agreement_id']}")
    expect(sch.page.locator("table.terms").first).to_contain_text(number)
    expect(sch.page.locator("h3 .label")).to_have_text("签约审核通过")
    sch.shot("school-review-certified")
    STATE["number"] = number


# ---------------------------------------------------------------- 4. the PDF, for each party

def test_parties_download_agreement_pdf(server, actors):
    need("number")
    target = STATE["target"]
    sch = actors("school")
    sch.goto(f"/school/review/{STATE['agreement_id']}")
    pdf = sch.download(lambda: sch.page.get_by_role("link", name="下载协议书").click())
    assert pdf.startswith(b"%PDF")

    emp = actors("employer")
    emp.nav("数据管理")
    emp.submit(emp.page.get_by_role("link", name="已签约", exact=True))
    row = emp.page.locator("tbody tr", has_text=target["name"])
    expect(row).to_contain_text(STATE["number"])
    emp.shot("employer-offers-certified")
    emp.submit(row.get_by_role("link", name="查看详情"))
    emp.shot("employer-offer-detail")
    pdf = emp.download(lambda: emp.page.get_by_role("link", name="下载协议书").click())
    assert pdf.startswith(b"%PDF")

    stu = actors("student")
    stu.nav("电子签约")
    stu.submit(stu.page.locator("tbody tr", has_text="软件测试工程师").get_by_role("link", name="查看详情"))
    expect(stu.page.locator("body")).to_contain_text(STATE["number"])
    stu.shot("student-agreement-detail")
    pdf = stu.download(lambda: stu.page.get_by_role("link", name="下载协议书").click())
    assert pdf.startswith(b"%PDF")
    STATE["pdf"] = True


# ---------------------------------------------------------------- 5. termination through all three

def test_termination_student_employer_school(server, actors):
    need("number")
    target, number = STATE["target"], STATE["number"]
    stu = actors("student")
    stu.nav("解约办理")
    row = stu.page.locator("tbody tr", has_text=number)
    expect(row).to_have_count(1)
    stu.shot("student-terminations")
    row.get_by_role("button", name="解约申请").click()
    modal = stu.page.locator("#termination-modal")
    expect(modal).to_be_visible()
    expect(modal.locator(".modal-title")).to_have_text("解约须知")
    expect(stu.page.locator("#to-reason")).to_be_disabled()
    stu.page.check("#termination-agree")
    stu.page.click("#to-reason")
    expect(stu.page.locator("#reason")).to_be_visible()
    stu.page.fill("#reason", "考取研究生，申请解除协议")
    expect(stu.page.locator("#reason-count")).to_have_text("12")
    stu.page.wait_for_timeout(300)
    stu.shot("student-termination-dialog")
    stu.submit(stu.page.locator("#send-termination"))
    expect(stu.page.locator(".alert-success")).to_be_visible()
    [(tid, status)] = server.query(
        "SELECT t.id, t.status FROM termination t WHERE t.agreement_id = ?", STATE["agreement_id"])
    assert status == "requested"

    emp = actors("employer")
    emp.nav("解约办理")
    row = emp.page.locator("tbody tr", has_text=target["name"])
    expect(row).to_have_count(1)
    emp.shot("employer-terminations")
    emp.submit(row.get_by_role("link", name="查看解约申请"))
    expect(emp.page.locator(".letter")).to_contain_text("考取研究生")
    emp.shot("employer-termination")
    emp.page.fill("#remark", "同意，祝学业顺利")
    emp.submit(emp.page.get_by_role("button", name="同意", exact=True))
    assert any("解除就业协议" in d for d in emp.dialogs), emp.dialogs
    assert server.query("SELECT status FROM termination WHERE id = ?", tid) == [("agreed",)]

    sch = actors("school")
    sch.nav("解约审核")
    row = sch.page.locator("tbody tr", has_text=number)
    if row.count() == 0:
        sch.goto("/school/terminations/?status=agreed")
        row = sch.page.locator("tbody tr", has_text=number)
    expect(row).to_have_count(1)
    sch.shot("school-terminations")
    sch.submit(row.get_by_role("link", name="审核"))
    sch.shot("school-termination")
    sch.submit(sch.page.get_by_role("button", name="解约审核通过"))
    assert any("解约审核通过" in d for d in sch.dialogs), sch.dialogs
    assert server.query("SELECT status FROM termination WHERE id = ?", tid) == [("approved",)]
    assert server.query("SELECT status FROM agreement WHERE id = ?", STATE["agreement_id"]) == [("terminated",)]


# ---------------------------------------------------------------- 6. candidate spreadsheet

def test_employer_imports_candidate_spreadsheet(server, actors, tmp_path):
    target = student_row(server, "0023")
    emp = actors("employer")
    if "/employer" not in emp.page.url:
        emp.login("emp-guanggu")
    emp.goto("/employer/import/")
    expect(emp.page.locator(".panel-heading").filter(has_text="导入拟签约名单").first).to_be_visible()
    emp.shot("employer-import")
    data = emp.download(lambda: emp.page.locator("a.btn", has_text="下载模板").click())
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]][:4] == ["毕业院校", "毕业年度", "姓名", "身份证号或手机号"]
    for col, value in enumerate([SCHOOL, str(target["year"]), target["name"], target["id_number"]], start=1):
        ws.cell(row=2, column=col, value=value)
    path = tmp_path / "拟签约名单.xlsx"
    wb.save(path)

    emp.page.set_input_files("#import-file", str(path))
    emp.submit(emp.page.get_by_role("button", name="上传并导入"))
    expect(emp.page.locator("h3")).to_contain_text("导入结果")
    expect(emp.page.locator("#run-progress")).to_have_count(0, timeout=30_000)  # the run page reloads when done
    expect(emp.page.locator("#import-summary")).to_be_visible()
    assert "导入失败" not in emp.page.locator("body").inner_text()
    emp.shot("employer-import-result")

    emp.nav("签约发送")
    expect(emp.page.locator("tbody tr", has_text=target["name"])).to_have_count(1)
    assert server.query(
        "SELECT count(*) FROM invite_list_entry e JOIN employer m ON m.id = e.employer_id "
        "WHERE e.student_id = ? AND m.name = '武汉光谷云帆信息技术有限公司'", target["id"]) == [(1,)]


# ---------------------------------------------------------------- the 解约须知 dialog, one step at a time

def test_termination_dialog_shows_one_step_at_a_time(server, actors):
    """Another graduate with a certified demo agreement (武汉大学 student 6, 数据分析师): nothing is sent."""
    other = student_row(server, "0006")
    stu = actors("student-2")
    stu.student_login(SCHOOL, other["student_no"])
    stu.nav("解约办理")
    stu.page.locator("tbody tr", has_text="数据分析师").get_by_role("button", name="解约申请").click()
    expect(stu.page.locator("#termination-modal")).to_be_visible()
    stu.page.wait_for_timeout(300)
    stu.shot("student-termination-notice")
    assert stu.page.locator("#to-reason").is_visible()
    assert not stu.page.locator("#send-termination").is_visible(), "确定 is shown before the notice is accepted"
    stu.page.check("#termination-agree")
    stu.page.click("#to-reason")
    assert stu.page.locator("#send-termination").is_visible()
    assert not stu.page.locator("#to-reason").is_visible(), "申请解约 is still shown on the reason step"


# ---------------------------------------------------------------- error pages look like the portal

def test_not_found_page_is_styled_and_chinese(server, actors):
    emp = actors("employer")
    if "/employer" not in emp.page.url:
        emp.login("emp-guanggu")
    response = emp.page.goto(server.url("/employer/offers/999999"))
    assert response.status == 404
    text = emp.page.locator("body").inner_text()
    emp.shot("employer-404")
    assert not re.search(r"Not Found|The requested URL", text), text[:300]

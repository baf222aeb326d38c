"""First login in a real browser (manual §2.1, §2.2, FAQ 1): 单位注册 with the cascading region
picker → login → 签约信息确认; a new graduate activates the login by an SMS code (no initial password, R18) → 信息验证 → home
with its 账号安全记录; a school's phone change shows there too."""
import re

from playwright.sync_api import expect

from app.demo import credit_code
from tests.support.browser_server import NEW_STUDENT

NEW_PASSWORD = "Graduate2026x"
EMPLOYER_PASSWORD = "Employer2026x"


def unlabelled_fields(page, form_selector):
    """Names of visible inputs/selects/textareas in the form that no label names."""
    return page.evaluate("""(sel) => [...document.querySelectorAll(sel + ' input, ' + sel + ' select, ' + sel + ' textarea')]
        .filter(el => el.type !== 'hidden' && el.type !== 'submit' && el.offsetParent !== null)
        .filter(el => !(el.id && document.querySelector('label[for="' + el.id + '"]')) && !el.getAttribute('aria-label') && !el.closest('label'))
        .map(el => el.name || el.id || el.outerHTML.slice(0, 60))""", form_selector)


def test_employer_registers_logs_in_and_confirms_profile(server, actors):
    new = actors("new-employer")
    new.goto("/login/")
    new.shot("login")
    new.submit(new.page.get_by_role("link", name="单位注册"))
    page = new.page
    expect(page.locator(".panel-title")).to_have_text("用人单位注册")
    assert unlabelled_fields(page, "form.form-horizontal") == []

    code = credit_code("91420111", "MA4KB7X2")
    page.fill("#name", "武汉江城智造科技有限公司")
    page.fill("#credit_code", code)
    page.select_option("#nature", index=1)
    page.select_option("#industry", index=9)
    picker = page.locator(".region-picker")
    picker.get_by_label("省").select_option(label="湖北省")
    expect(picker.get_by_label("市").locator("option", has_text="武汉市")).to_have_count(1)
    picker.get_by_label("市").select_option(label="武汉市")
    expect(picker.get_by_label("区县").locator("option", has_text="洪山区")).to_have_count(1)
    picker.get_by_label("区县").select_option(label="洪山区")
    assert page.input_value("#region") == "420111"
    page.fill("#contact_name", "郑经理")
    page.fill("#contact_phone", "13907150001")
    page.fill("#email", "hr@jiangcheng.example.com")
    page.fill("#address", "武汉市洪山区光谷大道77号")
    page.get_by_label("武汉大学").check()
    page.fill("#username", "jc-hr")
    page.fill("#password", EMPLOYER_PASSWORD)
    page.fill("#password2", EMPLOYER_PASSWORD)
    new.shot("employer-register")
    new.submit(page.get_by_role("button", name="注册"))
    expect(page.locator(".alert-success")).to_contain_text("注册成功")
    assert server.query("SELECT region, credit_code FROM employer WHERE name = '武汉江城智造科技有限公司'") == [
        ("420111", code)]

    new.login("jc-hr", EMPLOYER_PASSWORD)
    assert page.url.endswith("/employer/confirm"), page.url  # the first-login guard
    expect(page.locator("h3")).to_have_text("签约信息确认")
    assert unlabelled_fields(page, "form.form-horizontal") == []
    # The region picker shows the registered 洪山区.
    expect(page.locator(".region-picker").get_by_label("区县")).to_have_value("420111")
    new.shot("employer-confirm")
    page.select_option("#archive_mode", value="employer")
    page.fill("#archive_unit", "武汉江城智造科技有限公司人力资源部")
    page.fill("#archive_address", "武汉市洪山区光谷大道77号")
    page.fill("#archive_postcode", "430074")
    page.fill("#archive_contact", "郑经理")
    page.fill("#archive_phone", "13907150001")
    page.select_option("#hukou_mode", value="none")
    new.submit(page.get_by_role("button", name="确认"))
    expect(page.locator(".alert-success")).to_contain_text("签约信息已确认")
    expect(page.locator(".alert-warning")).to_contain_text("等待学校审核")
    new.shot("employer-home-pending")
    [(confirmed,)] = server.query("SELECT profile_confirmed_at FROM employer WHERE name = '武汉江城智造科技有限公司'")
    assert confirmed


def _sms_code(server, phone):
    rows = server.query("SELECT body FROM sms_message WHERE phone = ? ORDER BY id DESC", phone)
    assert rows, "no SMS recorded by the dev backend"
    return re.search(r"\d{6}", rows[0][0]).group(0)


def test_region_picker_chooses_a_directly_administered_unit_and_a_municipal_county(server, actors):
    visitor = actors("region-picker")
    visitor.goto("/register/")
    picker = visitor.page.locator(".region-picker")
    picker.get_by_label("省").select_option(label="湖北省")
    expect(picker.get_by_label("市").locator("option", has_text="仙桃市")).to_have_count(1)
    picker.get_by_label("市").select_option(label="仙桃市")
    expect(picker.get_by_label("区县")).to_be_disabled()  # county-level: nothing below
    assert visitor.page.input_value("#region") == "429004"
    picker.get_by_label("省").select_option(label="重庆市")
    expect(picker.get_by_label("市").locator("option", has_text="城口县")).to_have_count(1)
    picker.get_by_label("市").select_option(label="城口县")
    assert visitor.page.input_value("#region") == "500229"


def test_new_student_activates_by_sms_then_verifies(server, actors):
    """R18: no initial password. 首次登录 / 忘记密码 → an SMS code to the phone on file → the student
    sets the password → 信息验证 without a second code → 账号安全记录 on the home page."""
    [(id_number, phone)] = server.query("SELECT id_number, phone FROM student WHERE student_no = ?",
                                        NEW_STUDENT["student_no"])
    stu = actors("new-student")
    page = stu.page
    # The ID-derived password of the old rule opens nothing.
    stu.student_login("武汉大学", NEW_STUDENT["student_no"], "Jy" + id_number[-6:].upper())
    assert "/login" in page.url
    expect(page.locator(".alert")).to_contain_text("学校、学号/身份证号或密码不正确")
    stu.shot("student-login")

    stu.submit(page.locator("#activate-link"))
    assert "/recover/activate" in page.url, page.url
    assert unlabelled_fields(page, "#activate-form") == []
    option = page.locator("#school option", has_text="武汉大学").first
    page.select_option("#school", value=option.get_attribute("value"))
    page.fill("#account", NEW_STUDENT["student_no"])
    stu.submit(page.locator("#send-code"))
    expect(page.locator(".alert-success")).to_contain_text("验证码已发送至学校登记的手机号")
    code = _sms_code(server, phone)
    # A wrong code first: refused next to the field.
    page.fill("#code", "000000" if code != "000000" else "111111")
    page.fill("#password", NEW_PASSWORD)
    page.fill("#password2", NEW_PASSWORD)
    stu.submit(page.locator("#activate"))
    expect(page.locator(".field-error")).to_contain_text("验证码不正确")
    stu.shot("student-activate")
    page.fill("#code", code)
    page.fill("#password", NEW_PASSWORD)
    page.fill("#password2", NEW_PASSWORD)
    stu.submit(page.locator("#activate"))
    expect(page.locator(".alert-success")).to_contain_text("密码已设置")

    stu.student_login("武汉大学", NEW_STUDENT["student_no"], NEW_PASSWORD)
    assert page.url.endswith("/student/verify"), page.url
    expect(page.locator("h3")).to_have_text("信息验证")
    expect(page.locator("#verify-form")).to_contain_text("手机号已在设置密码时通过短信验证")
    assert page.locator("#code").count() == 0
    assert unlabelled_fields(page, "#verify-form") == []
    page.fill("#email", "ouyang.xs@example.com")
    page.fill("#address", "湖北省武汉市武昌区八一路299号")
    stu.shot("student-verify")
    stu.submit(page.get_by_role("button", name="认证"))
    expect(page.locator(".alert-success")).to_contain_text("信息验证通过")
    expect(page.locator(".stat-card", has_text="邀约待办").locator(".num a")).to_have_text("0")
    events = page.locator(".account-events")
    expect(events).to_contain_text("账号安全记录")
    expect(events).to_contain_text("账号激活（短信验证）")
    [(verified,)] = server.query("SELECT verified_at FROM student WHERE student_no = ?", NEW_STUDENT["student_no"])
    assert verified

    # 忘记密码 later: the same SMS path, reached from the student tab, by 身份证号 this time.
    stu.goto("/logout/")  # asks first (退出 is a POST)
    stu.submit(page.get_by_role("button", name="退出登录"))
    stu.goto("/login/?mode=student")
    stu.submit(page.locator("#activate-link"))
    option = page.locator("#school option", has_text="武汉大学").first
    page.select_option("#school", value=option.get_attribute("value"))
    page.fill("#account", id_number)
    before = len(server.query("SELECT id FROM sms_message WHERE phone = ?", phone))
    stu.submit(page.locator("#send-code"))
    # SMS_PER_PHONE_MINUTE: a second code within the minute is not sent, the answer is the same.
    expect(page.locator(".alert-success")).to_contain_text("验证码已发送至学校登记的手机号")
    assert len(server.query("SELECT id FROM sms_message WHERE phone = ?", phone)) == before
    stu.student_login("武汉大学", id_number, NEW_PASSWORD)
    assert "/student" in page.url, page.url


def test_school_phone_change_shows_in_the_students_account_events(server, actors):
    """R18: the school edits a verified student's phone → recorded, masked, on the student's home."""
    [(student_id, student_no, old_phone)] = server.query(
        "SELECT id, student_no, phone FROM student WHERE name = '欧阳新生'")
    school = actors("school-10486")
    school.login("school-10486")
    school.goto(f"/school/students/{student_id}/edit")
    school.page.fill("#phone", "13886009988")
    school.submit(school.page.get_by_role("button", name="保存"))
    expect(school.page.locator(".alert-success")).to_contain_text("学生信息已保存")
    [(body,)] = server.query("SELECT body FROM sms_message WHERE phone = ? ORDER BY id DESC LIMIT 1", old_phone)
    assert "手机号变更" in body

    stu = actors("student-after-change")
    stu.student_login("武汉大学", student_no, NEW_PASSWORD)
    assert stu.page.url.endswith("/student/verify"), stu.page.url  # must verify again, with a code
    page = stu.page
    assert page.locator("#code").count() == 1
    stu.submit(page.locator("#send-code"))
    page.fill("#email", "ouyang.xs@example.com")
    page.fill("#address", "湖北省武汉市武昌区八一路299号")
    page.fill("#code", _sms_code(server, "13886009988"))
    stu.submit(page.get_by_role("button", name="认证"))
    expect(page.locator(".alert-success")).to_contain_text("信息验证通过")
    events = page.locator(".account-events")
    expect(events).to_contain_text("手机号变更")
    expect(events).to_contain_text("138****9901 → 138****9988")
    expect(events).to_contain_text("武汉大学")
    stu.shot("student-account-events")

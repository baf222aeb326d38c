"""First login in a real browser (manual §2.1, §2.2, FAQ 1): 单位注册 with the cascading region
picker → login → 签约信息确认; a new graduate logs in by 学号 with the initial password → forced
修改密码 → 信息验证 with the SMS code (dev backend: read from sms_message) → home."""
import re

from playwright.sync_api import expect

from app.accounts import initial_password
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


class _Id:
    def __init__(self, number):
        self.id_number = number


def test_new_student_changes_password_and_verifies_by_sms(server, actors):
    [(id_number, phone)] = server.query("SELECT id_number, phone FROM student WHERE student_no = ?",
                                        NEW_STUDENT["student_no"])
    stu = actors("new-student")
    page = stu.page
    # A wrong password: a Chinese message, still on the student tab.
    stu.student_login("武汉大学", NEW_STUDENT["student_no"], "Wrong2026x")
    assert "/login" in page.url
    expect(page.locator(".alert")).to_contain_text("学校、学号/身份证号或密码不正确")
    stu.shot("student-login")

    stu.student_login("武汉大学", NEW_STUDENT["student_no"], initial_password(_Id(id_number)))
    assert page.url.endswith("/account/password") or "password" in page.url, page.url
    expect(page.locator(".alert-warning")).to_contain_text("首次登录请先修改初始密码")
    assert unlabelled_fields(page, "form.form-horizontal") == []
    # Mismatched new passwords: the message sits next to the field.
    page.fill("#old_password", initial_password(_Id(id_number)))
    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#new_password2", NEW_PASSWORD + "y")
    stu.submit(page.get_by_role("button", name="确认修改"))
    expect(page.locator(".field-error")).to_have_count(1)
    stu.shot("student-password")
    page.fill("#old_password", initial_password(_Id(id_number)))
    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#new_password2", NEW_PASSWORD)
    stu.submit(page.get_by_role("button", name="确认修改"))

    assert page.url.endswith("/student/verify"), page.url
    expect(page.locator("h3")).to_have_text("信息验证")
    assert unlabelled_fields(page, "#verify-form") == []
    page.fill("#email", "ouyang.xs@example.com")
    page.fill("#address", "湖北省武汉市武昌区八一路299号")
    stu.submit(page.locator("#send-code"))
    rows = server.query("SELECT body FROM sms_message WHERE phone = ? ORDER BY id DESC", phone)
    assert rows, "no SMS recorded by the dev backend"
    code = re.search(r"\d{6}", rows[0][0]).group(0)
    # A wrong code first: refused next to the field, not verified.
    if page.input_value("#email") == "":
        page.fill("#email", "ouyang.xs@example.com")
        page.fill("#address", "湖北省武汉市武昌区八一路299号")
    page.fill("#code", "000000" if code != "000000" else "111111")
    stu.submit(page.get_by_role("button", name="认证"))
    expect(page.locator(".field-error")).to_be_visible()
    stu.shot("student-verify")
    if page.input_value("#email") == "":
        page.fill("#email", "ouyang.xs@example.com")
        page.fill("#address", "湖北省武汉市武昌区八一路299号")
    page.fill("#code", code)
    stu.submit(page.get_by_role("button", name="认证"))
    expect(page.locator(".alert-success")).to_contain_text("信息验证通过")
    expect(page.locator(".stat-card", has_text="邀约待办").locator(".num a")).to_have_text("0")
    [(verified,)] = server.query("SELECT verified_at FROM student WHERE student_no = ?", NEW_STUDENT["student_no"])
    assert verified

    # The new password works from now on; the initial one does not.
    stu.goto("/logout/")  # asks first (退出 is a POST)
    stu.submit(page.get_by_role("button", name="退出登录"))
    stu.student_login("武汉大学", id_number, NEW_PASSWORD)  # by 身份证号 this time
    assert "/student" in page.url, page.url

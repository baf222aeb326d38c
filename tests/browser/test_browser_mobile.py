"""The graduate's journey on a phone (issue 25): 390×844, Chromium's mobile emulation with touch.
Every page on the way passes tests/support/phone.py `check_page` (no sideways scrolling, no text
over text, touch targets ≥ 44 px, text ≥ 12 px, the role menu closed, no serious or critical
axe-core violation) and is photographed into docs/screenshots/mobile/ (UPDATE_SCREENSHOTS=1) or
pytest's tmp dir; a button scrolled to is not under the tab bar.

The student's side is done on the phone; the employers' offers and the school's certification
are written by the workflow functions, in this process, on the server's database file.
One graduate of 华中科技大学 (10487), the demo's 未验证 one, goes from the SMS code of 信息验证 to
a certified agreement, its PDF and 解约申请, then changes the password and logs in with the new one;
another records a 纸质签约 with a camera photo as the scan; a third registers 其他去向 (自主创业, the
营业执照 photographed); the demo's graduate whom the employer asked to 解约 agrees; the demo's
certified 纸质签约 is ended with a photographed release letter; one whose password an administrator
reset changes it at the next login.
Static bytes: a first visit stays under 300 KB, later pages take the static files from the cache.
"""
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DEMO_PASSWORD, Actor
from tests.browser.test_browser_first_login import _sms_code
from app.demo import credit_code
from tests.support.phone import PHONE, check_page

STATE = {}
SCHOOL = "华中科技大学"
BUDGET_BYTES = 300 * 1024
USER_AGENT = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/120.0.0.0 Mobile Safari/537.36")
# A small real JPEG (a phone camera's format): 8×8 grey, baseline.
JPEG_BYTES = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f14"
    "1d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080008000801011100"
    "ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000"
    "017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a2526272829"
    "2a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a9293"
    "9495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8"
    "e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbfcffd9")


def need(*keys):
    missing = [k for k in keys if k not in STATE]
    if missing:
        pytest.skip(f"an earlier step failed ({', '.join(missing)} missing)")


class Phone(Actor):
    """An Actor on a phone: every shot is checked first, and files go to <shots>/mobile/."""

    def shot(self, name, full_page=False, top=True):
        if top:
            self.page.evaluate("window.scrollTo(0, 0)")
        problems = check_page(self.page)
        assert problems == [], f"{name} ({self.page.url}):\n" + "\n".join(problems)
        folder = self.shots / "mobile"
        folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page, scale="css")

    def tap(self, locator):
        """A tap that loads a new page."""
        with self.page.expect_navigation():
            locator.tap()
        self.page.wait_for_load_state()

    def reach(self, locator):
        """Scroll `locator` into view as the browser does (focus, validation) and assert that it is
        the element under its own centre: not hidden behind the tab bar."""
        locator.scroll_into_view_if_needed()
        covered = locator.evaluate("""el => { const r = el.getBoundingClientRect();
          const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
          return el.contains(top) ? null : (top ? top.outerHTML.slice(0, 80) : 'nothing'); }""")
        assert covered is None, f"{locator} is under {covered}"

    def send(self, button, shot, asked, done):
        """A form sent by `button` after a confirm(): the form photographed as `shot` with the button
        in reach, the question containing `asked` accepted, the page after it saying `done`."""
        self.reach(button)
        self.shot(shot, top=False)
        self.tap(button)
        assert any(asked in d for d in self.dialogs), self.dialogs
        expect(self.page.locator(".alert-success")).to_contain_text(done)

    def menu(self, label):
        """我的 (the tab bar) → the role menu's entry `label`."""
        self.page.locator(".mobile-tabs").get_by_role("link", name="我的").tap()
        self.tap(self.page.locator("#portal-menu").get_by_role("link", name=label))

    def photo(self, field, name):
        """拍照上传 beside the file field `field`: the camera input (image/*, the back camera) takes a
        JPEG called `name`, and the page puts it into `field`, which the form sends."""
        page = self.page
        camera = page.locator(f"#{field}-camera")
        assert camera.get_attribute("capture") == "environment" and camera.get_attribute("accept") == "image/*"
        with page.expect_file_chooser() as chooser:
            page.locator(f"label[for={field}-camera]").tap()
        chooser.value.set_files(files=[{"name": name, "mimeType": "image/jpeg", "buffer": JPEG_BYTES}])
        assert page.evaluate(f"document.getElementById('{field}').files[0].name") == name
        page.locator(f"label[for={field}-camera]").scroll_into_view_if_needed()


def phone_context(browser):
    return browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                               user_agent=USER_AGENT, locale="zh-CN", timezone_id="Asia/Shanghai",
                               accept_downloads=True)


@pytest.fixture(scope="module")
def phones(browser, server, shots_dir):
    made = {}

    def get(name):
        if name not in made:
            made[name] = Phone(phone_context(browser), server, shots_dir)
        return made[name]

    yield get
    for actor in made.values():
        actor.context.close()


@pytest.fixture(scope="module")
def office(server):
    """The employers' and the school's side: an app on the server's database file, in this process."""
    from app import create_app

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + server.db_path, "SECRET_KEY": "browser-tests-secret-0123456789abcdef",
        "SERVER_NAME": None, "REDIS_URL": None, "RATELIMIT_ENABLED": False, "COOLING_OFF_MINUTES": 0,
        "UPLOAD_DIR": str(Path(server.db_path).parent / "uploads"), "SMS_BACKEND": "dev", "MAIL_SERVER": None,
        "PUBLIC_BASE_URL": "http://127.0.0.1"})
    return app


# A graduate of 10487 who may sign and has no agreement and no other destination yet.
FREE = ("s.verified_at IS NOT NULL AND s.signing_restricted = 0 AND s.plan_submitted = 0 "
        "AND s.training_mode = 'non_targeted' AND NOT EXISTS (SELECT 1 FROM agreement a "
        "WHERE a.student_id = s.id) AND NOT EXISTS (SELECT 1 FROM destination d WHERE d.student_id = s.id)")


def _student(server, where):
    [row] = server.query(
        "SELECT s.id, s.student_no, s.phone FROM student s JOIN school c ON c.id = s.school_id "
        "WHERE c.code = '10487' AND " + where + " ORDER BY s.id LIMIT 1")
    return dict(zip(("id", "student_no", "phone"), row))


def _send_offers(office, student_id):
    """Two offers, from 光谷云帆 and from 长江, sent now (workflow.invite)."""
    from app import workflow
    from app.extensions import db
    from app.models import Employer, Student
    from tests.support.factories import valid_terms

    now = datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(minutes=5)
    with office.app_context():
        student = db.session.get(Student, student_id)
        ids = {}
        for prefix, position in (("武汉光谷", "移动开发工程师"), ("湖北长江", "数据工程师")):
            employer = db.session.query(Employer).filter(Employer.name.startswith(prefix)).one()
            agreement = workflow.invite(employer, [student], valid_terms(position=position), now=now)[0]
            ids[position] = agreement.id
        db.session.remove()
    return ids


def _certify(office, agreement_id):
    from app import workflow
    from app.extensions import db
    from app.models import Agreement

    with office.app_context():
        reviewer = office.appbuilder.sm.find_user(username="school-10487")
        workflow.certify(reviewer, db.session.get(Agreement, agreement_id))
        db.session.remove()


# ---------------------------------------------------------------- public pages

def test_login_tabs_register_and_verify_fit_a_phone(phones):
    anon = phones("anonymous")
    anon.goto("/login/")
    anon.shot("login")
    anon.tap(anon.page.get_by_role("link", name="毕业生登录"))
    expect(anon.page.locator("#school")).to_be_visible()
    anon.shot("login-student")
    anon.tap(anon.page.locator("#activate-link"))
    anon.shot("activate")
    anon.goto("/register/")
    anon.shot("register")
    anon.page.locator("form button[type=submit]").last.scroll_into_view_if_needed()
    anon.shot("register-bottom", top=False)
    anon.page.goto(anon.server.url("/verify?number=420000000000000&code=ABCD1234"))  # 404, by design
    expect(anon.page.locator(".verify-error")).to_be_visible()
    anon.shot("verify-not-found")


# ---------------------------------------------------------------- the graduate's journey

def test_student_verifies_with_sms_code_on_phone(server, phones):
    student = _student(server, "s.verified_at IS NULL AND s.name != '欧阳新生'")
    stu = phones("student")
    stu.student_login(SCHOOL, student["student_no"], DEMO_PASSWORD)
    page = stu.page
    assert page.url.endswith("/student/verify"), page.url
    stu.shot("verify")
    stu.tap(page.locator("#send-code"))
    page.fill("#email", "mobile.grad@example.com")
    page.fill("#address", "湖北省武汉市洪山区珞喻路1037号")
    page.fill("#code", _sms_code(server, student["phone"]))
    stu.shot("verify-filled")
    stu.tap(page.get_by_role("button", name="认证"))
    expect(page.locator(".alert-success")).to_contain_text("信息验证通过")
    expect(page.locator(".mobile-tabs")).to_be_visible()
    expect(page.locator(".portal-side")).to_be_hidden()
    stu.shot("home")
    STATE["student"] = student


def test_student_rejects_one_offer_and_accepts_the_other(server, phones, office):
    need("student")
    STATE["offers"] = offers = _send_offers(office, STATE["student"]["id"])
    stu = phones("student")
    page = stu.page
    stu.goto("/student/")
    expect(page.locator(".stat-card", has_text="邀约待办").locator(".num a")).to_have_text("2")
    stu.shot("home-todo")
    stu.tap(page.locator(".mobile-tabs").get_by_role("link", name="电子签约"))
    cards = page.locator("table.cards tbody tr")
    expect(cards).to_have_count(2)
    # One card per offer: its deadline and its buttons are on the screen, no sideways scroll.
    card = cards.filter(has_text="数据工程师")
    expect(card.locator("td[data-label=应约过期日期]")).to_be_in_viewport()
    stu.shot("offers")

    stu.tap(card.get_by_role("link", name="查看邀请函"))
    stu.shot("offer-reject")
    stu.tap(page.get_by_role("button", name="拒绝"))
    assert any("拒绝" in d for d in stu.dialogs), stu.dialogs
    assert server.query("SELECT status FROM agreement WHERE id = ?", offers["数据工程师"]) == [("rejected",)]

    stu.goto("/student/offers")
    stu.tap(page.locator("table.cards tbody tr", has_text="移动开发工程师").get_by_role("link", name="查看邀请函"))
    expect(page.locator(".letter")).to_contain_text("移动开发工程师")
    stu.shot("offer")
    page.locator(".letter").scroll_into_view_if_needed()
    stu.shot("offer-letter", top=False)
    page.get_by_role("button", name="同意").tap()
    modal = page.locator("#sign-modal")
    expect(modal.locator(".modal-title")).to_have_text("签约前必读")
    page.wait_for_timeout(400)  # the fade-in
    for button in ("#sign-now", "#agree"):
        expect(page.locator(button)).to_be_in_viewport()
    page.locator("label", has=page.locator("#agree")).tap()
    expect(page.locator("#agree")).to_be_checked()
    stu.shot("sign-dialog", top=False)
    stu.tap(page.locator("#sign-now"))
    expect(page.locator(".alert-success")).to_be_visible()
    assert server.query("SELECT status FROM agreement WHERE id = ?", offers["移动开发工程师"]) == [("accepted",)]
    STATE["accepted"] = offers["移动开发工程师"]


def test_student_reads_the_certified_agreement_and_downloads_the_pdf(server, phones, office):
    need("accepted")
    _certify(office, STATE["accepted"])
    [(number, code)] = server.query("SELECT number, check_code FROM agreement WHERE id = ?", STATE["accepted"])
    stu = phones("student")
    page = stu.page
    stu.goto("/student/offers")
    stu.tap(page.locator("table.cards tbody tr", has_text="移动开发工程师").get_by_role("link", name="查看详情"))
    expect(page.locator("body")).to_contain_text(number)
    stu.shot("detail")
    page.locator("table.trace").scroll_into_view_if_needed()
    stu.shot("detail-trace", top=False)
    pdf = stu.download(lambda: page.get_by_role("link", name="下载协议书").tap())
    assert pdf.startswith(b"%PDF")

    anon = phones("anonymous")
    anon.goto(f"/verify?number={number}&code={code}")
    expect(anon.page.locator(".verify-result")).to_contain_text(number)
    anon.shot("verify-certified")
    STATE["number"] = number


def test_student_asks_to_terminate_in_a_dialog_that_fits(server, phones):
    need("number")
    stu = phones("student")
    page = stu.page
    stu.goto("/student/terminations")
    card = page.locator("table.cards tbody tr", has_text=STATE["number"])
    stu.shot("terminations")
    card.get_by_role("button", name="解约申请").tap()
    expect(page.locator("#termination-modal .modal-title")).to_have_text("解约须知")
    page.wait_for_timeout(400)
    stu.shot("termination-notice", top=False)
    page.locator("label", has=page.locator("#termination-agree")).tap()
    page.locator("#to-reason").tap()
    page.fill("#reason", "考取研究生，申请解除协议")
    expect(page.locator("#send-termination")).to_be_in_viewport()
    stu.shot("termination-reason", top=False)
    stu.tap(page.locator("#send-termination"))
    expect(page.locator(".alert-success")).to_be_visible()
    assert server.query("SELECT t.status FROM termination t WHERE t.agreement_id = ?", STATE["accepted"]) == [
        ("requested",)]


def test_messages_menu_account_and_password_pages(phones):
    need("student")
    stu = phones("student")
    page = stu.page
    stu.goto("/student/")
    page.locator(".mobile-tabs").get_by_role("link", name="消息").tap()
    expect(page.locator("#messages")).to_be_in_viewport()
    expect(page.locator("#messages")).to_contain_text("邀请")
    stu.shot("messages", top=False)
    page.locator(".mobile-tabs").get_by_role("link", name="我的").tap()
    menu = page.locator("#portal-menu")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("button", name="退出")).to_be_visible()
    stu.shot("menu", top=False)
    stu.tap(menu.get_by_role("link", name="基本信息管理"))
    stu.shot("account")
    stu.goto("/account/password")
    stu.shot("password")
    stu.goto("/student/destinations")
    stu.shot("destinations-blocked")


def test_paper_agreement_with_a_camera_photo(server, phones):
    student = _student(server, FREE)
    stu = phones("paper")
    stu.student_login(SCHOOL, student["student_no"], DEMO_PASSWORD)
    page = stu.page
    stu.menu("纸质签约")
    stu.shot("paper")
    stu.tap(page.get_by_role("link", name="录入协议书"))
    stu.shot("paper-form")
    page.fill("#employer_name", "湖北楚天新材料有限公司")
    page.fill("#employer_credit_code", credit_code("91420111", "MB7Q3M2K"))
    page.select_option("#job_category", index=1)
    page.fill("#position", "材料工程师")
    for field in ("#report_region", "#work_region"):
        page.select_option(field, value="420111", force=True)
    page.fill("#report_deadline", "2027-07-31")
    page.fill("#contact_name", "周经理")
    page.fill("#contact_phone", "13907150002")
    page.select_option("#archive_mode", value="none")
    page.select_option("#hukou_mode", value="none")
    stu.photo("proof", "协议书.jpg")
    stu.shot("paper-form-photo", top=False)
    stu.tap(page.get_by_role("button", name="提交审核"))
    expect(page.locator(".alert-success")).to_be_visible()
    [(status, proof)] = server.query("SELECT status, proof_path FROM agreement WHERE student_id = ?", student["id"])
    assert status == "accepted" and proof.endswith((".jpg", ".jpeg")), (status, proof)
    stu.shot("paper-recorded")


def test_other_destination_with_a_camera_photo(server, phones):
    """其他去向: 自主创业 with its region picker and the 营业执照 photographed; then the submitted
    registration as a card (待审核, 撤回) and the form gone."""
    student = _student(server, FREE)
    stu = phones("destination")
    stu.student_login(SCHOOL, student["student_no"], DEMO_PASSWORD)
    page = stu.page
    stu.menu("其他去向")
    expect(page.locator("#kind")).to_be_visible()
    stu.shot("destination-form")
    page.select_option("#kind", value="75")
    page.fill('[id="75-company"]', "武汉掌上优才科技有限公司")
    page.fill('[id="75-credit_code"]', credit_code("91420111", "MD5P8Q1R"))
    page.select_option("#region", value="420111", force=True)
    expect(page.locator("#region-group .select2-selection__rendered")).to_contain_text("洪山区")
    expect(page.locator("#proof-what")).to_contain_text("营业执照")
    stu.photo("proof", "营业执照.jpg")
    stu.send(page.get_by_role("button", name="提交审核"), "destination-form-filled", "提交该去向登记", "去向已登记")
    [(kind, status, proof)] = server.query("SELECT kind, status, proof_path FROM destination WHERE student_id = ?",
                                           student["id"])
    assert (kind, status) == ("75", "submitted") and proof.endswith((".jpg", ".jpeg")), (kind, status, proof)
    card = page.locator("table.cards tbody tr", has_text="自主创业")
    expect(card.locator("td[data-label=审核状态]")).to_contain_text("待审核")
    expect(card.get_by_role("button", name="撤回")).to_be_in_viewport()
    expect(page.locator("#kind")).to_have_count(0)
    stu.shot("destination-submitted")


def _logged_in(server, phones, name, sql):
    """The phone `name`, logged in as the one graduate `sql` finds (学号 first), and the row's other columns."""
    [(student_no, *rest)] = server.query(sql)
    stu = phones(name)
    stu.student_login(SCHOOL, student_no, DEMO_PASSWORD)
    return stu, rest


def test_student_agrees_to_the_employers_termination_request(server, phones):
    """解约办理 when the employer asked (the demo's 单位提出 解约 at 10487): the request, 同意 with a
    reply, then the list."""
    stu, (termination_id, number) = _logged_in(server, phones, "answer", (
        "SELECT s.student_no, t.id, a.number FROM termination t JOIN agreement a ON a.id = t.agreement_id "
        "JOIN student s ON s.id = a.student_id JOIN school c ON c.id = s.school_id "
        "WHERE c.code = '10487' AND t.initiator = 'employer' AND t.status = 'requested'"))
    page = stu.page
    todo = page.locator(".stat-card", has_text="解约待办").locator(".num a")
    expect(todo).to_have_text("1")
    stu.tap(todo)
    card = page.locator("table.cards tbody tr", has_text=number)
    expect(card.locator("td[data-label=解约发起人]")).to_have_text("单位")
    stu.shot("terminations-employer-asked")
    stu.tap(card.get_by_role("link", name="查看解约"))
    expect(page.locator("body")).to_contain_text("单位岗位调整")
    stu.shot("termination-from-employer")
    page.fill("#remark", "同意解约，感谢贵单位")
    stu.send(page.get_by_role("button", name="同意"), "termination-answer", "确定同意解约", "已同意解约")
    assert server.query("SELECT status FROM termination WHERE id = ?", termination_id) == [("agreed",)]
    card = page.locator("table.cards tbody tr", has_text=number)
    expect(card.locator("td[data-label=解约状态]")).to_have_text("等待解约审核")
    stu.reach(card.get_by_role("link", name="查看解约"))
    stu.shot("termination-agreed", top=False)


def test_paper_agreement_termination_with_a_photographed_release_letter(server, phones):
    """解约 of a certified 纸质签约 (the demo's at 10487): the student sends the employer's release
    letter, photographed in the dialog, straight to the school; the record links it."""
    stu, (number,) = _logged_in(server, phones, "paper-termination", (
        "SELECT s.student_no, a.number FROM agreement a JOIN student s ON s.id = a.student_id "
        "JOIN school c ON c.id = s.school_id WHERE c.code = '10487' AND a.kind = 'paper' AND a.status = 'certified' "
        "AND NOT EXISTS (SELECT 1 FROM termination t WHERE t.agreement_id = a.id)"))
    page = stu.page
    stu.menu("解约办理")
    card = page.locator("table.cards tbody tr", has_text=number)
    card.get_by_role("button", name="解约申请").tap()
    page.wait_for_timeout(400)  # the fade-in
    page.locator("label", has=page.locator("#termination-agree")).tap()
    page.locator("#to-reason").tap()
    page.fill("#reason", "单位同意解约，已开具解约证明")
    stu.photo("proof", "解约证明.jpg")
    expect(page.locator("#send-termination")).to_be_in_viewport()
    stu.shot("termination-paper-reason", top=False)
    stu.tap(page.locator("#send-termination"))
    expect(page.locator(".alert-success")).to_contain_text("已提交至学校审核")
    [(proof,)] = server.query("SELECT t.proof_path FROM termination t JOIN agreement a ON a.id = t.agreement_id "
                              "WHERE a.number = ?", number)
    assert proof.endswith((".jpg", ".jpeg")), proof
    stu.tap(page.locator("table.cards tbody tr", has_text=number).get_by_role("link", name="查看解约"))
    expect(page.locator(".terms").get_by_role("link", name="查看")).to_be_visible()
    stu.shot("termination-paper")


NEW_PASSWORD = "Phone2026!b"


def _change_password(stu, old, new):
    page = stu.page
    page.fill("#old_password", old)
    page.fill("#new_password", new)
    page.fill("#new_password2", new)
    stu.tap(page.get_by_role("button", name="确认修改"))
    expect(page.locator(".alert-success")).to_contain_text("密码已修改")


def test_student_changes_the_password_and_logs_in_with_the_new_one(server, phones):
    need("student")
    stu = phones("student")
    page = stu.page
    stu.goto("/student/")
    stu.menu("修改密码")
    _change_password(stu, DEMO_PASSWORD, NEW_PASSWORD)
    stu.shot("password-changed")
    page.locator(".mobile-tabs").get_by_role("link", name="我的").tap()
    stu.tap(page.locator("#portal-menu").get_by_role("button", name="退出"))
    assert "/login" in page.url, page.url
    stu.student_login(SCHOOL, STATE["student"]["student_no"], DEMO_PASSWORD)
    expect(page.locator(".alert")).to_contain_text("密码不正确")  # the old one is gone
    stu.student_login(SCHOOL, STATE["student"]["student_no"], NEW_PASSWORD)
    assert page.url.endswith("/student/"), page.url
    expect(page.locator(".mobile-tabs")).to_be_visible()


def test_password_reset_by_the_administrator_is_changed_at_the_next_login(server, phones, office):
    """The forced 修改密码: an administrator's 重置密码 gives a temporary password; the first login
    with it opens 修改密码 (every other page leads there) until the graduate sets an own one."""
    student = _student(server, FREE)
    [(user_id,)] = server.query("SELECT id FROM ab_user WHERE student_id = ?", student["id"])
    with office.app_context():
        office.appbuilder.sm.reset_password(str(user_id), "Temp2026!r")
    stu = phones("forced")
    stu.student_login(SCHOOL, student["student_no"], "Temp2026!r")
    page = stu.page
    assert page.url.endswith("/account/password"), page.url
    expect(page.locator(".alert-warning")).to_contain_text("请先设置自己的新密码")
    stu.shot("password-forced")
    stu.goto("/student/offers")
    assert page.url.endswith("/account/password"), page.url
    _change_password(stu, "Temp2026!r", NEW_PASSWORD)
    assert page.url.endswith("/student/"), page.url
    expect(page.locator(".mobile-tabs")).to_be_visible()


# ---------------------------------------------------------------- bytes on a phone network

def _transfer_meter(context, page):
    """Bytes on the wire per request (CDP encodedDataLength: 0 for a file from the cache)."""
    client = context.new_cdp_session(page)
    client.send("Network.enable")
    seen = {}
    urls = {}
    client.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    client.on("Network.loadingFinished", lambda e: seen.__setitem__(urls.get(e["requestId"], e["requestId"]),
                                                                     e["encodedDataLength"]))
    return seen


def test_student_pages_stay_within_the_static_budget_and_are_cached(server, browser, capsys):
    context = phone_context(browser)
    try:
        page = context.new_page()
        seen = _transfer_meter(context, page)
        page.goto(server.url("/login/?mode=student"))
        page.wait_for_load_state("load")
        first = sum(seen.values())
        statics = [u for u in seen if "/static/" in u]
        assert statics and all("?v=" in u for u in statics), statics
        assert first <= BUDGET_BYTES, f"first visit: {first} bytes: {seen}"

        # The same files on the next pages: from the cache, not the network.
        student = _student(server, "s.verified_at IS NOT NULL AND s.training_mode = 'non_targeted' "
                                   "AND s.signing_restricted = 0 AND s.plan_submitted = 0")
        seen.clear()
        option = page.locator("#school option", has_text=SCHOOL).first
        page.select_option("#school", value=option.get_attribute("value"))
        page.fill("#username", student["student_no"])
        page.fill("#password", DEMO_PASSWORD)
        with page.expect_navigation():
            page.locator("input[type=submit]").tap()
        page.wait_for_load_state("load")
        assert "/student" in page.url, page.url
        home = {u: n for u, n in seen.items() if "/static/" in u}
        assert home and sum(home.values()) < 2048, f"static files fetched again on the home page: {home}"
        with capsys.disabled():
            print(f"\nphone bytes: login first visit {first} B; home after login {sum(seen.values())} B "
                  f"(static {sum(home.values())} B)")
    finally:
        context.close()


# ---------------------------------------------------------------- the checks can fail

def test_checks_find_the_desktop_layout_on_a_phone(server, browser):
    """Without app/static/mobile.css a student's home at 390 px is the desktop page shrunk: the
    checks must say so (the sidebar first, labels over their values, targets under 44 px); an
    unlabelled field is an axe-core violation."""
    context = phone_context(browser)
    try:
        context.route("**/static/mobile.css*", lambda route: route.fulfill(status=200, content_type="text/css", body=""))
        page = context.new_page()
        page.goto(server.url("/login/?mode=student"))
        student = _student(server, "s.verified_at IS NOT NULL AND s.training_mode = 'non_targeted' "
                                   "AND s.signing_restricted = 0 AND s.plan_submitted = 0")
        page.select_option("#school", value=page.locator("#school option", has_text=SCHOOL).first.get_attribute("value"))
        page.fill("#username", student["student_no"])
        page.fill("#password", DEMO_PASSWORD)
        with page.expect_navigation():
            page.locator("input[type=submit]").click()
        problems = check_page(page)
        for kind in ("menu:", "overlap:", "touch target:"):
            assert any(p.startswith(kind) for p in problems), (kind, problems)
        page.goto(server.url("/student/offers"))
        assert any(p.startswith("overflow:") for p in check_page(page)), check_page(page)
        # axe-core's part: a field nobody can name (critical: label) is found.
        page.evaluate("document.querySelector('.portal-main').insertAdjacentHTML('afterbegin', '<input type=text>')")
        assert any(p.startswith("axe critical label:") for p in check_page(page)), check_page(page)
    finally:
        context.close()

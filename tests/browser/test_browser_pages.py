"""Every menu page of every role, as a person sees it at 1366×768: it loads, it is in Chinese (no
English scaffold labels such as FAB's defaults, no Python repr, no raw enum values), and it gets a
screenshot. Runs after the flows (file order), on the same demo database."""
import re

import pytest
from playwright.sync_api import expect

# FAB/WTForms/Werkzeug default English a Chinese user must never see.
SCAFFOLD = re.compile(
    r"\b(List|Search|Record Count|Records?|Actions?|Add|Edit|Delete|Show|Filter|Refresh|Save|Back|"
    r"No records found|Not Found|Forbidden|Internal Server Error|Submit|Cancel|OK|Yes|No|None|True|False|"
    r"Previous|Next|Page|Login|Logout|User|Role|Roles|Users|Permissions?|Welcome)\b")
REPR = re.compile(r"<[A-Za-z_][\w.]* (object at 0x|id=)|\bNone\b|\[\]|\{\}")
# Raw codes that must show as labels (status and mode values of app/labels.py).
RAW = re.compile(r"\b(pending|accepted|rejected|expired|certified|declined|terminated|requested|agreed|approved|"
                 r"refused|electronic|paper|non_targeted|targeted|employer|forward|none|submitted)\b")

PAGES = {
    "emp-guanggu": ("employer", [
        ("签约搜索", "search-empty"), ("签约发送", "invite-list"), ("解约办理", "terminations"),
        ("数据管理", "offers"), ("基本信息维护", "profile"), ("修改密码", "password"),
        ("/employer/import/", "import"), ("/employer/confirm", "profile-edit"),
    ]),
    "school-10486": ("school", [
        ("签约审核", "reviews"), ("解约审核", "terminations"), ("其他去向审核", "destinations"),
        ("单位审核", "employers"), ("学生管理", "students"), ("新增学生", "student-new"),
        ("/school/import/", "import"), ("修改密码", "password"),
    ]),
    "province": ("province", [("各校签约概况", "stats")]),
    "admin": ("admin", [("用户列表", "users"), ("角色列表", "roles"), ("短信发件箱", "sms-outbox")]),
}
STUDENT_PAGES = [("电子签约", "offers-list"), ("纸质签约", "paper"), ("其他去向", "destinations"),
                 ("解约办理", "terminations-list"), ("修改密码", "password")]


def visible_text(page):
    return page.locator("body").inner_text()


def problems(page):
    text = visible_text(page)
    found = []
    for label, pattern in (("english", SCAFFOLD), ("repr", REPR), ("raw code", RAW)):
        hits = sorted(set(m.group(0) for m in pattern.finditer(text)))
        if hits:
            found.append(f"{label}: {hits}")
    return found


def tour(actor, role, pages):
    report = {}
    for target, slug in pages:
        if target.startswith("/"):
            actor.goto(target)
        else:
            actor.nav(target)
        expect(actor.page.locator("body")).not_to_contain_text("Traceback")
        actor.shot(f"{role}-{slug}")
        found = problems(actor.page)
        if found:
            report[f"{role}-{slug} ({actor.page.url.split('127.0.0.1')[-1].split('/', 1)[-1]})"] = found
    return report


KNOWN = {}  # pages with a known unfinished label (strict xfail); empty since the translations landed


@pytest.mark.parametrize("username", [
    pytest.param(u, marks=pytest.mark.xfail(strict=True, reason=KNOWN[u])) if u in KNOWN else u for u in PAGES])
def test_menu_pages_are_chinese(server, actors, username):
    role, pages = PAGES[username]
    actor = actors(f"tour-{username}")
    actor.login(username)
    actor.shot(f"{role}-home")
    report = tour(actor, role, [("/", "home")] + pages)
    assert not report, "\n".join(f"{page}: {'; '.join(items)}" for page, items in report.items())


def test_student_menu_pages_are_chinese(server, actors):
    [(student_no,)] = server.query(
        "SELECT s.student_no FROM student s JOIN school c ON c.id = s.school_id "
        "WHERE c.code = '10486' AND s.student_no LIKE '%0009'")  # has a 解约 by the student in the demo
    actor = actors("tour-student")
    actor.student_login("武汉大学", student_no)
    report = tour(actor, "student", STUDENT_PAGES)
    assert not report, "\n".join(f"{page}: {'; '.join(items)}" for page, items in report.items())


def test_public_verify_page_is_chinese(server, actors):
    actor = actors("anonymous")
    actor.goto("/verify")
    actor.shot("public-verify")
    assert not problems(actor.page), problems(actor.page)

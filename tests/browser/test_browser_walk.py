"""Issue 18, checked by machine: every menu page of every role — the entries of app/views/menus.py
MENUS, not a hand list — plus the home page and the detail pages the menus lead to, opened at
1366×768 in one logged-in context per role. A page fails on:

- a JavaScript error (console error or uncaught exception);
- a page wider than 1366 px (document scrollWidth);
- a cell, label or button whose text runs out of its box, or a label cell overlapping its value;
- an English word outside ALLOWED_WORDS (data that is Latin by nature — e-mails, URLs, logins,
  file names — is left out first), True/False/None, or a raw id (协议书#35, #123, id=5);
- an axe-core (npm, package-lock.json) violation of impact serious or critical (tests/support/axe.py).

Runs last (file order), on the demo database the flows have changed."""
import re
from pathlib import Path

import pytest

from app.importing import NATIONAL_ROSTER
from app.roles import MENUS, ROLE_ADMIN, ROLE_EMPLOYER, ROLE_PROVINCE, ROLE_SCHOOL, ROLE_STUDENT

from tests.support import axe

WIDTH = 1366

LOGINS = {ROLE_EMPLOYER: "emp-guanggu", ROLE_SCHOOL: "school-10486", ROLE_PROVINCE: "province", ROLE_ADMIN: "admin"}

# Latin words a Chinese user may see: file formats, encodings and units named on upload and export
# pages (导入 templates: "UTF-8 或 GBK", "不超过 5 MB"; 联盟标识 and scans: PNG/JPG), and the names of
# browsers and systems that have no Chinese name (登录设备).
ALLOWED_WORDS = {"PDF", "Excel", "xlsx", "xls", "csv", "CSV", "QR", "UTF", "GBK", "GB", "MB", "PNG", "JPG",
                 "Edge", "Safari", "Windows", "Linux"}
# The national 生源 layout's column codes (yxdm, xh, sfzh …): 导入学生生源 names them because they are
# what the file's first row says (docs/national-formats.md).
ALLOWED_WORDS |= {label for label in NATIONAL_ROSTER.labels if label.isascii()}
# Demo data typed by people, not interface: the two logins without a hyphen (用户列表, 登录记录) and
# a position name (拟聘用职位 "Java开发工程师").
DEMO_DATA = {"admin", "province", "Java"}

# Text that is Latin by nature and is data, not interface: removed before looking for words.
DATA = re.compile(
    r"[\w.+*-]+@[\w-]+(\.[\w-]+)+"             # e-mail addresses (masked too: emp***@example.com)
    r"|https?://\S+"                            # links
    r"|\b[\w-]+\.(pdf|xlsx|xls|csv|png|jpe?g)\b"  # file names
    r"|\b[a-z]+-[\w-]+\b"                       # logins: emp-guanggu, school-10486, 10486-2023…
    r"|\b\d[\dA-Z]{17}\b"                       # 统一社会信用代码 (18 characters, letters inside)
    r"|\b\d{17}[\dX]\b"                         # 身份证号 ending in X
    r"|\b[A-Z]+(_[A-Z]+)+\b",                    # settings an operator sets (任务队列: 未配置 MAIL_SERVER)
)
WORD = re.compile(r"[A-Za-z]{2,}")
REPR = re.compile(r"\b(True|False|None)\b")
RAW_ID = re.compile(r"#\s?\d+|\bid\s*[=:]\s*\d+", re.I)

# One pass over the visible elements: the document's width, and every box whose text runs out of it.
LAYOUT_JS = """() => {
  // the page's width, or the content panel's when it scrolls sideways inside (.portal-main: overflow-x auto)
  const panel = document.querySelector('.portal-main');
  const out = {width: Math.max(document.documentElement.scrollWidth,
                               panel ? panel.getBoundingClientRect().left + panel.scrollWidth : 0),
               overflow: [], overlap: []};
  // drawn on screen: not display:none, not visibility:hidden, not a 1 px screen-reader-only (.sr-only) label
  const shown = el => { const r = el.getBoundingClientRect();
    return el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden' && r.width > 1 && r.height > 1; };
  const name = el => {
    const t = (el.innerText || el.value || '').trim().replace(/\\s+/g, ' ');
    return el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') + ' "' + t.slice(0, 30) + '"';
  };
  const boxes = 'th, td, label, dt, dd, .btn, .nav a, .side-group, .portal-title, .crumbs, .control-label';
  document.querySelectorAll(boxes).forEach(el => {
    if (!shown(el) || !(el.innerText || '').trim()) return;
    const box = el.getBoundingClientRect();
    const range = document.createRange();
    range.selectNodeContents(el);
    const text = range.getBoundingClientRect();
    // the text's own box outside the element's (1 px for rounding), or scrolled/cut inside it
    const cut = getComputedStyle(el).overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1;
    if (text.width && (text.left < box.left - 1 || text.right > box.right + 1 || cut))
      out.overflow.push(name(el) + ' text ' + Math.round(text.width) + ' px in ' + Math.round(box.width) + ' px');
  });
  // a label cell and the cell after it (th | td in a detail table): their text must not overlap
  document.querySelectorAll('tr').forEach(tr => {
    const cells = [...tr.children].filter(shown);
    for (let i = 0; i + 1 < cells.length; i++) {
      const a = document.createRange(), b = document.createRange();
      a.selectNodeContents(cells[i]); b.selectNodeContents(cells[i + 1]);
      const ra = a.getBoundingClientRect(), rb = b.getBoundingClientRect();
      if (ra.width && rb.width && ra.right > rb.left + 1 && ra.left < rb.right - 1 && ra.bottom > rb.top + 1 && ra.top < rb.bottom - 1)
        out.overlap.push(name(cells[i]) + ' overlaps ' + name(cells[i + 1]));
    }
  });
  return out;
}"""

def english_words(text):
    """The Latin words of `text` a Chinese user should not see, each with where it stands."""
    text = DATA.sub(" ", text)
    found = {}
    for m in WORD.finditer(text):
        if m.group(0) not in ALLOWED_WORDS | DEMO_DATA:
            found.setdefault(m.group(0), text[max(0, m.start() - 12):m.end() + 12].replace("\n", " "))
    return sorted(found.items())


class Walker:
    """One role's logged-in page: the errors it logs, and the checks of the page it shows."""

    def __init__(self, actor):
        self.actor, self.page = actor, actor.page
        self.errors = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(
            f"console: {m.text} {m.location.get('url', '')}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def check(self):
        page = self.page
        page.wait_for_load_state("load")
        found = list(self.errors)
        self.errors.clear()
        layout = page.evaluate(LAYOUT_JS)
        if layout["width"] > WIDTH:
            found.append(f"page is {round(layout['width'])} px wide")
        found += [f"overflow: {item}" for item in layout["overflow"]]
        found += [f"overlap: {item}" for item in layout["overlap"]]
        text = page.locator("body").inner_text()
        if words := english_words(text):
            found.append("english: " + ", ".join(f"{w} (…{at}…)" for w, at in words))
        if hits := sorted(set(REPR.findall(text))):
            found.append(f"True/False/None: {hits}")
        if hits := sorted(set(RAW_ID.findall(text))):
            found.append(f"raw id: {hits}")
        found += axe.violations(page)
        return found


def menu_entries(role):
    return [(group, label, endpoint) for group, items in MENUS[role][1] for label, endpoint in items]


def walk(actor, role, details=()):
    """{page: problems} for the home page, every menu entry of `role` (clicked in the sidebar, as a
    person does) and the `details`: (menu entry, link text) — the first such link on that page."""
    walker = Walker(actor)
    report = {}

    def visit(name):
        found = walker.check()
        if found:
            report[f"{name} ({actor.page.url.split('127.0.0.1')[-1]})"] = found

    actor.goto("/")
    visit("首页")
    for group, label, endpoint in menu_entries(role):
        actor.goto("/")
        side = actor.page.locator(".portal-side")
        actor.submit(side.get_by_role("link", name=label, exact=True).first)
        visit(f"{group} / {label}")
        actor.shot(f"{role}-{endpoint}")  # docs/screenshots/<role>-<endpoint>.png: every menu page
    for label, link in details:
        actor.goto("/")
        actor.submit(actor.page.locator(".portal-side").get_by_role("link", name=label, exact=True).first)
        actor.submit(actor.page.locator(".portal-main").get_by_role("link", name=link, exact=True).first)
        visit(f"{label} / {link}")
    return report


def fail_on(report):
    assert not report, "\n" + "\n".join(f"{page}:\n  " + "\n  ".join(items) for page, items in report.items())


@pytest.fixture(scope="module", autouse=True)
def axe_installed():
    if why := axe.missing():
        pytest.fail(why)


DETAILS = {
    ROLE_EMPLOYER: [("数据管理", "查看详情"), ("我要招聘", "查看投递")],
    ROLE_SCHOOL: [("签约审核", re.compile("^(审核|查看)$")),  # the finding 2 was on this page
                  ("本校就业统计", "招聘求职统计"), ("本校就业统计", "导出前检查")],
    ROLE_PROVINCE: [("统计总览", "招聘求职统计"), ("统计总览", "导出前检查")],
}


@pytest.mark.parametrize("role", [ROLE_EMPLOYER, ROLE_SCHOOL, ROLE_PROVINCE, ROLE_ADMIN])
def test_every_menu_page_passes_the_checks(server, actors, role):
    actor = actors(f"walk-{role}")
    actor.login(LOGINS[role])
    fail_on(walk(actor, role, DETAILS.get(role, ())))


def test_every_student_menu_page_passes_the_checks(server, actors):
    [(student_no,)] = server.query(
        "SELECT s.student_no FROM student s JOIN school c ON c.id = s.school_id "
        "WHERE c.code = '10486' AND s.student_no LIKE '%0009'")  # offers and a 解约 in the demo
    actor = actors("walk-student")
    actor.student_login("武汉大学", student_no)
    fail_on(walk(actor, ROLE_STUDENT, [("电子签约", "查看详情"), ("我要求职", "查看职位")]))


@pytest.mark.parametrize("text,words", [
    ("签约搜索 PDF 下载 Excel 模板", []),
    ("emp-guanggu 的邮箱 hr@example.com，文件 scan.pdf", []),
    ("No records found 共 3 条", ["No", "found", "records"]),
])
def test_english_word_check(text, words):
    assert [w for w, _at in english_words(text)] == words


def test_raw_id_and_repr_checks():
    assert RAW_ID.findall("协议书#35 与 id=5") == ["#35", "id=5"]
    assert not RAW_ID.findall("协议书编号 10486202600035")
    assert REPR.findall("是否定向 False") == ["False"]

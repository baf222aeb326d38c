"""One look (issue 18 items 3, 5, 7): every screen — the product's pages, FAB's screens, the console —
has the product's header (with the alliance's 联盟标识) and a breadcrumb built from the menu."""
import io

import pytest

from app.extensions import db
from app.models import SiteIdentity
from tests.support.factories import PNG_BYTES, make_user


def page(client, url):
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    return r.get_data(as_text=True)


def crumbs_of(html):
    import re

    m = re.search(r'<div class="crumbs">(.*?)</div>', html, re.S)
    assert m, "no breadcrumb"
    return re.sub(r"<[^>]+>", "", m.group(1)).replace("我的位置：", "").strip()


# ---------------------------------------------------------------- breadcrumb from the menu

def test_breadcrumb_of_a_menu_page_is_its_menu_entry(w, client, login):
    login(client, w.logins["student"].username)
    assert crumbs_of(page(client, "/student/terminations/")) == "首页 / 就业信息维护 / 解约办理"


def test_breadcrumb_of_a_detail_page_links_its_menu_entry(signed, client, login):
    login(client, signed.logins["school"].username)
    html = page(client, f"/school/review/{signed.agreement.id}")
    assert crumbs_of(html) == "首页 / 签约管理 / 签约审核 / 协议书详情"
    assert '<a href="/school/review/">签约审核</a>' in html


@pytest.mark.parametrize("url,expected", [
    ("/users/list/", "首页 / 账号与权限 / 用户列表"),
    ("/roles/list/", "首页 / 账号与权限 / 角色列表"),
    ("/admin/sms/list/", "首页 / 账号与权限 / 短信发件箱"),
    ("/admin/login-events/list/", "首页 / 账号与权限 / 登录记录"),
    ("/users/show/{admin}", "首页 / 账号与权限 / 用户列表 / 用户详情"),
    ("/users/add", "首页 / 账号与权限 / 用户列表 / 新增用户"),
])
def test_fab_screens_have_the_product_header_and_menu_breadcrumb(client, login, url, expected):
    admin = make_user("admin", username="root")
    login(client, "root")
    html = page(client, url.format(admin=admin.id))
    assert 'class="navbar navbar-inverse site-header"' in html and "湖北高校就业网络联盟" in html
    assert crumbs_of(html) == expected


def test_school_student_grid_has_the_menu_breadcrumb(w, client, login):
    login(client, w.logins["school"].username)
    assert crumbs_of(page(client, "/school/students/list/")) == "首页 / 学生管理 / 学生管理"
    assert crumbs_of(page(client, f"/school/students/show/{w.student.id}")) == "首页 / 学生管理 / 学生管理 / 学生信息"


# ---------------------------------------------------------------- 联盟标识

def test_header_shows_the_default_alliance_name_on_the_login_page(client):
    html = page(client, "/login/")
    assert "湖北高校就业网络联盟" in html and "site-logo" not in html


@pytest.mark.parametrize("role", ["province", "admin"])
def test_province_and_admin_set_the_alliance_name_and_logo(client, login, role):
    make_user(role, username="setter")
    login(client, "setter")
    assert "联盟标识" in page(client, "/settings/identity/")
    r = client.post("/settings/identity/", data={"alliance_name": "  武汉地区高校就业联盟 ",
                                                  "logo": (io.BytesIO(PNG_BYTES), "logo.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    row = db.session.get(SiteIdentity, 1)
    assert row.alliance_name == "武汉地区高校就业联盟" and row.logo_path.endswith(".png")
    html = page(client, "/settings/identity/")
    assert "武汉地区高校就业联盟" in html and "湖北高校就业网络联盟标识" not in html
    import re

    logo = re.search(r'<img class="site-logo" src="([^"]+)"', html).group(1)
    client.post("/logout/")
    anonymous = page(client, "/login/")
    assert "武汉地区高校就业联盟" in anonymous and logo in anonymous  # the login page too
    r = client.get(logo)
    assert r.status_code == 200 and r.data.startswith(b"\x89PNG")


def test_identity_refuses_a_blank_name_and_a_pdf(client, login):
    make_user("province", username="setter")
    login(client, "setter")
    from tests.support.factories import PDF_BYTES

    r = client.post("/settings/identity/", data={"alliance_name": "   "}, follow_redirects=True)
    assert "请填写联盟名称" in r.get_data(as_text=True)
    r = client.post("/settings/identity/", data={"alliance_name": "某联盟", "logo": (io.BytesIO(PDF_BYTES), "x.pdf")},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "JPG 或 PNG" in r.get_data(as_text=True)
    assert db.session.get(SiteIdentity, 1) is None


@pytest.mark.parametrize("role", ["school", "employer", "student"])
def test_other_roles_cannot_set_the_identity(w, client, login, role):
    login(client, w.logins[role].username)
    assert client.get("/settings/identity/").status_code in (302, 403, 404)
    r = client.post("/settings/identity/", data={"alliance_name": "冒名联盟"})
    assert r.status_code in (302, 403, 404)
    assert db.session.get(SiteIdentity, 1) is None
    assert "冒名联盟" not in client.get("/", follow_redirects=True).get_data(as_text=True)


# ---------------------------------------------------------------- FAB grids: search boxes, text buttons, Chinese

# FAB's English and its bare-icon buttons, as the issue lists them.
ENGLISH = ["No row selected", "List Groups", "Login Count", "Add Filter", "Record Count", ">OK<", "Search"]


def grid_students(w):
    from tests.support.factories import make_student

    make_student(w.school, student_no="2023301011111", name="欧阳明", department="外国语学院", major="英语")
    make_student(w.school, student_no="2023301012222", name="司马光", department="计算机学院", major="网络工程")


@pytest.mark.parametrize("field,value,expected", [
    ("_flt_2_student_no", "1111", {"欧阳明"}),
    ("_flt_2_name", "司马", {"司马光"}),
    ("_flt_2_department", "外国语", {"欧阳明"}),
    ("_flt_2_major", "网络", {"司马光"}),
])
def test_student_grid_search_boxes_filter(w, client, login, field, value, expected):
    grid_students(w)
    login(client, w.logins["school"].username)
    html = page(client, "/school/students/list/")
    for label in ("学号", "姓名", "院系", "专业"):  # the boxes are on the page, not behind 添加过滤条件
        assert f'placeholder="{label}"' in html
    assert f'name="{field}"' in html
    html = page(client, f"/school/students/list/?{field}={value}")
    names = {n for n in ("欧阳明", "司马光", w.student.name) if f"<td>{n}</td>" in html}
    assert names == expected
    assert f'value="{value}"' in html  # the box keeps what was searched


def test_student_grid_has_text_buttons_and_chinese_confirmations(w, client, login):
    login(client, w.logins["school"].username)
    html = page(client, "/school/students/list/")
    assert 'data-confirm="确定限制所选学生网上签约吗？"' in html and ">限制签约</button>" in html
    assert 'data-require-message="请先勾选要限制签约的记录"' in html
    assert ">查看</a>" in html and "fa-search" not in html
    for text in ENGLISH:
        assert text not in html, text


@pytest.mark.parametrize("url", ["/users/list/", "/roles/list/", "/admin/sms/list/", "/admin/login-events/list/",
                                 "/users/show/{admin}", "/users/edit/{admin}", "/groups/list/"])
def test_admin_screens_have_no_english_from_the_issue(client, login, url):
    admin = make_user("admin", username="root")
    login(client, "root")
    html = page(client, url.format(admin=admin.id))
    for text in ENGLISH:
        assert text not in html, text
    assert "返回" in html or "暂无数据" in html or "操作" in html


def test_grid_action_posts_the_checked_rows(w, client, login):
    from app.models import Student

    login(client, w.logins["school"].username)
    r = client.post("/school/students/action_post", data={"action": "restrict", "rowid": str(w.student.id)})
    assert r.status_code == 302
    assert db.session.get(Student, w.student.id).signing_restricted is True


# ---------------------------------------------------------------- the console reads like the product

def test_console_has_the_product_layout_a_way_back_and_logout(stats_world, client, login):
    make_user("province", username="prov")
    login(client, "prov")
    html = page(client, "/console/students/")
    assert "湖北高校就业网络联盟" in html and 'class="col-md-2 portal-side"' in html
    assert crumbs_of(html) == "首页 / 支持控制台 / 查找记录 / 学生"
    assert '<a href="/">返回首页</a>' in html and 'action="/logout/"' in html and ">退出</button>" in html


def test_console_shows_yes_no_and_names_not_ids(stats_world, client, login):
    make_user("province", username="prov")
    login(client, "prov")
    student = stats_world["s"][0]
    html = page(client, f"/console/students/details/?id={student.id}")
    assert "False" not in html and "True" not in html
    assert "<td>否</td>" in html.replace("\n", "").replace(" ", "") or ">否<" in html
    assert "协议书#" not in html and "解约#" not in html and "其他去向#" not in html
    events = page(client, "/console/events/")
    assert "协议书ID" not in events and "解约ID" not in events
    assert "/console/agreements/details/?id=" in events  # the object is a link by its name


def test_blank_user_statistics_chart_is_gone(client, login):
    make_user("admin", username="root")
    login(client, "root")
    assert client.get("/userstatschartview/chart/").status_code == 404
    assert "用户统计" in page(client, "/admin/user-stats/")  # its replacement: tests/test_admin_pages.py


# ---------------------------------------------------------------- 登录设备

@pytest.mark.parametrize("agent,shown", [
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
     "谷歌浏览器（Linux 电脑）"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36 Edg/120.0",
     "Edge 浏览器（Windows 电脑）"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Safari/604.1",
     "Safari 浏览器（苹果手机）"),
    ("测试浏览器/1.0", "其他浏览器"),
    (None, "-"),
])
def test_login_device_names_the_browser_not_the_user_agent(agent, shown):
    from app.labels import browser_of

    assert browser_of(agent) == shown


def test_public_pages_have_the_product_page_and_a_breadcrumb(client):
    """协议书查验 opened from a QR code (no login): the product's white page with 我的位置; the login
    page and its kin keep their own centred box."""
    html = page(client, "/verify")
    assert '<div class="public-page">' in html and crumbs_of(html) == "首页 / 协议书查验"
    for url in ("/login/", "/register/"):
        assert "public-page" not in page(client, url)

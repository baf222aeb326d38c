"""系统管理员's account pages (issue 18): the read-only 角色列表 from the menu definition, 用户统计
as a table of counts, and FAB's user forms in Chinese with the five roles by name."""
import re
from datetime import timedelta

import pytest
from flask_appbuilder.security.sqla.models import Role
from sqlalchemy import select

from app.extensions import db
from app.models import AppUser
from app.queries.accounts import accounts_by_role
from app.roles import MENUS, ROLE_LABELS, ROLES
from app.security import now
from tests.support.factories import make_user


@pytest.fixture
def admin(client, login):
    user = make_user("admin", username="root")
    login(client, "root")
    return user


def text_of(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def role_id(name):
    return db.session.scalar(select(Role.id).where(Role.name == name))


# ---------------------------------------------------------------- 角色列表

def test_role_list_names_each_role_and_its_menu_pages_in_chinese(admin, client):
    html = client.get("/roles/list/").get_data(as_text=True)
    page = text_of(html)
    for name in ROLES:
        assert ROLE_LABELS[name] in page
        for group, items in MENUS[name][1]:
            assert group in page and all(label in page for label, _endpoint in items)
    assert "can " not in page and "EmployerPortal" not in page and "Permissions" not in page


def test_role_page_shows_the_menu_not_permission_pairs(admin, client):
    html = client.get(f"/roles/show/{role_id('school')}").get_data(as_text=True)
    page = text_of(html)
    assert "学校就业部门" in page and "签约审核" in page and "导入学生生源" in page
    assert "can " not in page and "SchoolPortal" not in page
    assert client.get("/roles/show/999999").status_code == 404
    assert client.get("/roles/show/x").status_code == 404


@pytest.mark.parametrize("method,url", [
    ("get", "/roles/add"), ("post", "/roles/add"), ("get", "/roles/edit/{school}"), ("post", "/roles/edit/{school}"),
    ("post", "/roles/delete/{school}"), ("post", "/roles/action_post"),
])
def test_roles_cannot_be_edited_on_a_page(admin, client, method, url):
    """An edit there was undone by the next `flask roles sync`: the pages are gone."""
    school = db.session.get(Role, role_id("school"))
    before = sorted(pv.id for pv in school.permissions)
    r = getattr(client, method)(url.format(school=school.id), data={"name": "school", "permissions": []})
    assert r.status_code == 404, r.status_code
    db.session.expire_all()
    assert sorted(pv.id for pv in db.session.get(Role, school.id).permissions) == before


# ---------------------------------------------------------------- 用户统计

def test_accounts_by_role_counts_enabled_locked_and_recent_logins(app):
    t = now()
    a = make_user("school")
    b = make_user("school")
    c = make_user("school")
    make_user("employer")
    db.session.execute(AppUser.__table__.update().where(AppUser.id == a.id).values(last_login=t - timedelta(hours=2)))
    db.session.execute(AppUser.__table__.update().where(AppUser.id == b.id).values(
        last_login=t - timedelta(days=10), locked_until=t + timedelta(minutes=5)))
    db.session.execute(AppUser.__table__.update().where(AppUser.id == c.id).values(active=False))
    db.session.commit()
    counts = accounts_by_role(t)
    assert counts["school"] == {"total": 3, "active": 2, "inactive": 1, "locked": 1, "never": 1,
                                "recent": {1: 1, 7: 1, 30: 2}}
    assert counts["employer"]["total"] == 1 and counts["employer"]["never"] == 1
    assert counts["province"]["total"] == 0  # a role without accounts counts zeros


def test_user_statistics_page_is_a_table_of_counts(admin, client):
    make_user("student")
    html = client.get("/admin/user-stats/").get_data(as_text=True)
    page = text_of(html)
    assert "用户统计" in page and "近7天登录过" in page and "合计" in page
    row = re.search(r"<td>毕业生</td><td>(\d+)</td>", html.replace("\n", "").replace(" ", ""))
    assert row and row.group(1) == "1"


@pytest.mark.parametrize("role", ["school", "province", "employer", "student"])
def test_user_statistics_and_roles_are_for_admins_only(w, client, login, role):
    username = make_user("province").username if role == "province" else w.logins[role].username
    login(client, username)
    for url in ("/admin/user-stats/", "/roles/list/", f"/roles/show/{role_id('school')}"):
        r = client.get(url)
        assert r.status_code != 200 and "账号数" not in r.get_data(as_text=True), (url, r.status_code)


# ---------------------------------------------------------------- FAB's user forms in Chinese

def test_user_form_offers_the_five_roles_by_chinese_name_and_no_groups(admin, client):
    html = client.get(f"/users/edit/{admin.id}").get_data(as_text=True)
    options = dict((v, t) for v, t in re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]*)</option>', html))
    assert sorted(options.values()) == sorted(ROLE_LABELS.values())
    assert "用户组" not in html and "It's not a good policy" not in html and "OID" not in html


def test_admin_adds_a_login_with_a_role_chosen_by_name(admin, client):
    r = client.post("/users/add", data={
        "last_name": "王", "first_name": "老师", "username": "wang-teacher", "email": "wang@example.org",
        "active": "y", "roles": str(role_id("province")), "password": "Passw0rd!Z", "conf_password": "Passw0rd!Z",
    })
    assert r.status_code == 302, r.get_data(as_text=True)[:400]
    user = db.session.scalar(select(AppUser).where(AppUser.username == "wang-teacher"))
    assert [role.name for role in user.roles] == ["province"]


def test_user_add_refuses_a_missing_role_and_a_weak_password_in_chinese(admin, client):
    r = client.post("/users/add", data={
        "last_name": "王", "first_name": "老师", "username": "wang2", "email": "wang2@example.org",
        "password": "abc", "conf_password": "abd",
    })
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "请选择角色" in html and "两次输入的密码不一致" in html
    assert db.session.scalar(select(AppUser).where(AppUser.username == "wang2")) is None


def test_fab_forms_use_the_product_form_layout(admin, client):
    """FAB's add/edit forms look like the product's forms: a horizontal form, not FAB's table."""
    for url in (f"/users/edit/{admin.id}", "/users/add", f"/resetpassword/form?pk={admin.id}"):
        html = client.get(url).get_data(as_text=True)
        form = html[html.index('<form id="model_form"'):]
        form = form[:form.index("</form>")]
        assert 'class="form-horizontal"' in html[html.index('<form id="model_form"'):][:300], url
        assert "<table" not in form and 'class="col-sm-3 control-label"' in form, url


def test_admin_password_reset_is_in_chinese_and_checks_the_rule(admin, client):
    from tests.test_look import crumbs_of

    user = make_user("province")
    old_hash = user.password
    html = client.get(f"/resetpassword/form?pk={user.id}").get_data(as_text=True)
    assert crumbs_of(html) == "首页 / 账号与权限 / 用户列表 / 重设密码"
    assert "临时密码" in html and "does not check" not in html and "不会检查密码" not in html
    r = client.post(f"/resetpassword/form?pk={user.id}", data={"password": "abc", "conf_password": "abc"})
    assert r.status_code == 200
    db.session.expire_all()
    assert db.session.get(AppUser, user.id).password == old_hash
    r = client.post(f"/resetpassword/form?pk={user.id}", data={"password": "Tmp0rary!X", "conf_password": "Tmp0rary!X"})
    assert r.status_code == 302
    db.session.expire_all()
    changed = db.session.get(AppUser, user.id)
    assert changed.password != old_hash and changed.must_change_password is True


def test_fab_detail_page_uses_the_product_detail_layout(admin, client):
    html = client.get(f"/users/show/{admin.id}").get_data(as_text=True)
    assert "<h3>用户详情</h3>" in html and 'class="table table-condensed terms"' in html
    assert "accordion-toggle" not in html and "panel-primary" not in html
    assert ">None<" not in html and "登录次数" in html
    never = make_user("province")
    html = client.get(f"/users/show/{never.id}").get_data(as_text=True)
    assert ">None<" not in html and "从未登录" in html and "0次" in html


def test_logins_are_disabled_not_deleted(admin, client):
    user = make_user("province")
    html = client.get("/users/list/").get_data(as_text=True)
    assert ">删除<" not in html and "/users/delete/" not in html
    assert client.post(f"/users/delete/{user.id}").status_code in (403, 404)
    db.session.expire_all()
    assert db.session.get(AppUser, user.id) is not None


def test_roles_sync_takes_back_permissions_a_view_no_longer_has(app, client, login):
    """An older database granted admin FAB's can_delete on 用户列表 and can_edit on 角色列表 (the
    views no longer have them); FAB could not delete them while a role held them, so the 删除
    button stayed. `flask roles sync` takes them back."""
    from app.security import sync_roles

    sm = app.appbuilder.sm
    admin_role = sm.find_role("admin")
    for permission, view in (("can_delete", "UserDBModelView"), ("can_edit", "RoleModelView")):
        sm.add_permission_role(admin_role, sm.add_permission_view_menu(permission, view))
    db.session.commit()
    assert sm.exist_permission_on_roles("UserDBModelView", "can_delete", [admin_role.id])
    sync_roles(app.appbuilder)
    db.session.expire_all()
    assert not sm.exist_permission_on_roles("UserDBModelView", "can_delete", [admin_role.id])
    assert sm.find_permission_view_menu("can_edit", "RoleModelView") is None
    assert sm.exist_permission_on_roles("SchoolStudentView", "restrict", [sm.find_role("school").id])  # actions kept
    make_user("admin", username="root")
    login(client, "root")
    assert ">删除<" not in client.get("/users/list/").get_data(as_text=True)

"""The sidebar of each role, in the manual's menu structure (one place for all pages), and the
breadcrumb ("我的位置") every page builds from it."""
from flask import request, url_for
from markupsafe import Markup, escape

from ..roles import ROLE_ADMIN, ROLE_EMPLOYER, ROLE_PROVINCE, ROLE_SCHOOL, ROLE_STUDENT
from ..security import role_of

PASSWORD = ("修改密码", "AccountView.password")

MENUS = {
    ROLE_EMPLOYER: ("单位用户中心", [
        ("签约中心", [("签约搜索", "EmployerPortal.search"), ("导入拟签约名单", "EmployerImportView.index"),
                  ("签约发送", "EmployerPortal.invite_list")]),
        ("网上就业市场", [("我要招聘", "EmployerMarket.postings")]),
        ("解约中心", [("解约办理", "EmployerPortal.terminations")]),
        ("数据管理中心", [("数据管理", "EmployerPortal.offers")]),
        ("单位信息维护", [("基本信息维护", "EmployerPortal.profile"), PASSWORD]),
    ]),
    ROLE_STUDENT: ("学生用户中心", [
        ("就业信息维护", [("电子签约", "StudentPortal.offers"), ("纸质签约", "StudentPortal.paper"),
                    ("其他去向", "StudentPortal.destinations"), ("解约办理", "StudentPortal.terminations")]),
        ("网上就业市场", [("我要求职", "StudentMarket.postings"), ("我的投递", "StudentMarket.applications"),
                    ("求职简历", "StudentMarket.resume")]),
        ("个人信息维护", [("基本信息管理", "StudentPortal.account"), PASSWORD]),
    ]),
    ROLE_SCHOOL: ("学校用户中心", [
        ("签约管理", [("签约审核", "SchoolPortal.reviews"), ("解约审核", "SchoolPortal.terminations"),
                  ("其他去向审核", "SchoolPortal.destinations")]),
        ("单位管理", [("单位审核", "SchoolPortal.employers"), ("招聘职位管理", "SchoolMarket.postings")]),
        ("学生管理", [("学生管理", "SchoolStudentView.list"), ("新增学生", "SchoolPortal.student_new"),
                  ("导入学生生源", "SchoolImportView.index")]),
        ("数据统计", [("本校就业统计", "SchoolStatsView.index")]),
        ("个人信息维护", [PASSWORD]),
    ]),
    ROLE_PROVINCE: ("省就业中心", [
        ("数据统计", [("各校签约概况", "ProvincePortal.home"), ("统计总览", "ProvinceStatsView.index")]),
        ("支持控制台", [("查找记录", "console.index"), ("任务队列", "QueueAdminView.index")]),
        ("系统设置", [("联盟标识", "IdentityView.edit")]),
        ("个人信息维护", [PASSWORD]),
    ]),
    ROLE_ADMIN: ("系统管理", [
        ("数据统计", [("各校签约概况", "ProvincePortal.home"), ("统计总览", "ProvinceStatsView.index")]),
        ("支持控制台", [("查找记录", "console.index"), ("任务队列", "QueueAdminView.index")]),
        ("账号与权限", [("用户列表", "UserDBModelView.list"), ("角色列表", "RoleModelView.list"),
                   ("短信发件箱", "SmsOutboxView.list"),
                   ("登录记录", "LoginEventView.list"), ("联盟标识", "IdentityView.edit"), PASSWORD]),
    ]),
}


def portal_menu():
    role = role_of()
    if role is None:
        return None
    title, groups = MENUS[role]
    return {"title": title, "groups": groups}


# The bottom tab bar of a phone (issue 25; portal/_mobile_tabs.html, shown below 768 px): the
# student's four places; every other role gets 首页 and its menu. `None` as the endpoint: the role
# menu (the sidebar, opened as a sheet by its #portal-menu anchor).
MOBILE_TABS = {
    ROLE_STUDENT: [("首页", "StudentPortal.home", ""), ("电子签约", "StudentPortal.offers", ""),
                   ("消息", "StudentPortal.home", "#messages"), ("我的", None, "")],
}
OTHER_TABS = [("首页", "/", ""), ("菜单", None, "")]


def mobile_tabs():
    """[(label, href, active)] of the phone's tab bar, or [] for an anonymous page."""
    role = role_of()
    if role is None:
        return []
    out = []
    for label, endpoint, anchor in MOBILE_TABS.get(role, OTHER_TABS):
        if endpoint is None:
            out.append((label, "#portal-menu", False))
        elif endpoint.startswith("/"):
            out.append((label, endpoint, request.path == endpoint))
        else:
            out.append((label, url_for(endpoint) + anchor, not anchor and request.endpoint == endpoint))
    return out


def _find(groups, endpoint):
    """(group, label) of `endpoint` in a role's menu, or None."""
    for group, items in groups:
        for label, item_endpoint in items:
            if item_endpoint == endpoint:
                return group, label
    return None


def _owner(groups, endpoint):
    """The one menu entry of the view that serves `endpoint` (FAB's show/edit/add pages of a list
    in the menu: UserDBModelView.show → 用户列表), or None when the view has no entry or several
    (a portal's detail pages name their entry themselves)."""
    blueprint = endpoint.partition(".")[0]
    found = [item for _group, items in groups for item in items if item[1].partition(".")[0] == blueprint]
    return found[0][1] if len(found) == 1 else None


def trail(under=None, last=None, endpoint=None):
    """我的位置 as [(text, url or None)]: 首页, then the menu group and entry of the page (`under`
    when given, else the request's endpoint, else the one entry of its view), then `last` (a
    detail page's own name)."""
    out = [("首页", "/")]
    role = role_of()
    groups = MENUS[role][1] if role in MENUS else []
    endpoint = endpoint or request.endpoint or ""
    entry = under or (endpoint if _find(groups, endpoint) else _owner(groups, endpoint))
    found = _find(groups, entry) if entry else None
    if found:
        group, label = found
        out.append((group, None))
        out.append((label, url_for(entry) if entry != endpoint or last else None))
    if last and (not found or last != found[1]):
        out.append((last, None))
    return out


def breadcrumb(under=None, last=None, steps=None):
    """The breadcrumb's HTML (base layout: `{{ breadcrumb() }}`; a detail page:
    `{{ breadcrumb('SchoolPortal.reviews', '协议书详情') }}`; a background job's page, whose place
    depends on the job: `steps`, [(text, url or None)] after 首页)."""
    items = [("首页", "/")] + list(steps) if steps else trail(under, last)
    parts = [Markup('<a href="{}">{}</a>').format(url, text) if url else escape(text) for text, url in items]
    return Markup('<div class="crumbs">我的位置：') + Markup(" / ").join(parts) + Markup("</div>")

"""The sidebar of each role (`roles.MENUS`, the manual's menu structure: one place for all pages),
the phone's tab bar, and the breadcrumb ("我的位置") every page builds from them."""
from flask import request, url_for
from markupsafe import Markup, escape

from ..roles import MENUS, ROLE_STUDENT
from ..security import role_of


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


# Pages of a view without a menu entry, reached from one entry's pages: their breadcrumb runs through it.
BELONGS_TO = {"ResetPasswordView": "UserDBModelView.list"}


def _owner(groups, endpoint):
    """The one menu entry of the view that serves `endpoint` (FAB's show/edit/add pages of a list
    in the menu: UserDBModelView.show → 用户列表), or None when the view has no entry or several
    (a portal's detail pages name their entry themselves)."""
    blueprint = endpoint.partition(".")[0]
    if blueprint in BELONGS_TO:
        return BELONGS_TO[blueprint]
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

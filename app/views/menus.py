"""The sidebar of each role, in the manual's menu structure (one place for all pages)."""
from ..roles import ROLE_ADMIN, ROLE_EMPLOYER, ROLE_PROVINCE, ROLE_SCHOOL, ROLE_STUDENT
from ..security import role_of

PASSWORD = ("修改密码", "AccountView.password")

MENUS = {
    ROLE_EMPLOYER: ("单位用户中心", [
        ("签约中心", [("签约搜索", "EmployerPortal.search"), ("导入拟签约名单", "EmployerImportView.index"),
                  ("签约发送", "EmployerPortal.invite_list")]),
        ("解约中心", [("解约办理", "EmployerPortal.terminations")]),
        ("数据管理中心", [("数据管理", "EmployerPortal.offers")]),
        ("单位信息维护", [("基本信息维护", "EmployerPortal.profile"), PASSWORD]),
    ]),
    ROLE_STUDENT: ("学生用户中心", [
        ("就业信息维护", [("电子签约", "StudentPortal.offers"), ("纸质签约", "StudentPortal.paper"),
                    ("其他去向", "StudentPortal.destinations"), ("解约办理", "StudentPortal.terminations")]),
        ("个人信息维护", [("基本信息管理", "StudentPortal.account"), PASSWORD]),
    ]),
    ROLE_SCHOOL: ("学校用户中心", [
        ("签约管理", [("签约审核", "SchoolPortal.reviews"), ("解约审核", "SchoolPortal.terminations"),
                  ("其他去向审核", "SchoolPortal.destinations")]),
        ("单位管理", [("单位审核", "SchoolPortal.employers")]),
        ("学生管理", [("学生管理", "SchoolStudentView.list"), ("新增学生", "SchoolPortal.student_new"),
                  ("导入学生生源", "SchoolImportView.index")]),
        ("数据统计", [("本校就业统计", "SchoolStatsView.index")]),
        ("个人信息维护", [PASSWORD]),
    ]),
    ROLE_PROVINCE: ("省就业中心", [
        ("数据统计", [("各校签约概况", "ProvincePortal.home"), ("统计总览", "ProvinceStatsView.index")]),
        ("支持控制台", [("查找记录", "console.index"), ("任务队列", "QueueAdminView.index")]),
        ("个人信息维护", [PASSWORD]),
    ]),
    ROLE_ADMIN: ("系统管理", [
        ("数据统计", [("各校签约概况", "ProvincePortal.home"), ("统计总览", "ProvinceStatsView.index")]),
        ("支持控制台", [("查找记录", "console.index"), ("任务队列", "QueueAdminView.index")]),
        ("账号与权限", [("用户列表", "UserDBModelView.list"), ("角色列表", "RoleModelView.list"),
                   ("短信发件箱", "SmsOutboxView.list"),
                   ("登录记录", "LoginEventView.list"), PASSWORD]),
    ]),
}


def portal_menu():
    role = role_of()
    if role is None:
        return None
    title, groups = MENUS[role]
    return {"title": title, "groups": groups}

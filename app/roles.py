"""The five roles: their code names, their Chinese labels, and the views each may open.

Plain data (no Flask, no database): the security manager (`app.security.sync_roles`), the login
factory (`app.accounts.new_login`), the menus and the demo all read it from here.
"""
ROLE_EMPLOYER, ROLE_STUDENT, ROLE_SCHOOL, ROLE_PROVINCE, ROLE_ADMIN = (
    "employer", "student", "school", "province", "admin",
)
ROLES = (ROLE_EMPLOYER, ROLE_STUDENT, ROLE_SCHOOL, ROLE_PROVINCE, ROLE_ADMIN)
ROLE_LABELS = {
    ROLE_EMPLOYER: "用人单位", ROLE_STUDENT: "毕业生", ROLE_SCHOOL: "学校就业部门",
    ROLE_PROVINCE: "省就业中心", ROLE_ADMIN: "系统管理员",
}

# Least privilege: each role gets its own portal's permissions and nothing else, plus the
# product's own 个人信息 and 修改密码 (FAB's 用户信息 / 重设密码 change a password without the old
# one: no role gets them; app.security sends their URLs to ours). Admin gets everything.
SELF_SERVICE = [("can_password", "AccountView"), ("can_profile", "ProfileView")]
ROLE_VIEWS = {
    ROLE_EMPLOYER: ["EmployerPortal", "EmployerImportView", "EmployerExportView", "DocumentView", "JobRunView",
                    "EmployerMarket", "ApiKeyView"],
    ROLE_STUDENT: ["StudentPortal", "DocumentView", "StudentMarket"],
    ROLE_SCHOOL: ["SchoolPortal", "SchoolStudentView", "SchoolImportView", "DocumentView", "JobRunView",
                  "SchoolStatsView", "SchoolMarket", "ApiKeyView"],
    ROLE_PROVINCE: ["ProvincePortal", "ProvinceStatsView", "JobRunView", "QueueAdminView", "IdentityView", "ApiKeyView"],
}

# The sidebar of each role in the manual's menu structure: (title, [(group, [(label, endpoint)])]).
# One place for every page: the sidebar and breadcrumbs (app.views.menus), the read-only
# 角色列表 (app.security.RoleModelView) and the browser walk (tests/browser) read it.
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
        ("系统对接", [("接口密钥", "ApiKeyView.index")]),
        ("个人信息维护", [PASSWORD]),
    ]),
    ROLE_PROVINCE: ("省就业中心", [
        ("数据统计", [("各校签约概况", "ProvincePortal.home"), ("统计总览", "ProvinceStatsView.index")]),
        ("支持控制台", [("查找记录", "console.index"), ("任务队列", "QueueAdminView.index")]),
        ("系统设置", [("联盟标识", "IdentityView.edit"), ("接口密钥", "ApiKeyView.index")]),
        ("个人信息维护", [PASSWORD]),
    ]),
    ROLE_ADMIN: ("系统管理", [
        ("数据统计", [("各校签约概况", "ProvincePortal.home"), ("统计总览", "ProvinceStatsView.index")]),
        ("支持控制台", [("查找记录", "console.index"), ("任务队列", "QueueAdminView.index")]),
        ("账号与权限", [("用户列表", "UserDBModelView.list"), ("角色列表", "RoleModelView.list"),
                   ("短信发件箱", "SmsOutboxView.list"),
                   ("登录记录", "LoginEventView.list"), ("用户统计", "UserStatsView.index"),
                   ("联盟标识", "IdentityView.edit"), PASSWORD]),
    ]),
}

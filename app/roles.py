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
                    "EmployerMarket"],
    ROLE_STUDENT: ["StudentPortal", "DocumentView", "StudentMarket"],
    ROLE_SCHOOL: ["SchoolPortal", "SchoolStudentView", "SchoolImportView", "DocumentView", "JobRunView",
                  "SchoolStatsView", "SchoolMarket"],
    ROLE_PROVINCE: ["ProvincePortal", "ProvinceStatsView", "JobRunView", "QueueAdminView", "IdentityView"],
}

"""`/`: sends each login to its role's home page; anonymous visitors to the login page."""
from flask import redirect, url_for
from flask_appbuilder import IndexView, expose
from flask_login import current_user

from ..roles import ROLE_ADMIN, ROLE_EMPLOYER, ROLE_PROVINCE, ROLE_SCHOOL, ROLE_STUDENT
from ..security import role_of

HOME_ENDPOINT = {
    ROLE_EMPLOYER: "EmployerPortal.home",
    ROLE_STUDENT: "StudentPortal.home",
    ROLE_SCHOOL: "SchoolPortal.home",
    ROLE_PROVINCE: "ProvincePortal.home",
    ROLE_ADMIN: "ProvincePortal.home",
}


class HomeIndexView(IndexView):
    @expose("/")
    def index(self):
        if not current_user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_login)
        endpoint = HOME_ENDPOINT.get(role_of())
        if endpoint is None:
            return self.render_template("portal/no_role.html")
        return redirect(url_for(endpoint))


def register(appbuilder):
    pass

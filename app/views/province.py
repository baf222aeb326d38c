"""省就业中心: signing overview per school (the statistics issue builds the full module)."""
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import case, func, select

from ..extensions import db
from ..models import Agreement, School, Student
from .common import PortalView


class ProvincePortal(PortalView):
    route_base = "/province"

    @expose("/")
    @has_access
    def home(self):
        students = dict(db.session.execute(
            select(Student.school_id, func.count()).group_by(Student.school_id)).all())
        rows = db.session.execute(
            select(
                School,
                func.count(Agreement.id),
                func.sum(case((Agreement.status == "accepted", 1), else_=0)),
                func.sum(case((Agreement.status == "certified", 1), else_=0)),
            ).outerjoin(Agreement, Agreement.school_id == School.id)
            .group_by(School.id).order_by(School.code)
        ).all()
        return self.render_template("province/home.html", rows=rows, students=students)


def register(appbuilder):
    appbuilder.add_view_no_menu(ProvincePortal())

"""省就业中心: 各校签约概况 (the home page); the full statistics are `stats.ProvinceStatsView`."""
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import func, select

from .. import stats
from ..extensions import db
from ..models import Student
from .common import PortalView


class ProvincePortal(PortalView):
    route_base = "/province"

    @expose("/")
    @has_access
    def home(self):
        # The latest graduation year, then one outcome query for every school (app.stats).
        year = db.session.scalar(select(func.max(Student.graduation_year)))
        f = stats.Filters(year=year)
        frame = stats.outcome_frame(f)
        return self.render_template("province/home.html", year=year, s=stats.summary(frame),
                                    rows=stats.records(stats.by(frame, ["school_id", "school_code", "school_name"])),
                                    pct=lambda v: f"{v * 100:.1f}%", rate_note=stats.EMPLOYMENT_RATE_NOTE)


def register(appbuilder):
    appbuilder.add_view_no_menu(ProvincePortal())

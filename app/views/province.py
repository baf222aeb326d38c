"""省就业中心: 各校签约概况 (the home page); the full statistics are `stats.ProvinceStatsView`."""
from flask import current_app
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
        data, computed_at = stats.dashboard_cached(stats.Filters(year=year))  # the same figures as 数据统计
        return self.render_template("province/home.html", year=year, s=data["summary"],
                                    rows=stats.records(data["by_school"]), computed_at=computed_at,
                                    cache_minutes=current_app.config.get("STATS_CACHE_SECONDS", 300) // 60,
                                    pct=lambda v: f"{v * 100:.1f}%", rate_note=stats.EMPLOYMENT_RATE_NOTE)


def register(appbuilder):
    appbuilder.add_view_no_menu(ProvincePortal())

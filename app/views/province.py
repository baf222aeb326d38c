"""省就业中心: 各校签约概况 (the home page); the full statistics are `stats.ProvinceStatsView`."""
from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_login import current_user
from sqlalchemy import func, select

from .. import identity, stats, summary, uploads
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
        data, computed_at = summary.dashboard(stats.Filters(year=year))  # the same figures as 数据统计
        return self.render_template("province/home.html", year=year, s=data["summary"],
                                    rows=stats.records(data["by_school"]), computed_at=computed_at,
                                    pct=lambda v: f"{v * 100:.1f}%", rate_note=stats.EMPLOYMENT_RATE_NOTE)


class IdentityView(BaseView):
    """联盟标识 (province and admin): the alliance's name and logo in every page's header."""

    route_base = "/settings/identity"
    default_view = "edit"

    @expose("/", methods=["GET", "POST"])
    @has_access
    def edit(self):
        current = identity.current()
        if request.method == "POST":
            try:
                logo = uploads.from_request(request.files.get("logo"), label="标识图片", required=False)
                if logo is not None and logo.ext == "pdf":
                    raise uploads.UploadError("标识图片须为 JPG 或 PNG 文件")
                identity.update(current_user, request.form.get("alliance_name"), logo,
                                remove_logo=request.form.get("remove_logo") == "1")
                flash("联盟标识已保存", "success")
                return redirect(url_for(".edit"))
            except (identity.IdentityError, uploads.UploadError) as e:
                flash(str(e), "danger")
        return self.render_template("province/identity.html", current=current, default=identity.DEFAULT_NAME,
                                    name_max=identity.NAME_MAX)

    @expose("/logo/<version>")
    def logo(self, version):
        """The logo for every page, the login page too: no login needed (it is on the login page)."""
        key = identity.current().logo_path
        if not key:
            abort(404)
        return uploads.send(key, "logo")


def register(appbuilder):
    appbuilder.add_view_no_menu(ProvincePortal())
    appbuilder.add_view_no_menu(IdentityView())

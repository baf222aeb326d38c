"""数据统计 pages and exports: the province dashboard, a school's own dashboard, employers' 导出列表.

Numbers come from `app.stats` (two queries per page, whatever the data size). Charts are SVG drawn
here on the server (no script, no CDN). Aggregate workbooks are written in the request; detailed
lists with ID numbers run as jobs (`app.jobs.exports`), are audited there, and are downloaded only
by the user who started them.
"""
import json
from datetime import datetime, timezone

from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select

from .. import labels, national, spreadsheets, stats, summary, workflow
from ..extensions import db
from ..jobs import runs
from ..queries import employer as employer_queries
from ..jobs.exports import export_path
from ..models import ExportAudit, JobRun, School, Student
from ..security import current_employer, current_school
from .common import PortalView, xlsx_download
from .jobs import render_run, run_result

TABLE_ROWS = 50  # longer tables (专业, 城市) are cut on the page; the workbook has every row


# ---------------------------------------------------------------- SVG charts (server-side)

COLOURS = ["#1f5fa8", "#f0ad4e", "#5cb85c", "#d9534f"]


def hbar_svg(items, fmt=str, width=640, label_width=170, colour=COLOURS[0]):
    """Horizontal bars: items = [(label, value)]; the longest bar is the largest value."""
    items = list(items)
    if not items:
        return Markup('<p class="text-muted">暂无数据！</p>')
    row, top = 24, 6
    height = top + row * len(items) + 6
    top_value = max((v for _, v in items), default=0) or 1
    bar_space = width - label_width - 90
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'xmlns="http://www.w3.org/2000/svg" style="max-width:{width}px">',
             # the chart's text for screen readers (an svg with role="img" needs a name)
             f'<title>{escape("；".join(f"{label}：{fmt(value)}" for label, value in items))}</title>']
    for i, (label, value) in enumerate(items):
        y = top + i * row
        w = max(1.0, bar_space * (value / top_value)) if value else 0
        parts.append(f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" font-size="12">{escape(label)}</text>'
                     f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="16" fill="{colour}"/>'
                     f'<text x="{label_width + w + 4:.1f}" y="{y + 15}" font-size="12">{escape(fmt(value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_svg(days, series, width=720, height=220):
    """Lines per series over days: series = [(name, [values])] aligned with `days`."""
    if not days:
        return Markup('<p class="text-muted">暂无数据！</p>')
    left, right, top, bottom = 40, 10, 24, 26
    top_value = max((max(vals) for _, vals in series if vals), default=0) or 1
    span_x = (width - left - right) / max(1, len(days) - 1)
    span_y = height - top - bottom

    def xy(i, v):
        return left + i * span_x, top + span_y * (1 - v / top_value)

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'xmlns="http://www.w3.org/2000/svg" style="max-width:{width}px">',
             f'<title>{escape("、".join(name for name, _ in series))}：{escape(days[0])} 至 {escape(days[-1])}</title>',
             f'<line x1="{left}" y1="{top + span_y}" x2="{width - right}" y2="{top + span_y}" stroke="#ccc"/>',
             f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="11">{top_value}</text>',
             f'<text x="{left - 4}" y="{top + span_y}" text-anchor="end" font-size="11">0</text>',
             f'<text x="{left}" y="{height - 6}" font-size="11">{escape(days[0])}</text>',
             f'<text x="{width - right}" y="{height - 6}" text-anchor="end" font-size="11">{escape(days[-1])}</text>']
    for k, (name, values) in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in enumerate(values)))
        if len(values) == 1:
            x, y = xy(0, values[0])
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>')
        else:
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<rect x="{left + k * 120}" y="4" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{left + k * 120 + 16}" y="14" font-size="12">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def pct(value):
    return f"{value * 100:.1f}%"


# ---------------------------------------------------------------- the two dashboards

class _StatsPages(PortalView):
    """Shared by the province and the school dashboards; `scoped` = a reviewer's own school only."""

    default_view = "index"
    scoped = False
    title = "数据统计"
    export_kind = None  # the detailed list this role may export (a job; its label: labels.JOB_KIND)
    NATIONAL = "national_outcomes"  # 毕业去向数据 in the national layout (app.national), for both roles

    @property
    def run_kinds(self):
        return (self.export_kind, self.NATIONAL) if self.export_kind else ()

    @property
    def export_label(self):
        return labels.JOB_KIND[self.export_kind]

    @property
    def export_button(self):
        return "导出" + self.export_label

    # -- filters

    def _school(self):
        return current_school() if self.scoped else None

    def _years(self, school):
        q = select(Student.graduation_year).distinct().order_by(Student.graduation_year.desc())
        if school is not None:
            q = q.where(Student.school_id == school.id)
        return list(db.session.scalars(q))

    def _filters(self, args, school, years, report=True):
        f, errors = stats.Filters.parse(args, school_id=school.id if school else None)
        if report:
            for e in errors:
                flash(e, "warning")
        if "year" not in args and years:  # first visit: the latest graduation year
            f = stats.Filters(years[0], f.school_id, f.date_from, f.date_to)
        return f

    def _scope_text(self, f, school):
        name = school.name if school else None
        if f.school_id and not name:
            row = db.session.get(School, f.school_id)
            name = row.name if row else None
        return f.describe(name)

    # -- pages

    @expose("/")
    @has_access
    def index(self):
        school = self._school()
        years = self._years(school)
        f = self._filters(request.args, school, years)
        data, computed_at = summary.dashboard(f)  # first: it may apply the summary's log and commit
        schools = [] if self.scoped else db.session.scalars(select(School).order_by(School.code)).all()
        records = {k: stats.records(v) for k, v in data.items() if k != "summary"}
        chart_rows = (records["by_department"] if self.scoped else records["by_school"])[:TABLE_ROWS]
        charts = {
            "rate": hbar_svg(((r["department"] if self.scoped else r["school_name"], r["rate"]) for r in chart_rows),
                             fmt=pct, colour=COLOURS[2]),
            "outcome": hbar_svg(((r["outcome"], r["count"]) for r in records["by_outcome"]), fmt=str),
            "daily": line_svg([r["day"] for r in records["daily"]],
                              [(stats.HEADERS[c], [r[c] for r in records["daily"]]) for c in stats.DAILY_COLUMNS]),
        }
        return self.render_template(
            "stats/dashboard.html", view=self, f=f, years=years, schools=schools, school=school,
            s=data["summary"], t=records, charts=charts, pct=pct, H=stats.HEADERS, limit=TABLE_ROWS,
            rate_note=stats.EMPLOYMENT_RATE_NOTE, date_note=stats.DATE_RANGE_NOTE,
            scope_text=self._scope_text(f, school), query=request.args.to_dict(), computed_at=computed_at,
        )

    @expose("/market")
    @has_access
    def market(self):
        """招聘求职统计 (网上就业市场): the graduates' applications and the offers that started from
        one, by 学校 / 院系, 工作地点 and 职位类别; the postings by 职位类别 and status."""
        school = self._school()
        years = self._years(school)
        f = self._filters(request.args, school, years)
        data = stats.market_tables(f)
        return self.render_template(
            "stats/market.html", view=self, f=f, years=years, s=data["summary"],
            t={k: stats.records(v) for k, v in data.items() if k != "summary"}, H=stats.MARKET_HEADERS,
            scope_text=self._scope_text(f, school), query=request.args.to_dict(), limit=TABLE_ROWS)

    @expose("/workbook")
    @has_access
    def workbook(self):
        """统计表 (.xlsx): aggregates only, small, written in the request."""
        school = self._school()
        f = self._filters(request.args, school, self._years(school), report=False)
        scope = self._scope_text(f, school)
        wb = stats.statistics_workbook(summary.dashboard(f)[0], f, scope_text=scope)
        return xlsx_download(wb, "就业统计表-" + scope.replace("，", "-").replace(" ", "") + ".xlsx")

    @expose("/export", methods=["POST"])
    @has_access
    def export(self):
        """The detailed list with ID numbers: a job, audited, downloaded by its owner only."""
        school = self._school()
        f, errors = stats.Filters.parse(request.form, school_id=school.id if school else None)
        if errors:
            for e in errors:
                flash(e, "danger")
            return redirect(url_for(".index"))
        kind = request.form.get("kind") if request.form.get("kind") in self.run_kinds else self.export_kind
        if kind == "certified_list" and not f.year:
            flash("请先选择毕业年度，再导出已鉴证协议书明细", "danger")
            return redirect(url_for(".index"))
        params = f.as_params()
        fmt = request.form.get("format")
        params["format"] = "csv" if fmt in ("csv", "csv-gb18030") else "xlsx"
        if fmt == "csv-gb18030":
            params["encoding"] = "gb18030"
        scope = self._scope_text(f, school)
        params["label"] = labels.JOB_KIND[kind] + "-" + scope.replace("，", "-").replace(" ", "")
        run = runs.start(kind, current_user.id, f"app.jobs.exports.{kind}", params)
        return redirect(url_for(".job", run_id=run.id))

    @expose("/national-check")
    @has_access
    def national_check(self):
        """导出前检查: the graduates whose 毕业去向 row cannot be fully coded, each with a link to its
        agreement, so they can be fixed before the national file is exported."""
        school = self._school()
        years = self._years(school)
        f = self._filters(request.args, school, years)
        count, rows = national.problems(f)
        if self.scoped:
            link = lambda agreement_id: url_for("SchoolPortal.review", agreement_id=agreement_id)  # noqa: E731
        else:
            link = lambda agreement_id: url_for("console_agreements.details_view", id=agreement_id)  # noqa: E731
        return self.render_template("stats/national_check.html", view=self, f=f, count=count, rows=rows, link=link,
                                    scope_text=self._scope_text(f, school), query=request.args.to_dict(),
                                    label=labels.JOB_KIND[self.NATIONAL])

    def _run(self, run_id):
        run = db.session.scalar(select(JobRun).where(
            JobRun.id == run_id, JobRun.user_id == current_user.id, JobRun.kind.in_(self.run_kinds)))
        if run is None:
            abort(404)  # another user's run (or another kind) is not found, whatever its id
        return run

    @expose("/job/<int:run_id>")
    @has_access
    def job(self, run_id):
        return render_run(self, self._run(run_id))

    def run_page(self, run):
        """This export's part of the run page (app/views/jobs.py render_run)."""
        index = url_for(f"{type(self).__name__}.index")
        result = run_result(run) or {}
        links = []
        if run.status == "done":
            links.append((url_for(f"{type(self).__name__}.download", run_id=run.id),
                          f"下载 {result.get('filename') or ''}".strip(), "success"))
        return {
            "heading": labels.JOB_KIND.get(run.kind, self.export_label),
            "crumbs": [("数据统计", None), (self.title, index), ("导出", None)],
            "unit": "行", "failed_note": "请稍后重试或联系管理员",
            "links": links + [(index, "返回" + self.title, "default")],
            "result_template": "stats/_export_result.html", "result": result,
        }

    @expose("/job/<int:run_id>/download")
    @has_access
    def download(self, run_id):
        run = self._run(run_id)
        result = run_result(run) or {}
        path = export_path(run.user_id, result.get("file")) if run.status == "done" else None
        if path is None:
            abort(404)
        return send_file(path, as_attachment=True, download_name=result.get("filename") or "export")


class ProvinceStatsView(_StatsPages):
    """省就业中心: every school; the statistics workbook and the certified-agreement list."""

    route_base = "/stats/province"
    title = "统计总览"
    export_kind = "certified_list"


class SchoolStatsView(_StatsPages):
    """学校就业部门: the same numbers for its own school only, and its students' outcome list."""

    route_base = "/stats/school"
    scoped = True
    title = "本校就业统计"
    export_kind = "school_students"


# ---------------------------------------------------------------- employers' 导出列表

EMPLOYER_COLUMNS = [
    ("院校名称", 24), ("姓名", 10), ("身份证号", 20), ("学历", 12), ("专业", 20), ("拟聘用职位", 18),
    ("邀请日期", 12), ("应约过期日期", 14), ("应约状态", 12), ("鉴证状态", 14), ("协议书编号", 18),
]


class EmployerExportView(PortalView):
    """导出列表 on 数据管理: the employer's own offers with the page's filters (tab, 学生姓名).
    ID numbers stay masked as on the page (R2): an employer's list is not a detailed ID list."""

    route_base = "/employer/export"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        employer = current_employer()
        tab = request.args.get("tab", "pending")
        if tab not in dict(employer_queries.OFFER_TABS):
            tab = "pending"
        name = request.args.get("name", "").strip()
        query, _count = employer_queries.offers(employer, tab, name)  # the page's own query
        wb = spreadsheets.new_workbook()
        sheet = spreadsheets.SheetWriter(wb, "数据管理", [c for c, _ in EMPLOYER_COLUMNS], widths=[w for _, w in EMPLOYER_COLUMNS])
        now = datetime.now(timezone.utc)
        for a, s, school_name in db.session.execute(query.execution_options(yield_per=1000)):
            st = workflow.effective_status(a, now)
            sheet.append([school_name, s.name, labels.mask_id(s.id_number), s.education, s.major, a.position,
                          labels.fmt_date(a.sent_at), labels.fmt_date(labels.deadline_date(a.expires_at)),
                          labels.label(labels.ANSWER_STATUS, st), labels.REVIEW_STATUS.get(st, "-"),
                          a.number or "-"])
        db.session.add(ExportAudit(user_id=current_user.id, what="employer_offers", row_count=sheet.rows,
                                   filters=json.dumps({"employer_id": employer.id, "tab": tab, "name": name},
                                                      ensure_ascii=False, sort_keys=True)))
        db.session.commit()
        return xlsx_download(wb, f"数据管理-{dict(employer_queries.OFFER_TABS)[tab]}.xlsx")


def register(appbuilder):
    appbuilder.add_view_no_menu(ProvinceStatsView())
    appbuilder.add_view_no_menu(SchoolStatsView())
    appbuilder.add_view_no_menu(EmployerExportView())

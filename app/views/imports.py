"""导入学生生源 (school) and 导入拟签约名单 (employer): template, upload, progress, result, error report.

The upload is read and checked here first (format by content, size, zip bomb, columns, row cap),
so a refused file gets its Chinese reason at once and is never stored. An accepted file is stored
under UPLOAD_DIR/imports/ with a random name and handed to a JobRun: inline for small files, on rq
(`app.jobs.runs.start`) above IMPORT_ASYNC_ROWS rows when Redis is configured. The result page
polls the run (only the login that started it can see it: another id answers 404) and offers the
error report, which is served only to that login.
"""
import io
import json

from flask import abort, current_app, flash, jsonify, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_login import current_user
from sqlalchemy import func, select, update

import imports

from .. import accounts, importing, labels, uploads, workflow
from ..extensions import db
from ..jobs import runs
from ..models import AppUser, JobRun
from ..security import current_employer, current_school, scoped_one
from .common import XLSX_MIME
from .jobs import render_run, run_params, run_payload, run_result

RECENT = 10


class _ImportView(BaseView):
    """Shared pages; subclasses say which spec, job and party."""

    default_view = "index"
    spec = None
    # {name: spec} of the layouts a file may have (the header row decides); the first is `spec`
    layouts = None
    kind = ""  # JobRun.kind; the page's title is its label (labels.JOB_KIND)
    job = ""  # dotted path of the work function
    title = ""
    crumbs = ""

    @property
    def run_kinds(self):
        return (self.kind,)

    def _party(self):  # 404 for a login without the party (another role)
        raise NotImplementedError

    def _context(self):
        return {}

    def _run(self, run_id):
        self._party()
        return scoped_one(select(JobRun).where(JobRun.id == run_id, JobRun.user_id == current_user.id,
                                               JobRun.kind == self.kind))

    @expose("/")
    @has_access
    def index(self):
        self._party()
        recent = db.session.scalars(
            select(JobRun).where(JobRun.user_id == current_user.id, JobRun.kind == self.kind)
            .order_by(JobRun.id.desc()).limit(RECENT)
        ).all()
        return self.render_template(
            "imports/index.html", view=self, spec=self.spec, recent=[(r, run_result(r), run_params(r)) for r in recent],
            max_rows=current_app.config["IMPORT_MAX_ROWS"],
            max_mb=current_app.config["IMPORT_MAX_BYTES"] // (1024 * 1024), **self._context())

    @expose("/template")
    @has_access
    def template(self):
        """The template of the layout `?layout=` names (our Chinese headers by default)."""
        self._party()
        spec = (self.layouts or {}).get(request.args.get("layout"), self.spec)
        return send_file(io.BytesIO(imports.template(spec)), mimetype=XLSX_MIME, as_attachment=True,
                         download_name=f"{spec.title}导入模板.xlsx")

    @expose("/upload", methods=["POST"])
    @has_access
    def upload(self):
        self._party()
        file = request.files.get("file")
        if file is None or not file.filename:
            flash("请选择要导入的文件（.xlsx 或 .csv）", "warning")
            return redirect(url_for(".index"))
        limits = imports.Limits.from_config(current_app.config)
        try:
            received = imports.receive(file.stream, limits)
            table = imports.read_table(received, tuple(self.layouts.values()) if self.layouts else self.spec, limits)
        except imports.ImportRefused as exc:
            flash(str(exc), "danger")
            return redirect(url_for(".index"))
        refusal = self._quota_refusal(len(table))
        if refusal:
            flash(refusal, "danger")
            return redirect(url_for(".index"))
        key = uploads.save(uploads.Upload(received.data, received.fmt, ""), folder="imports")
        params = {"file": key, "valid_only": request.form.get("valid_only") == "1",
                  "filename": (file.filename or "")[-100:]}
        if len(table) > current_app.config["IMPORT_ASYNC_ROWS"]:
            run = runs.start(self.kind, current_user.id, self.job, params)
            if run.total is None:  # counted by the daily quota before the worker reports progress
                db.session.execute(update(JobRun).where(JobRun.id == run.id, JobRun.total.is_(None))
                                   .values(total=len(table)))
                db.session.commit()
        else:  # small files: answer in this request even when a worker exists
            run = JobRun(kind=self.kind, user_id=current_user.id, status="queued", total=len(table),
                         params=json.dumps(params, ensure_ascii=False))
            db.session.add(run)
            db.session.commit()
            runs.execute(run.id, self.job)
        return redirect(url_for(".run", run_id=run.id))

    def _quota_refusal(self, rows):
        return None

    @expose("/run/<int:run_id>")
    @has_access
    def run(self, run_id):
        return render_run(self, self._run(run_id))

    def run_page(self, run):
        """This import's part of the run page (app/views/jobs.py render_run)."""
        params, result, context = run_params(run), run_result(run), self._context()
        index = url_for(f"{type(self).__name__}.index")
        links = []
        if run.status == "done" and result:
            if result.get("errors_key"):
                links.append((url_for(f"{type(self).__name__}.errors", run_id=run.id), "下载错误报告", "warning"))
            if result.get("written") and context.get("done_link"):
                links.append((*context["done_link"], "primary"))
        return {
            "heading": f"{self.title}：导入结果", "crumbs": [(self.crumbs, None), (self.title, index), ("导入结果", None)],
            "facts": [("文件", params.get("filename") or "-"),
                      ("导入方式", "只导入正确的行" if params.get("valid_only") else "全部正确才导入")],
            "unit": "行", "failed_note": "未导入任何数据", "links": links + [(index, "继续导入", "default")],
            "result_template": "imports/_result.html", "result": result,
        }

    @expose("/run/<int:run_id>/status")
    @has_access
    def status(self, run_id):
        """The run's JSON (as /jobs/run/<id>.json), scoped to this import."""
        return jsonify(run_payload(self._run(run_id)))

    @expose("/run/<int:run_id>/errors")
    @has_access
    def errors(self, run_id):
        run = self._run(run_id)
        key = (run_result(run) or {}).get("errors_key")
        if not key or not key.startswith("imports/"):
            abort(404)
        try:
            path = uploads.path_of(key)
        except uploads.UploadError:
            abort(404)
        try:
            return send_file(path, mimetype=XLSX_MIME, as_attachment=True,
                             download_name=f"{self.spec.title}导入错误报告.xlsx")
        except FileNotFoundError:
            abort(404)


class SchoolImportView(_ImportView):
    """导入学生生源 (学校就业部门)."""

    route_base = "/school/import"
    spec = imports.ROSTER
    layouts = {"ours": importing.ROSTER_LAYOUTS[0], "national": importing.ROSTER_LAYOUTS[1]}
    kind = "roster_import"
    job = "app.jobs.imports.roster"
    title = labels.JOB_KIND[kind]
    crumbs = "学生管理"

    def _party(self):
        return current_school()

    def _context(self):
        return {"password_rule": accounts.INITIAL_PASSWORD_RULE, "school": self._party(),
                "done_link": (url_for("SchoolStudentView.list"), "查看学生管理")}


class EmployerImportView(_ImportView):
    """导入拟签约名单 (用人单位): matched students join the 签约发送列表."""

    route_base = "/employer/import"
    spec = imports.CANDIDATES
    kind = "candidate_import"
    job = "app.jobs.imports.candidates"
    title = labels.JOB_KIND[kind]
    crumbs = "签约中心"

    def _party(self):
        return current_employer()

    def _context(self):
        return {"done_link": (url_for("EmployerPortal.invite_list"), "查看签约发送列表")}

    def _quota_refusal(self, rows):
        """A candidate list is a bulk 签约搜索 (R2 is rate-limited): only an employer that may offer
        (R1) may run one, and at most CANDIDATE_IMPORT_DAILY_ROWS rows a (Shanghai) day."""
        employer = current_employer()
        try:
            workflow.employer_may_offer(employer)
        except workflow.WorkflowError as exc:
            return str(exc)
        day_start = labels.day_start_utc(labels.today_local())
        used = db.session.scalar(select(func.coalesce(func.sum(JobRun.total), 0)).where(
            JobRun.user_id.in_(select(AppUser.id).where(AppUser.employer_id == employer.id)),
            JobRun.kind == self.kind, JobRun.created_at >= day_start)) or 0
        cap = current_app.config["CANDIDATE_IMPORT_DAILY_ROWS"]
        if used + rows > cap:
            return f"每个单位每天最多导入{cap}行拟签约名单（今日已导入{used}行），请明天再试或分批导入"
        return None


def register(appbuilder):
    appbuilder.add_view_no_menu(SchoolImportView())
    appbuilder.add_view_no_menu(EmployerImportView())

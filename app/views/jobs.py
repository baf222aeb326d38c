"""Background work on screen.

- The run page (`render_run`, template jobs/run.html): the one page of a JobRun of any kind (an
  import, an export) for the user who started it — 排队中 / 进行中 / 已完成 / 失败, the progress
  (polled from `run_payload` as JSON, reloaded when the run ends; a plain refresh without
  JavaScript), the reason of a failure, and what the kind adds once done (the import's counts and
  error report, the export's download). The view that starts a kind declares it in `run_kinds`
  and adds its part through `run_page(run)`; labels come from app.labels (JOB_KIND, JOB_STATUS).
- `JobRunView` (/jobs/run/<id>, /jobs/run/<id>.json): that page and its JSON for any run; the
  import and statistics views keep their own URLs (/school/import/run/<id>, /stats/…/job/<id>)
  for the same page. Another user's run is 404.
- `QueueAdminView` (/jobs/queue/, 任务队列; province and admin): rq queue lengths, workers and the
  cron process, failed jobs with their traceback and 重试, the mail outbox by state with failed
  mail and 重新发送, and recent failed job runs. Works without Redis (says so) — the outbox and
  job runs live in the database.
"""
import json
from datetime import timedelta

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_login import current_user
from sqlalchemy import func, select

from .. import labels
from ..extensions import db
from ..models import AppUser, JobRun, Notification
from ..security import safe_next

MAIL_STATUS = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败", "none": "无邮箱（仅站内）"}
RQ_STATUS = {"queued": "排队中", "started": "执行中", "scheduled": "计划中", "deferred": "等待依赖",
             "failed": "失败", "finished": "已完成"}


def run_result(run):
    """The run's result (what its work function returned), or None."""
    try:
        return json.loads(run.result) if run.result else None
    except ValueError:
        return None


def run_params(run):
    try:
        return json.loads(run.params) if run.params else {}
    except ValueError:
        return {}


def run_payload(run):
    """The run as the page and its polling see it (/jobs/run/<id>.json and the import's /status)."""
    percent = None
    if run.total:
        percent = min(100, int((run.done or 0) * 100 / run.total))
    return {
        "id": run.id, "kind": run.kind, "kind_label": labels.JOB_KIND.get(run.kind, run.kind),
        "status": run.status, "status_label": labels.JOB_STATUS.get(run.status, run.status),
        "done": run.done or 0, "total": run.total, "percent": percent,
        "message": run.message,
        "result": run_result(run),
        "finished": run.status in ("done", "failed"),
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def _page_of(appbuilder, kind):
    """The view that starts runs of `kind` (its `run_kinds`), or None."""
    for view in appbuilder.baseviews:
        if kind in getattr(view, "run_kinds", ()):
            return view
    return None


def render_run(view, run):
    """The one run page, whatever the kind and whichever URL shows it. The kind's view adds
    (`run_page(run)` → dict): heading, crumbs [(text, url)], facts [(label, value)], unit,
    failed_note, result_template (shown once done) with its variables, links [(url, text, button
    style)] — the kind's next steps (下载错误报告, 下载, 继续导入); a same-site ?next= adds 返回."""
    owner = _page_of(view.appbuilder, run.kind)
    kind_label = labels.JOB_KIND.get(run.kind, run.kind)
    page = {"heading": kind_label, "crumbs": [("后台任务", None), (kind_label, None)], "facts": [],
            "unit": "条", "failed_note": "", "result_template": None, "links": []}
    if owner is not None:
        page.update(owner.run_page(run))
    back = safe_next(request.args.get("next"))
    if back:
        page["links"] = page["links"] + [(back, "返回", "default")]
    from ..jobs import runs

    rerun_url = None
    if run.status == "failed" and run.user_id == current_user.id and runs.rerun_refusal(run) is None:
        rerun_url = url_for("JobRunView.rerun", run_id=run.id, next=request.full_path)
    return view.render_template("jobs/run.html", run=run, p=run_payload(run), rerun_url=rerun_url,
                                status_url=url_for("JobRunView.status", run_id=run.id), **page)


def _rerun(run_id):
    """重新执行 a failed run; flashes what happened, True when it runs again."""
    from ..jobs import runs

    refusal = runs.rerun(run_id)
    if refusal:
        flash(f"未重新执行：{refusal}", "danger")
        return False
    flash("已重新执行：任务已重新排队，进度见任务页面", "success")
    return True


class JobRunView(BaseView):
    route_base = "/jobs/run"
    default_view = "show"

    def _own(self, run_id):
        run = db.session.scalar(select(JobRun).where(JobRun.id == run_id, JobRun.user_id == current_user.id))
        if run is None:
            abort(404)
        return run

    @expose("/<int:run_id>")
    @has_access
    def show(self, run_id):
        return render_run(self, self._own(run_id))

    @expose("/<int:run_id>/rerun", methods=["POST"])
    @has_access
    def rerun(self, run_id):
        """重新执行 the user's own failed run, when its input is still there (`runs.rerun_refusal`)."""
        run = self._own(run_id)
        _rerun(run.id)
        return redirect(safe_next(request.args.get("next")) or url_for(".show", run_id=run.id))

    @expose("/<int:run_id>.json")
    @has_access
    def status(self, run_id):
        return jsonify(run_payload(self._own(run_id)))


# ---------------------------------------------------------------- 任务队列

def _rq_overview():
    """(overview dict, error text). Never raises: Redis may be unset or down."""
    from flask import current_app

    from ..jobs import redis_connection

    if not current_app.config.get("REDIS_URL"):
        return None, "未配置 REDIS_URL：后台任务在请求内直接执行，定时任务（过期、提醒、邮件）需另行触发。"
    try:
        from rq import Queue, Worker
        from rq.cron import CronScheduler

        conn = redis_connection()
        conn.ping()
        queues = []
        failed = []
        for queue in sorted(Queue.all(connection=conn), key=lambda q: q.name):
            registry = queue.failed_job_registry
            queues.append({
                "name": queue.name, "queued": queue.count,
                "started": queue.started_job_registry.count, "scheduled": queue.scheduled_job_registry.count,
                "deferred": queue.deferred_job_registry.count, "failed": registry.count,
                "finished": queue.finished_job_registry.count,
            })
            for job in queue.job_class.fetch_many(registry.get_job_ids(0, 49), connection=conn):
                if job is None:
                    continue
                result = job.latest_result()
                failed.append({
                    "id": job.id, "queue": queue.name, "func": job.func_name,
                    "description": job.description, "ended_at": job.ended_at,
                    "traceback": (result.exc_string if result else None) or "",
                    "refusal": _retry_refusal(job),
                })
        workers = [{"name": w.name, "state": w.get_state(), "queues": ", ".join(w.queue_names()),
                    "last_heartbeat": w.last_heartbeat} for w in Worker.all(connection=conn)]
        crons = [{"name": c.name, "last_heartbeat": c.last_heartbeat}
                 for c in CronScheduler.all(connection=conn)]
        return {"queues": queues, "failed": failed, "workers": workers, "crons": crons}, None
    except Exception as exc:  # Redis down: the page still shows the database side
        return None, (f"无法连接 Redis（{exc.__class__.__name__}）：任务暂存于数据库，Redis 恢复后由定时任务继续处理；"
                      "登录与查询的频率限制暂在各进程内存中计数。")


def _run_of(job):
    """The JobRun an rq job executes (app.jobs.runs.execute_job), or None for other jobs."""
    if job.func_name != "app.jobs.runs.execute_job" or not job.args:
        return None
    return db.session.get(JobRun, job.args[0])


def _retry_refusal(job):
    """Why 重试 of a failed rq job would do nothing, or None. A job run is rerun through its
    JobRun (`runs.rerun`): requeueing its rq job alone would find the run failed and stop."""
    if job.func_name != "app.jobs.runs.execute_job":
        return None
    from ..jobs import runs

    run = _run_of(job)
    if run is None:
        return "任务记录不存在"
    return runs.rerun_refusal(run)


class QueueAdminView(BaseView):
    route_base = "/jobs/queue"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        from ..jobs import mail, runs

        rq_info, rq_error = _rq_overview()
        counts = mail.outbox_counts()
        mail_filter, filter_error = _mail_filter(request.args)
        failed_mail = db.session.execute(
            select(Notification.id, Notification.email, Notification.subject, Notification.attempts,
                   Notification.last_error, Notification.created_at)
            .where(mail.failed_filter(**mail_filter) if not filter_error else Notification.email_status == "failed")
            .order_by(Notification.id.desc()).limit(50)).all()
        matching = db.session.scalar(select(func.count()).select_from(Notification).where(
            mail.failed_filter(**mail_filter))) if not filter_error else None
        failed_runs = [(run, username, runs.rerun_refusal(run)) for run, username in db.session.execute(
            select(JobRun, AppUser.username).join(AppUser, AppUser.id == JobRun.user_id)
            .where(JobRun.status == "failed").order_by(JobRun.id.desc()).limit(20)).all()]
        return self.render_template(
            "jobs/queue.html", rq=rq_info, rq_error=rq_error, counts=counts, failed_mail=failed_mail,
            failed_runs=failed_runs, MAIL_STATUS=MAIL_STATUS, mail_filter=request.args,
            filter_error=filter_error, matching=matching)

    @expose("/retry/<job_id>", methods=["POST"])
    @has_access
    def retry(self, job_id):
        """重试 one failed rq job: a job run is run again through its JobRun (`runs.rerun`), any
        other job goes back to its queue."""
        from rq.exceptions import InvalidJobOperation, NoSuchJobError
        from rq.job import Job

        from ..jobs import redis_connection

        try:
            conn = redis_connection()
            if conn is None:
                raise NoSuchJobError(job_id)
            job = Job.fetch(job_id, connection=conn)
            if job.func_name == "app.jobs.runs.execute_job":
                run = _run_of(job)
                if run is None:
                    flash("未重试：任务记录不存在", "danger")
                elif _rerun(run.id):  # a new rq job runs it: this failed entry is history
                    job.failed_job_registry.remove(job)
                return redirect(url_for(".index"))
            job.requeue()
            flash(f"已重新排队：{job.description or job.func_name}", "success")
        except (NoSuchJobError, InvalidJobOperation):
            flash("该任务不存在或不在失败列表中", "danger")
        except Exception as exc:  # noqa: BLE001
            flash(f"重试失败：无法连接 Redis（{exc.__class__.__name__}）", "danger")
        return redirect(url_for(".index"))

    @expose("/run/<int:run_id>/rerun", methods=["POST"])
    @has_access
    def rerun(self, run_id):
        """重新执行 any failed job run (the province's and administrator's page)."""
        _rerun(run_id)
        return redirect(url_for(".index"))

    @expose("/mail/<int:notification_id>/retry", methods=["POST"])
    @has_access
    def retry_mail(self, notification_id):
        """重新发送 one failed mail (pending again; sent after this commit)."""
        from ..jobs import mail

        if mail.retry_failed(notification_id):
            flash("已重新加入发送队列", "success")
        else:
            flash("该邮件不是发送失败状态，未重新发送", "danger")
        return redirect(url_for(".index"))

    @expose("/mail/retry", methods=["POST"])
    @has_access
    def retry_mail_matching(self):
        """重新发送 every failed mail matching the filter (the form repeats the page's filter)."""
        from ..jobs import mail

        mail_filter, error = _mail_filter(request.form)
        if error:
            flash(error, "danger")
            return redirect(url_for(".index"))
        count = mail.retry_failed(**mail_filter)
        flash(f"已将 {count} 封发送失败的邮件重新加入发送队列" if count else "没有符合条件的发送失败邮件",
              "success" if count else "warning")
        return redirect(url_for(".index", **{k: v for k, v in request.form.items() if k in MAIL_FILTER_FIELDS and v}))


MAIL_FILTER_FIELDS = ("since", "until", "error", "email")


def _mail_filter(source):
    """重新发送's filter from a query string or form: (kwargs for mail.failed_filter, error).
    Dates are days in Asia/Shanghai; 至 includes its whole day."""
    out = {}
    for name in ("since", "until"):
        text = (source.get(name) or "").strip()
        if text:
            day = labels.parse_day(text)
            if day is None:
                return {}, "日期格式应为 2026-12-01"
            out[name] = labels.day_start_utc(day + timedelta(days=1) if name == "until" else day)
    for name in ("error", "email"):
        value = (source.get(name) or "").strip()
        if len(value) > 100:
            return {}, "筛选条件过长（最多 100 个字符）"
        if value:
            out[name] = value
    return out, None


def register(appbuilder):
    appbuilder.add_view_no_menu(JobRunView())
    appbuilder.add_view_no_menu(QueueAdminView())

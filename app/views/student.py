"""毕业生: 学生首页, 电子签约 list, 查看邀请函 (同意 / 拒绝), 查看详情."""
from flask import flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import func, select

from .. import workflow
from ..extensions import db
from ..models import LIVE_AGREEMENT_STATUSES, Agreement
from ..security import current_student, scoped_one
from .common import Page, PortalView, flash_error, recent_messages


def employment_summary(student_id):
    """就业信息 on the home page: the live agreement if any."""
    live = db.session.scalar(
        select(Agreement).where(Agreement.student_id == student_id,
                                Agreement.status.in_(LIVE_AGREEMENT_STATUSES))
    )
    if live is None:
        return {"status": "未就业", "kind": "-", "time": None, "agreement": None}
    return {
        "status": "已就业" if live.status == "certified" else "已签约（待学校鉴证）",
        "kind": "协议就业（电子签约）" if live.kind == "electronic" else "协议就业（纸质签约）",
        "time": live.certified_at or live.accepted_at,
        "agreement": live,
    }


class StudentPortal(PortalView):
    route_base = "/student"

    def _offer(self, agreement_id):
        student = current_student()
        return scoped_one(select(Agreement).where(Agreement.id == agreement_id, Agreement.student_id == student.id))

    @expose("/")
    @has_access
    def home(self):
        student = current_student()
        todo = db.session.scalar(
            select(func.count()).select_from(Agreement)
            .where(Agreement.student_id == student.id, workflow.pending_clause())
        )
        return self.render_template("student/home.html", student=student, todo=todo,
                           job=employment_summary(student.id), messages=recent_messages(),
                           block_reason=workflow.student_block_reason(student))

    @expose("/offers/")
    @has_access
    def offers(self):
        student = current_student()
        name = request.args.get("employer", "").strip()
        query = (select(Agreement).where(Agreement.student_id == student.id, Agreement.kind == "electronic")
                 .order_by(Agreement.sent_at.desc(), Agreement.id.desc()))
        if name:
            query = query.where(Agreement.employer_name.contains(name))
        return self.render_template("student/offers.html", page=Page(query), employer=name,
                           now_status=workflow.effective_status)

    @expose("/offers/<int:agreement_id>")
    @has_access
    def offer(self, agreement_id):
        student = current_student()
        agreement = self._offer(agreement_id)
        status = workflow.effective_status(agreement)
        # R6: while another outcome is live, other offers are view-only.
        busy = workflow.live_outcome_exists(student.id, exclude_agreement_id=agreement.id)
        can_answer = status == "pending" and not busy and workflow.student_block_reason(student) is None
        return self.render_template("student/offer.html", a=agreement, student=student, status=status,
                           can_answer=can_answer, busy=busy, version=workflow.version_of(agreement),
                           deadline=workflow.labels.deadline_date(agreement.expires_at))

    @expose("/offers/<int:agreement_id>/accept", methods=["POST"])
    @has_access
    def accept(self, agreement_id):
        student = current_student()
        agreement = self._offer(agreement_id)
        if request.form.get("agree") != "1":
            flash("请先阅读签约前必读，并勾选“我同意并遵守以上规定”", "warning")
            return redirect(url_for(".offer", agreement_id=agreement.id))
        try:
            workflow.accept(student, agreement, seen_version=request.form.get("version"))
        except workflow.WorkflowError as e:
            flash_error(e)
            return redirect(url_for(".offer", agreement_id=agreement_id))
        flash("签约成功，已形成电子协议书，等待学校老师鉴证", "success")
        return redirect(url_for(".detail", agreement_id=agreement_id))

    @expose("/offers/<int:agreement_id>/reject", methods=["POST"])
    @has_access
    def reject(self, agreement_id):
        student = current_student()
        agreement = self._offer(agreement_id)
        try:
            workflow.reject(student, agreement)
        except workflow.WorkflowError as e:
            flash_error(e)
            return redirect(url_for(".offer", agreement_id=agreement_id))
        flash("已拒绝该邀约", "success")
        return redirect(url_for(".offers"))

    @expose("/offers/<int:agreement_id>/detail")
    @has_access
    def detail(self, agreement_id):
        student = current_student()
        agreement = self._offer(agreement_id)
        return self.render_template("student/detail.html", a=agreement, student=student, employer=agreement.employer,
                           events=agreement.events, status=workflow.effective_status(agreement))


def register(appbuilder):
    appbuilder.add_view_no_menu(StudentPortal())

"""用人单位: 签约搜索 → 签约发送列表 → 邀请函 → 预览 → 确认发送; 数据管理; 修改邀约."""

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from stdnum.cn import ric

from imports.validate import is_mobile

from .. import importing, labels, profiles, regions, workflow
from ..queries import employer as queries
from ..queries import market as market_queries
from ..extensions import db
from ..models import Agreement, InviteListEntry, School, Student, Termination
from ..security import current_employer, scoped_one
from .common import (
    Page,
    PortalView,
    attempt,
    back,
    flash_error,
    ids_from_form,
    rate_allowed,
    recent_messages,
    xlsx_download,
)

def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="employer-search")


def form_terms(form):
    return {f: form.get(f, "").strip() for f in workflow.TERM_FIELDS}


class EmployerPortal(PortalView):
    route_base = "/employer"

    def _employer(self):
        return current_employer()

    def _offer(self, agreement_id):
        employer = self._employer()
        return scoped_one(select(Agreement).where(Agreement.id == agreement_id, Agreement.employer_id == employer.id))

    # ------------------------------------------------------------ home

    @expose("/")
    @has_access
    def home(self):
        employer = self._employer()
        counts = queries.home_counts(employer)
        approvals = queries.approvals(employer)
        asked = {ap.school_id for ap, _name in approvals if ap.status != "refused"}
        other_schools = [s for s in db.session.scalars(select(School).order_by(School.code)) if s.id not in asked]
        return self.render_template("employer/home.html", employer=employer, approvals=approvals,
                                    other_schools=other_schools, messages=recent_messages(), **counts)

    @expose("/confirm", methods=["GET", "POST"])
    @has_access
    def confirm(self):
        """签约信息确认 on first login; later the edit form of 基本信息维护."""
        employer = self._employer()
        first = employer.profile_confirmed_at is None
        errors = {}
        if request.method == "POST":
            values = {f: request.form.get(f, "").strip() for f in workflow.PROFILE_FIELDS}
            errors = attempt(lambda: profiles.confirm_employer_profile(employer, values),
                             "签约信息已确认" if first else "基本信息已保存")
            if errors is None:
                return redirect(url_for(".home" if first else ".profile"))
        else:
            values = {f: getattr(employer, f) for f in workflow.PROFILE_FIELDS}
        return self.render_template("employer/confirm.html", employer=employer, values=values, errors=errors,
                                    first=first)

    @expose("/approvals/apply", methods=["POST"])
    @has_access
    def apply_approval(self):
        employer = self._employer()
        school = db.session.get(School, labels.parse_id(request.form.get("school")) or 0)
        if school is None:
            flash("请选择学校", "warning")
            return redirect(url_for(".home"))
        try:
            workflow.apply_for_approval(employer, school)
        except workflow.WorkflowError as e:
            flash_error(e)
        else:
            flash(f"已向{school.name}提交审核申请", "success")
        return redirect(url_for(".home"))

    @expose("/profile")
    @has_access
    def profile(self):
        return self.render_template("employer/profile.html", employer=self._employer())

    # ------------------------------------------------------------ R2 search and the invite list

    @expose("/search")
    @has_access
    def search(self):
        employer = self._employer()
        schools = db.session.scalars(select(School).order_by(School.code)).all()
        q = {k: request.args.get(k, "").strip() for k in ("school_id", "year", "name", "key")}
        q["key"] = q["key"].upper()  # an ID number's check digit may be typed as x
        results, searched = [], any(q.values())
        # R16: only an employer that may offer (R1) searches; the page says why not instead.
        blocked = workflow.employer_offer_refusal(employer)
        if blocked is not None:
            return self.render_template("employer/search.html", schools=schools, q=q, results=[],
                                        searched=False, blocked=blocked.message)
        if searched:
            if not all(q.values()):
                flash("请完整填写毕业院校、毕业年度、姓名和身份证号/手机号，四项全部正确才能搜索到学生", "warning")
            elif not (ric.is_valid(q["key"]) or is_mobile(q["key"])):
                flash("身份证号或手机号格式不正确，请核对后再搜索", "warning")
            elif not rate_allowed("employer-search", "SEARCH_RATE_LIMIT", employer.id):
                flash("搜索过于频繁，请稍后再试", "danger")
                return self.render_template("employer/search.html", schools=schools, q=q, results=[],
                                   searched=True), 429
            else:
                results = self._find(q)
        tokens = {s.id: _serializer().dumps([employer.id, s.id]) for s in results}
        return self.render_template("employer/search.html", schools=schools, q=q, results=results, tokens=tokens,
                           searched=searched)

    @staticmethod
    def _find(q):
        """R2 (exact school, year, name and ID number or phone; R7 students hidden): the same
        matcher as the candidate import."""
        school_id, year = labels.parse_id(q["school_id"]), labels.parse_id(q["year"])
        if school_id is None or year is None:  # not a number, or beyond the database's integer
            return []
        key = (school_id, year, q["name"], q["key"])
        ids = importing.match_students([key]).get(key, [])
        if not ids:
            return []
        return db.session.scalars(select(Student).options(joinedload(Student.school))
                                  .where(Student.id.in_(ids)).order_by(Student.id)).all()

    @expose("/list/add", methods=["POST"])
    @has_access
    def list_add(self):
        employer = self._employer()
        try:
            owner, student_id = _serializer().loads(request.form.get("token", ""), max_age=3600)
        except BadSignature:
            abort(404)
        if owner != employer.id:
            abort(404)
        exists = db.session.scalar(select(InviteListEntry.id).where(
            InviteListEntry.employer_id == employer.id, InviteListEntry.student_id == student_id))
        if not exists:
            db.session.add(InviteListEntry(employer_id=employer.id, student_id=student_id))
            try:
                db.session.commit()
            except IntegrityError:  # a double click added it a moment ago
                db.session.rollback()
        flash("已加入签约发送列表", "success")
        return redirect(url_for(".invite_list"))

    @expose("/list/")
    @has_access
    def invite_list(self):
        employer = self._employer()
        query, count = queries.invite_list(employer)
        page = Page(query, count)
        # Each shown student's state, from the table (R3, R7): who will receive an offer, and why not.
        answers = workflow.why_not_each("invite", employer, [s for _entry, s, _school in page.items])
        refusals = {s.id: refusal for s, refusal in answers.items()}
        return self.render_template("employer/invite_list.html", page=page, refusals=refusals)

    @expose("/list/remove", methods=["POST"])
    @has_access
    def list_remove(self):
        employer = self._employer()
        ids = ids_from_form()
        if not ids:
            flash("请先勾选学生", "warning")
        else:
            db.session.execute(delete(InviteListEntry).where(
                InviteListEntry.employer_id == employer.id, InviteListEntry.student_id.in_(ids)))
            db.session.commit()
            flash("已移出签约发送列表", "success")
        return redirect(url_for(".invite_list"))

    # ------------------------------------------------------------ 邀请函 → 预览 → 确认发送

    def _listed_students(self, employer, ids):
        if not ids:
            return []
        students = db.session.scalars(
            select(Student).join(InviteListEntry, InviteListEntry.student_id == Student.id)
            .where(InviteListEntry.employer_id == employer.id, Student.id.in_(ids))
            .order_by(Student.id)
        ).all()
        if len(students) != len(set(ids)):
            abort(404)  # only students on this employer's own list
        return students

    @staticmethod
    def _who_may_receive(employer, students):
        """The table's answer per student (R3, R7): (students who may receive an offer now,
        [(student, refusal)] of those who will be skipped)."""
        answers = workflow.why_not_each("invite", employer, students)
        allowed = [s for s in students if answers[s] is None]
        skipped = [(s, answers[s]) for s in students if answers[s] is not None]
        return allowed, skipped

    @expose("/invite", methods=["GET", "POST"])
    @has_access
    def invite(self):
        employer = self._employer()
        if request.method == "GET":
            ids = [i for i in map(labels.parse_id, request.args.getlist("ids")) if i is not None]
        else:
            ids = ids_from_form()
        chosen = self._listed_students(employer, ids)
        if not chosen:
            flash("请先在签约发送列表中勾选学生", "warning")
            return redirect(url_for(".invite_list"))
        try:
            workflow.employer_may_offer(employer)
        except workflow.WorkflowError as e:
            flash_error(e)
            return redirect(url_for(".invite_list"))
        students, skipped = self._who_may_receive(employer, chosen)
        if not students:
            for student, refusal in skipped:
                flash(f"{student.name}：{refusal.message}", "warning")
            flash("所选学生目前都不能接收邀约", "danger")
            return redirect(url_for(".invite_list"))
        page = {"students": students, "skipped": skipped, "chosen": chosen, "employer": employer}
        step = request.form.get("step")
        if request.method == "GET" or step in (None, "", "edit"):  # from the list: show the form
            if step == "edit":
                values = form_terms(request.form)
            else:  # from the list: the profile's terms, and a posting's when the students applied to it (R17)
                values = workflow.terms_from_profile(employer)
                posting = market_queries.listed_posting(employer, [s.id for s in chosen])
                if posting is not None:
                    values.update(workflow.market.terms_from_posting(posting))
            return self.render_template("employer/offer_form.html", values=values, errors={}, mode="invite", **page)
        values = form_terms(request.form)
        try:
            clean = workflow.validate_terms(values)
        except workflow.WorkflowError as e:
            flash_error(e)
            return self.render_template("employer/offer_form.html", values=values, errors=e.fields,
                                        mode="invite", **page), 422
        if step == "confirm":
            try:
                workflow.invite(employer, students, values)
            except workflow.WorkflowError as e:  # a race: a student's state changed since the list
                flash_error(e)
                return self.render_template("employer/offer_form.html", values=values, errors=e.fields,
                                            mode="invite", **page), 409
            flash(f"邀约发送成功，共邀请{len(students)}名学生，系统已通知学生", "success")
            for student, refusal in skipped:
                flash(f"未向{student.name}发送：{refusal.message}", "warning")
            return redirect(url_for(".offers", tab="pending"))
        deadline = labels.deadline_date(workflow.expiry_instant(workflow.utc(None), clean["feedback_days"]))
        return self.render_template("employer/offer_preview.html", values=values, clean=clean,
                                    deadline=deadline, mode="invite", **page)

    # ------------------------------------------------------------ 数据管理

    @expose("/offers/")
    @has_access
    def offers(self):
        employer = self._employer()
        tab = request.args.get("tab", "pending")
        if tab not in dict(queries.OFFER_TABS):
            tab = "pending"
        name = request.args.get("name", "").strip()
        query, count = queries.offers(employer, tab, name)
        page = Page(query, count)
        amendable = workflow.why_not_each("amend", employer, [a for a, _s, _school in page.items])
        return self.render_template("employer/offers.html", page=page, tab=tab, tabs=queries.OFFER_TABS, name=name,
                                    now_status=workflow.effective_status,
                                    may_amend={a.id for a, refusal in amendable.items() if refusal is None})

    @expose("/offers/<int:agreement_id>")
    @has_access
    def offer_detail(self, agreement_id):
        agreement = self._offer(agreement_id)
        return self.render_template("employer/offer_detail.html", a=agreement, student=agreement.student,
                           school=agreement.school, events=agreement.events, status=workflow.effective_status(agreement))

    @expose("/offers/<int:agreement_id>/amend", methods=["GET", "POST"])
    @has_access
    def amend(self, agreement_id):
        employer = self._employer()
        agreement = self._offer(agreement_id)
        students = [agreement.student]
        refusal = workflow.why_not("amend", employer, agreement)
        if refusal is not None:
            flash(refusal.message, "warning")
            return redirect(url_for(".offer_detail", agreement_id=agreement.id))
        if request.method == "GET":
            values = {f: getattr(agreement, f) for f in workflow.TERM_FIELDS}
            values["report_deadline"] = agreement.report_deadline.isoformat()
            return self.render_template("employer/offer_form.html", students=students, values=values, errors={},
                               employer=employer, mode="amend", a=agreement)
        values = form_terms(request.form)
        try:
            workflow.amend(employer, agreement, values)
        except workflow.WorkflowError as e:
            flash_error(e)
            return self.render_template("employer/offer_form.html", students=students, values=values, errors=e.fields,
                               employer=employer, mode="amend", a=agreement), 422
        flash("邀约已修改，等待学生重新应约", "success")
        return back(url_for(".offer_detail", agreement_id=agreement.id))

    # ------------------------------------------------------------ 解约办理

    @expose("/terminations/")
    @has_access
    def terminations(self):
        employer = self._employer()
        tab = request.args.get("tab", "todo")
        if tab not in dict(TERMINATION_TABS):
            tab = "todo"
        if tab == "signed":
            filters = queries.signed_filters(request.args)
            query, count = queries.signed(employer, filters)
            template = "employer/terminations_signed.html"
        else:
            filters, count = {}, None
            query = queries.terminations(employer, todo=tab == "todo")
            template = "employer/terminations.html"
        export_url = url_for(".terminations_export", **{k: v for k, v in filters.items() if v}) if tab == "signed" else None
        page = Page(query, count)
        may_terminate = set()
        if tab == "signed":  # the rows the table lets this employer ask to terminate now (R11, R12)
            answers = workflow.why_not_each("termination_request", employer, [row[0] for row in page.items])
            may_terminate = {a.id for a, refusal in answers.items() if refusal is None}
        return self.render_template(template, page=page, tab=tab, tabs=TERMINATION_TABS, f=filters,
                                    may_terminate=may_terminate,
                                    export_url=export_url,
                                    schools=db.session.scalars(select(School).order_by(School.code)).all(),
                                    reason_max=workflow.TERMINATION_REASON_MAX)

    @expose("/terminations/export")
    @has_access
    def terminations_export(self):
        """导出列表 of 已签约成功学生列表 with the page's filters (ID numbers masked as on screen)."""
        import json

        from flask_login import current_user

        from .. import spreadsheets
        from ..models import ExportAudit

        employer = self._employer()
        filters = queries.signed_filters(request.args)
        query, _count = queries.signed(employer, filters)
        headers = ["院校名称", "姓名", "身份证号", "毕业年度", "专业", "学历", "拟聘用职位", "协议书编号", "鉴证日期",
                   "鉴证状态", "解约状态"]
        wb = spreadsheets.new_workbook()
        sheet = spreadsheets.SheetWriter(wb, "已签约成功学生列表", headers,
                                  widths=[18, 10, 22, 10, 20, 12, 18, 18, 12, 14, 14])
        for a, student, school_name, t_status in db.session.execute(query.execution_options(yield_per=1000)):
            sheet.append([school_name, student.name, labels.mask_id(student.id_number), student.graduation_year,
                          student.major, student.education, a.position, a.number, labels.fmt_date(a.certified_at),
                          labels.label(labels.AGREEMENT_STATUS, a.status),
                          labels.label(labels.TERMINATION_STATUS, t_status) if t_status else "-"])
        db.session.add(ExportAudit(user_id=current_user.id, what="employer_signed", row_count=sheet.rows,
                                   filters=json.dumps({"employer_id": employer.id, **filters}, ensure_ascii=False,
                                                      sort_keys=True)))
        db.session.commit()
        return xlsx_download(wb, "已签约成功学生列表.xlsx")

    @expose("/terminations/request", methods=["POST"])
    @has_access
    def termination_request(self):
        """申请解约 on the selected rows: one request per agreement, each under the rules."""
        employer = self._employer()
        ids = ids_from_form()
        if not ids:
            flash("请先勾选需要解约的学生", "warning")
            return redirect(url_for(".terminations", tab="signed"))
        if request.form.get("agree") != "1":
            flash("请先阅读解约须知，并勾选“我同意并遵守以上规定”", "warning")
            return redirect(url_for(".terminations", tab="signed"))
        agreements = db.session.scalars(select(Agreement).where(
            Agreement.id.in_(ids), Agreement.employer_id == employer.id)).all()
        if len(agreements) != len(set(ids)):
            abort(404)
        sent, problems = 0, []
        for agreement in agreements:
            try:
                workflow.request_termination(employer, agreement, request.form.get("reason", ""))
                sent += 1
            except workflow.WorkflowError as e:
                problems.append(f"{agreement.number}：{e}")
        if sent:
            flash(f"已向{sent}名学生发出解约申请，等待学生处理", "success")
        for problem in problems:
            flash(problem, "danger")
        return redirect(url_for(".terminations", tab="records" if sent else "signed"))

    def _termination(self, termination_id):
        employer = self._employer()
        return employer, scoped_one(select(Termination).where(
            Termination.id == termination_id, Termination.employer_id == employer.id))

    @expose("/terminations/<int:termination_id>")
    @has_access
    def termination(self, termination_id):
        employer, termination = self._termination(termination_id)
        agreement = db.session.get(Agreement, termination.agreement_id)
        events = agreement.events
        return self.render_template("employer/termination.html", t=termination, a=agreement, student=agreement.student,
                                    events=events, may_agree=workflow.may("termination_agree", employer, termination))

    @expose("/terminations/<int:termination_id>/agree", methods=["POST"])
    @has_access
    def termination_agree(self, termination_id):
        employer, termination = self._termination(termination_id)
        try:
            workflow.agree_termination(employer, termination, remark=request.form.get("remark"))
        except workflow.WorkflowError as e:
            flash_error(e)
            return redirect(url_for(".termination", termination_id=termination_id))
        flash("已同意解约，等待学校老师审核", "success")
        return redirect(url_for(".terminations", tab="records"))


TERMINATION_TABS = [("todo", "学生提出解约待办列表"), ("signed", "已签约成功学生列表"), ("records", "解约记录")]


def register(appbuilder):
    appbuilder.add_view_no_menu(EmployerPortal())
    # Warm the region table once at start rather than on the first offer form.
    regions.choices()

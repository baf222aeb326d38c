"""网上就业市场: 我要招聘 (用人单位), 我要求职 / 我的投递 / 求职简历 (毕业生), 招聘职位管理 (学校).

Every row is fetched through its party's scope (another party's id → 404); the buttons come from
the transition table (`workflow.why_not`), the changes from `workflow.market`."""
from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_login import current_user
from sqlalchemy import select

from .. import accounts, regions, uploads, workflow
from ..models import JobApplication, JobPosting, PostingHide
from ..queries import market as queries
from ..security import current_employer, current_school, current_student, scoped_one
from ..workflow import market
from .common import Page, PortalView, attempt, back, flash_error

POSTING_ACTIONS = {"publish": (market.publish_posting, "职位已发布，毕业生现在可以搜索并投递"),
                   "close": (market.close_posting, "职位已下线，不再接收投递"),
                   "reopen": (market.reopen_posting, "职位已重新上线")}
ANSWERS = {"interview": ("application_interview", "已邀请面试，系统已通知学生"),
           "unsuitable": ("application_unsuitable", "已标记为不合适，系统已通知学生")}


def _refused(refusal):
    flash(refusal.message, "warning")


class EmployerMarket(PortalView):
    """我要招聘: the employer's postings, the form, the applicants and an application."""

    route_base = "/employer/market"
    default_view = "postings"

    def _posting(self, posting_id):
        employer = current_employer()
        return employer, scoped_one(select(JobPosting).where(JobPosting.id == posting_id,
                                                             JobPosting.employer_id == employer.id))

    def _application(self, application_id):
        employer = current_employer()
        return employer, scoped_one(select(JobApplication).where(JobApplication.id == application_id,
                                                                 JobApplication.employer_id == employer.id))

    @expose("/")
    @has_access
    def postings(self):
        employer = current_employer()
        query, count = queries.employer_postings(employer)
        page = Page(query, count)
        rows = [p for p, _n in page.items]
        may = {action: workflow.allowed(f"posting_{action}", employer, rows) for action in POSTING_ACTIONS}
        return self.render_template("employer/market_postings.html", page=page, may=may,
                                    status_of=workflow.posting_status,
                                    blocked=workflow.why_not("posting_create", employer))

    def _form(self, employer, values, errors, posting=None, status=200):
        return self.render_template("employer/market_posting_form.html", values=values, errors=errors, posting=posting,
                                    employer=employer), status

    @expose("/new", methods=["GET", "POST"])
    @has_access
    def new(self):
        employer = current_employer()
        refusal = workflow.why_not("posting_create", employer)
        if refusal is not None:
            _refused(refusal)
            return redirect(url_for(".postings"))
        if request.method == "GET":
            return self._form(employer, {"contact_name": employer.contact_name, "contact_phone": employer.contact_phone,
                                         "region": employer.region, "headcount": 1, "education": "不限"}, {})
        values = _posting_form()
        publish = request.form.get("publish") == "1"
        errors = attempt(lambda: market.create_posting(employer, values, publish=publish),
                         "职位已发布" if publish else "职位已保存为草稿")
        if errors is None:
            return redirect(url_for(".postings"))
        return self._form(employer, values, errors, status=422)

    @expose("/<int:posting_id>/edit", methods=["GET", "POST"])
    @has_access
    def edit(self, posting_id):
        employer, posting = self._posting(posting_id)
        if request.method == "GET":
            values = {f: getattr(posting, f) for f in market.POSTING_FIELDS}
            values["deadline"] = posting.deadline.isoformat()
            return self._form(employer, values, {}, posting)
        values = _posting_form()
        errors = attempt(lambda: market.update_posting(employer, posting, values), "职位已修改")
        if errors is None:
            return redirect(url_for(".applicants", posting_id=posting.id))
        return self._form(employer, values, errors, posting, 422)

    @expose("/<int:posting_id>/<any(publish, close, reopen):action>", methods=["POST"])
    @has_access
    def move(self, posting_id, action):
        employer, posting = self._posting(posting_id)
        func, done = POSTING_ACTIONS[action]
        try:
            func(employer, posting)
            flash(done, "success")
        except workflow.WorkflowError as e:
            flash_error(e)
        return back(url_for(".postings"))

    @expose("/<int:posting_id>/applicants")
    @has_access
    def applicants(self, posting_id):
        employer, posting = self._posting(posting_id)
        status = request.args.get("status", "all")
        query, count = queries.applicants(employer, posting, status)
        page = Page(query, count)
        return self.render_template("employer/market_applicants.html", posting=posting, page=page, status=status,
                                    filters=queries.APPLICANT_FILTERS, hides=queries.posting_hides(posting),
                                    offerable=workflow.allowed("application_offer", employer,
                                                               [row[0] for row in page.items]),
                                    shown_status=workflow.posting_status(posting),
                                    events=queries.events_of(posting_id=posting.id))

    @expose("/applications/<int:application_id>")
    @has_access
    def application(self, application_id):
        employer, application = self._application(application_id)
        application = market.view_application(employer, application)  # 已查看, once
        student = application.student
        return self.render_template("employer/market_application.html", a=application, posting=application.posting,
                                    student=student, resume=queries.resume_of(student.id),
                                    contact_email=None if accounts.is_placeholder_email(student.email) else student.email,
                                    may={action: workflow.may(action, employer, application)
                                         for action in ("application_interview", "application_unsuitable")},
                                    offer_refusal=workflow.why_not("application_offer", employer, application),
                                    events=queries.events_of(application_id=application.id))

    @expose("/applications/<int:application_id>/<any(interview, unsuitable):answer>", methods=["POST"])
    @has_access
    def answer(self, application_id, answer):
        employer, application = self._application(application_id)
        action, done = ANSWERS[answer]
        try:
            market.answer_application(employer, application, action)
            flash(done, "success")
        except workflow.WorkflowError as e:
            flash_error(e)
        return redirect(url_for(".application", application_id=application_id))

    @expose("/applications/<int:application_id>/shortlist", methods=["POST"])
    @has_access
    def shortlist(self, application_id):
        """加入签约发送列表 (R17): then 邀约 there opens the 邀请函 prefilled from the posting."""
        employer, application = self._application(application_id)
        try:
            market.shortlist(employer, application)
        except workflow.WorkflowError as e:
            flash_error(e)
            return redirect(url_for(".application", application_id=application_id))
        flash(f"已将{application.student.name}加入签约发送列表", "success")
        return redirect(url_for("EmployerPortal.invite_list"))

    @expose("/applications/<int:application_id>/resume")
    @has_access
    def resume_file(self, application_id):
        _employer, application = self._application(application_id)
        resume = queries.resume_of(application.student_id)
        if resume is None or resume.hidden:
            abort(404)
        return uploads.send(resume.pdf_path, "求职简历")


def _posting_form():
    return {f: request.form.get(f, "").strip() for f in market.POSTING_FIELDS}


class StudentMarket(PortalView):
    """我要求职 (search, a posting, 投递, 收藏), 我的投递, 求职简历."""

    route_base = "/student/market"
    default_view = "postings"

    def _visible(self, posting_id):
        posting = queries.visible_posting(current_student(), posting_id)
        if posting is None:
            abort(404)
        return posting

    @expose("/")
    @has_access
    def postings(self):
        student = current_student()
        f = queries.search_filters(request.args)
        query, count = queries.search(student, f)
        page = Page(query, count)
        saved = queries.saved_ids(student, [p.id for (p,) in page.items])
        cities = regions.children(f["province"]) if f["province"] else []
        return self.render_template("student/market_postings.html", page=page, f=f, saved=saved, cities=cities,
                                    provinces=regions.provinces(), sorts=queries.SORTS,
                                    salary_steps=queries.SALARY_STEPS,
                                    block=workflow.student_block_reason(student))

    @expose("/<int:posting_id>")
    @has_access
    def posting(self, posting_id):
        student = current_student()
        posting = self._visible(posting_id)
        return self.render_template("student/market_posting.html", p=posting, status=workflow.posting_status(posting),
                                    application=queries.application_to(student, posting),
                                    saved=bool(queries.saved_ids(student, [posting.id])),
                                    apply_refusal=workflow.why_not("application_submit", student, posting),
                                    note_max=market.COVER_NOTE_MAX)

    @expose("/<int:posting_id>/apply", methods=["POST"])
    @has_access
    def apply(self, posting_id):
        student = current_student()
        posting = self._visible(posting_id)
        try:
            market.apply(student, posting, request.form.get("cover_note", ""))
        except workflow.WorkflowError as e:
            flash_error(e)
            return redirect(url_for(".posting", posting_id=posting_id))
        flash("投递成功，单位查看和处理后系统会通知你", "success")
        return redirect(url_for(".applications"))

    @expose("/<int:posting_id>/save", methods=["POST"])
    @has_access
    def save(self, posting_id):
        student = current_student()
        posting = self._visible(posting_id)
        saved = market.toggle_favorite(student, posting)
        flash("已收藏" if saved else "已取消收藏", "success")
        return back(url_for(".posting", posting_id=posting_id))

    @expose("/applications/")
    @has_access
    def applications(self):
        student = current_student()
        query, count = queries.student_applications(student)
        page = Page(query, count)
        return self.render_template("student/market_applications.html", page=page,
                                    may_withdraw=workflow.allowed("application_withdraw", student,
                                                                  [row[0] for row in page.items]),
                                    offer_status=workflow.effective_status)

    @expose("/applications/<int:application_id>/withdraw", methods=["POST"])
    @has_access
    def withdraw(self, application_id):
        student = current_student()
        application = scoped_one(select(JobApplication).where(JobApplication.id == application_id,
                                                               JobApplication.student_id == student.id))
        try:
            market.withdraw_application(student, application)
            flash("已撤回投递", "success")
        except workflow.WorkflowError as e:
            flash_error(e)
        return redirect(url_for(".applications"))

    @expose("/resume", methods=["GET", "POST"])
    @has_access
    def resume(self):
        student = current_student()
        resume = queries.resume_of(student.id)
        errors = {}
        if request.method == "POST":
            values = {k: request.form.get(k, "") for k in market.RESUME_FIELDS}
            values["hidden"] = request.form.get("hidden") == "1"
            errors = attempt(lambda: market.save_resume(
                student, values, uploads.from_request(request.files.get("pdf"), "简历附件", required=False),
                remove_pdf=request.form.get("remove_pdf") == "1"), "求职简历已保存")
            if errors is None:
                return redirect(url_for(".resume"))
            if "proof" in errors:  # an upload's problem belongs to the file field here
                errors["pdf"] = errors.pop("proof")
        else:
            values = {k: getattr(resume, k) or "" for k in market.RESUME_FIELDS} if resume else {}
            values["hidden"] = bool(resume and resume.hidden)
        return self.render_template("student/market_resume.html", values=values, errors=errors, resume=resume,
                                    student=student, fields=market.RESUME_FIELDS, text_max=market.RESUME_TEXT_MAX)

    @expose("/resume/file")
    @has_access
    def resume_file(self):
        resume = queries.resume_of(current_student().id)
        if resume is None:
            abort(404)
        return uploads.send(resume.pdf_path, "求职简历")


class SchoolMarket(PortalView):
    """招聘职位管理: the published postings, and 隐藏 / 恢复显示 for the school's own students (R16)."""

    route_base = "/school/market"
    default_view = "postings"

    @expose("/")
    @has_access
    def postings(self):
        school = current_school()
        f = {"q": request.args.get("q", "").strip(), "state": request.args.get("state", "")}
        query, count = queries.school_postings(school, f)
        page = Page(query, count)
        rows = [p for p, _n in page.items]
        hides = queries.school_hides(school, [p.id for p in rows])
        return self.render_template("school/market_postings.html", page=page, f=f, hides=hides,
                                    may_hide=workflow.allowed("posting_hide", current_user, rows),
                                    status_of=workflow.posting_status)

    @expose("/<int:posting_id>/hide", methods=["POST"])
    @has_access
    def hide(self, posting_id):
        posting = scoped_one(select(JobPosting).where(JobPosting.id == posting_id, JobPosting.status != "draft"))
        try:
            market.hide_posting(current_user, posting, request.form.get("reason"))
            flash("已对本校学生隐藏该职位，单位已收到原因", "success")
        except workflow.WorkflowError as e:
            flash_error(e)
        return back(url_for(".postings"))

    @expose("/hides/<int:hide_id>/unhide", methods=["POST"])
    @has_access
    def unhide(self, hide_id):
        school = current_school()
        hide = scoped_one(select(PostingHide).where(PostingHide.id == hide_id, PostingHide.school_id == school.id))
        try:
            market.unhide_posting(current_user, hide)
            flash("已恢复显示该职位", "success")
        except workflow.WorkflowError as e:
            flash_error(e)
        return back(url_for(".postings"))


def register(appbuilder):
    for view in (EmployerMarket, StudentMarket, SchoolMarket):
        appbuilder.add_view_no_menu(view())


"""学校就业部门: 签约审核 (list, detail, bulk), 解约审核, 其他去向审核, 单位审核, 学生管理."""

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.filters import FilterEqualFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_login import current_user
from sqlalchemy import select

from .. import accounts, labels, regions, students, uploads, workflow
from ..extensions import db
from ..queries import school as queries
from ..models import Agreement, Destination, EmployerApproval, Student, Termination, utcnow
from ..security import current_school, scoped_one, unlock_user
from .common import (
    Page,
    PortalView,
    ScopedModelView,
    back,
    destination_details,
    flash_error,
    ids_from_form,
    recent_messages,
)

class SchoolPortal(PortalView):
    route_base = "/school"

    def _agreement(self, agreement_id):
        school = current_school()
        return scoped_one(select(Agreement).where(Agreement.id == agreement_id, Agreement.school_id == school.id))

    @expose("/")
    @has_access
    def home(self):
        school = current_school()
        return self.render_template("school/home.html", school=school, messages=recent_messages(),
                                    **queries.home_counts(school))

    # ------------------------------------------------------------ 签约审核

    @expose("/review/")
    @has_access
    def reviews(self):
        school = current_school()
        f = {k: request.args.get(k, "").strip() for k in ("status", "department", "major", "employer", "name")}
        f["status"] = f["status"] or "accepted"
        query, count = queries.reviews(school, f)
        departments, majors = queries.filter_options(school.id)
        return self.render_template("school/reviews.html", page=Page(query, count), f=f, filters=queries.REVIEW_FILTERS,
                           departments=departments, majors=majors)

    @expose("/review/<int:agreement_id>")
    @has_access
    def review(self, agreement_id):
        agreement = self._agreement(agreement_id)
        return self.render_template("school/review.html", a=agreement, student=agreement.student,
                                    employer=agreement.employer, events=agreement.events,
                                    may={action: workflow.may(action, current_user, agreement)
                                         for action in ("certify", "decline", "withdraw")})

    def _do(self, agreement_id, fn, done, *args):
        agreement = self._agreement(agreement_id)
        try:
            fn(current_user, agreement, *args)
            flash(done, "success")
        except workflow.WorkflowError as e:
            flash_error(e)
            return redirect(url_for(".review", agreement_id=agreement_id))
        return back(url_for(".reviews"))

    @expose("/review/<int:agreement_id>/certify", methods=["POST"])
    @has_access
    def certify(self, agreement_id):
        return self._do(agreement_id, workflow.certify, "签约审核通过")

    @expose("/review/<int:agreement_id>/decline", methods=["POST"])
    @has_access
    def decline(self, agreement_id):
        return self._do(agreement_id, workflow.decline, "已审核不通过", request.form.get("reason", ""))

    @expose("/review/<int:agreement_id>/withdraw", methods=["POST"])
    @has_access
    def withdraw(self, agreement_id):
        return self._do(agreement_id, workflow.withdraw_certification, "已撤回审核，协议书回到待审核状态",
                        request.form.get("reason", ""))

    @expose("/review/bulk-certify", methods=["POST"])
    @has_access
    def bulk_certify(self):
        school = current_school()
        ids = ids_from_form()
        if not ids:
            flash("请先勾选要审核的协议书", "warning")
            return back(url_for(".reviews"))
        agreements = db.session.scalars(
            select(Agreement).where(Agreement.id.in_(ids), Agreement.school_id == school.id)
        ).all()
        if len(agreements) != len(set(ids)):
            abort(404)
        done, failed = 0, []
        for agreement in agreements:
            try:
                workflow.certify(current_user, agreement)
                done += 1
            except workflow.WorkflowError as e:
                failed.append(f"{agreement.student.name}：{e}")
        if done:
            flash(f"{done}份协议书签约审核通过", "success")
        for line in failed:
            flash(line, "danger")
        return back(url_for(".reviews"))

    @expose("/files/agreement/<int:agreement_id>")
    @has_access
    def agreement_file(self, agreement_id):
        agreement = self._agreement(agreement_id)
        return uploads.send(agreement.proof_path, f"协议书扫描件-{agreement.id}")

    # ------------------------------------------------------------ 解约审核 (R11–R13)

    def _termination(self, termination_id):
        school = current_school()
        return scoped_one(select(Termination).where(
            Termination.id == termination_id, Termination.school_id == school.id))

    @expose("/terminations/")
    @has_access
    def terminations(self):
        school = current_school()
        f = {k: request.args.get(k, "").strip() for k in ("status", "name", "employer")}
        f["status"] = f["status"] if f["status"] in dict(queries.TERMINATION_FILTERS) else "agreed"
        query = queries.terminations(school, f)
        return self.render_template("school/terminations.html", page=Page(query), f=f, filters=queries.TERMINATION_FILTERS)

    @expose("/terminations/<int:termination_id>")
    @has_access
    def termination(self, termination_id):
        termination = self._termination(termination_id)
        agreement = db.session.get(Agreement, termination.agreement_id)
        events = agreement.events
        answer = queries.termination_answer(termination)
        return self.render_template("school/termination.html", t=termination, a=agreement, student=agreement.student,
                                    events=events, answer=answer,
                                    approve_refusal=workflow.why_not("termination_approve", current_user, termination),
                                    may_refuse=workflow.may("termination_refuse", current_user, termination),
                                    used=workflow.approved_terminations(termination.student_id),
                                    limit=workflow.termination_limit())

    @expose("/terminations/<int:termination_id>/approve", methods=["POST"])
    @has_access
    def termination_approve(self, termination_id):
        return self._review_termination(termination_id, workflow.approve_termination, "解约审核通过，协议书已解除")

    @expose("/terminations/<int:termination_id>/refuse", methods=["POST"])
    @has_access
    def termination_refuse(self, termination_id):
        return self._review_termination(termination_id, workflow.refuse_termination, "已解约审核不通过，协议书仍然有效",
                                        request.form.get("reason", ""))

    def _review_termination(self, termination_id, fn, done, *args):
        termination = self._termination(termination_id)
        try:
            fn(current_user, termination, *args)
        except workflow.WorkflowError as e:
            flash_error(e)
            return redirect(url_for(".termination", termination_id=termination_id))
        flash(done, "success")
        return back(url_for(".terminations"))

    @expose("/files/termination/<int:termination_id>")
    @has_access
    def termination_file(self, termination_id):
        termination = self._termination(termination_id)
        return uploads.send(termination.proof_path, f"解约证明-{termination.id}")

    # ------------------------------------------------------------ 其他去向审核

    def _destination(self, destination_id):
        school = current_school()
        return scoped_one(select(Destination).where(
            Destination.id == destination_id, Destination.school_id == school.id))

    @expose("/destinations/")
    @has_access
    def destinations(self):
        school = current_school()
        f = {k: request.args.get(k, "").strip() for k in ("status", "kind", "name")}
        f["status"] = f["status"] if f["status"] in dict(queries.DESTINATION_FILTERS) else "submitted"
        query = queries.destinations(school, f)
        return self.render_template("school/destinations.html", page=Page(query), f=f, filters=queries.DESTINATION_FILTERS)

    @expose("/destinations/<int:destination_id>")
    @has_access
    def destination(self, destination_id):
        destination = self._destination(destination_id)
        events = queries.destination_events(destination)
        return self.render_template("school/destination.html", d=destination, student=destination.student,
                                    details=destination_details(destination), events=events,
                                    may_review=workflow.may("destination_approve", current_user, destination))

    @expose("/destinations/<int:destination_id>/review", methods=["POST"])
    @has_access
    def destination_review(self, destination_id):
        destination = self._destination(destination_id)
        approve = request.form.get("decision") == "approve"
        try:
            workflow.review_destination(current_user, destination, approve, request.form.get("reason"))
        except workflow.WorkflowError as e:
            flash_error(e)
            return redirect(url_for(".destination", destination_id=destination_id))
        flash("其他去向审核通过" if approve else "已审核不通过", "success")
        return back(url_for(".destinations"))

    @expose("/files/destination/<int:destination_id>")
    @has_access
    def destination_file(self, destination_id):
        destination = self._destination(destination_id)
        return uploads.send(destination.proof_path, f"去向证明-{destination.id}")

    # ------------------------------------------------------------ 学生管理: add, edit, reset password

    STUDENT_FIELDS = ("student_no", "name", "id_number", "gender", "phone", "email", "department", "major",
                      "education", "graduation_year", "training_mode", "plan_submitted")

    def _student(self, student_id):
        school = current_school()
        return scoped_one(select(Student).where(Student.id == student_id, Student.school_id == school.id))

    @expose("/students/new", methods=["GET", "POST"])
    @has_access
    def student_new(self):
        return self._student_form(None)

    @expose("/students/<int:student_id>/edit", methods=["GET", "POST"])
    @has_access
    def student_edit(self, student_id):
        return self._student_form(self._student(student_id))

    def _student_form(self, student):
        errors = {}
        if request.method == "POST":
            values = {f: request.form.get(f, "").strip() for f in self.STUDENT_FIELDS}
            try:
                saved = students.save_student(current_user, values, student)
            except workflow.WorkflowError as e:
                flash_error(e)
                errors = e.fields
            else:
                flash("学生信息已保存" if student else f"已新增学生{saved.name}，登录账号已生成", "success")
                return redirect(url_for("SchoolStudentView.show", pk=saved.id))
        elif student is not None:
            values = {f: getattr(student, f) for f in self.STUDENT_FIELDS}
        else:
            values = {"training_mode": "non_targeted", "education": "本科生毕业"}
        return self.render_template("school/student_form.html", values=values, errors=errors, student=student,
                                    password_rule=accounts.INITIAL_PASSWORD_RULE,
                                    education_options=[(e, e) for e in labels.EDUCATION])

    @expose("/students/<int:student_id>/unlock", methods=["POST"])
    @has_access
    def student_unlock(self, student_id):
        """解除登录锁定 of the school's own student (an administrator can for any login)."""
        student = self._student(student_id)
        user = accounts.login_of(student)
        if user is None or not user.locked_until:
            flash("该生账号未被锁定", "info")
        else:
            unlock_user(user, actor=current_user)
            db.session.commit()
            flash(f"已解除{student.name}的登录锁定", "success")
        return redirect(url_for("SchoolStudentView.show", pk=student.id))

    @expose("/students/<int:student_id>/reset-password", methods=["POST"])
    @has_access
    def student_reset_password(self, student_id):
        student = self._student(student_id)
        try:
            students.reset_student_password(current_user, student)
        except workflow.WorkflowError as e:
            flash_error(e)
        else:
            flash(f"已重置{student.name}的密码：原密码已失效，学生须在登录页“首次登录 / 忘记密码”凭学校登记的手机号"
                  "接收验证码后自行设置新密码并重新完成信息验证；已通知学生原联系方式", "success")
        return redirect(url_for("SchoolStudentView.show", pk=student.id))

    # ------------------------------------------------------------ 单位审核 (R1)

    @expose("/employers/")
    @has_access
    def employers(self):
        school = current_school()
        status = request.args.get("status", "pending")
        query = queries.employer_approvals(school, status)
        return self.render_template("school/employers.html", page=Page(query), status=status,
                                    may_review=lambda ap: workflow.may("employer_approve", current_user, ap))

    @expose("/employers/<int:approval_id>/review", methods=["POST"])
    @has_access
    def employer_review(self, approval_id):
        school = current_school()
        approval = scoped_one(select(EmployerApproval).where(
            EmployerApproval.id == approval_id, EmployerApproval.school_id == school.id))
        approve = request.form.get("decision") == "approve"
        try:
            workflow.review_employer(current_user, approval, approve, request.form.get("reason"))
            flash("单位审核通过" if approve else "已审核不通过", "success")
        except workflow.WorkflowError as e:
            flash_error(e)
        return back(url_for(".employers"))


class SchoolStudentView(ScopedModelView):
    """学生管理: the school's own students only (base filter on the login's school)."""

    route_base = "/school/students"
    datamodel = SQLAInterface(Student)
    base_permissions = ["can_list", "can_show"]
    base_filters = [["school_id", FilterEqualFunction, lambda: current_user.school_id]]
    base_order = ("student_no", "asc")
    page_size = 20
    list_title = "学生管理"
    show_title = "学生信息"
    show_template = "school/student_show.html"
    list_columns = ["student_no", "name", "gender", "department", "major", "education", "graduation_year",
                    "training_mode_label", "signing_restricted_label", "verified_label"]
    show_columns = ["student_no", "name", "gender", "id_number", "phone", "email", "department", "major",
                    "education", "graduation_year", "training_mode_label", "signing_restricted_label",
                    "verified_label", "exam_no", "ethnicity", "political", "major_code", "origin_region"]
    # The national 生源 codes (from a national-layout import) by their Chinese labels (app.codes).
    formatters_columns = {
        "exam_no": lambda v: v or "-", "major_code": lambda v: v or "-",
        "ethnicity": lambda v: labels.label(labels.ETHNICITY, v), "political": lambda v: labels.label(labels.POLITICAL, v),
        "origin_region": lambda v: regions.full_name(v) if v else "-", "email": lambda v: v or "-",
    }
    search_columns = ["student_no", "name", "department", "major", "graduation_year", "signing_restricted"]
    label_columns = {
        "student_no": "学号", "name": "姓名", "gender": "性别", "id_number": "身份证号", "phone": "手机",
        "email": "邮箱", "department": "院系", "major": "专业", "education": "学历",
        "graduation_year": "毕业年度", "training_mode_label": "培养方式", "signing_restricted": "限制签约",
        "signing_restricted_label": "限制签约", "verified_label": "信息验证", "exam_no": "考生号", "ethnicity": "民族",
        "political": "政治面貌", "major_code": "专业代码", "origin_region": "生源所在地",
    }

    @action("restrict", "限制签约", "确定限制所选学生网上签约吗？", "fa-ban", single=False)
    def restrict(self, items):
        return self._set_restricted(items, True)

    @action("unrestrict", "解除限制", "确定解除所选学生的签约限制吗？", "fa-check", single=False)
    def unrestrict(self, items):
        return self._set_restricted(items, False)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        """FAB's show page plus the student's login state (failures in a row, 登录锁定) for the school."""
        pk = self._deserialize_pk_if_composite(pk)
        widgets = self._show(pk)
        login = accounts.login_of(self._get_scoped(pk))
        locked = login is not None and login.locked_until is not None and login.locked_until > utcnow()
        return self.render_template(self.show_template, pk=pk, title=self.show_title, widgets=widgets,
                                    related_views=self._related_views, login=login, locked=locked)

    def _set_restricted(self, items, restricted):
        items = items if isinstance(items, list) else [items]
        try:
            students.set_signing_restricted(current_user, items, restricted)
            flash(f"已{'限制' if restricted else '解除限制'}{len(items)}名学生", "success")
        except workflow.WorkflowError as e:
            flash_error(e)
        return redirect(url_for(".list"))


def register(appbuilder):
    appbuilder.add_view_no_menu(SchoolPortal())
    appbuilder.add_view_no_menu(SchoolStudentView())

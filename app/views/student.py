"""毕业生: 学生首页, 信息验证, 基本信息管理, 电子签约 (查看邀请函: 同意 / 拒绝), 纸质签约 (录入协议书),
其他去向, 解约办理."""
from flask import current_app, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_login import current_user
from sqlalchemy import select

from .. import accounts, labels, sms, students, uploads, workflow
from ..extensions import db
from ..queries import market as market_queries
from ..queries import student as queries
from ..models import Agreement, Destination, Termination
from ..security import current_student, scoped_one
from .common import Page, PortalView, attempt, destination_details, flash_error, rate_allowed, recent_messages

PAPER_FIELDS = ("employer_name", "employer_credit_code") + workflow.TERM_FIELDS


class StudentPortal(PortalView):
    route_base = "/student"

    def _offer(self, agreement_id):
        student = current_student()
        return scoped_one(select(Agreement).where(Agreement.id == agreement_id, Agreement.student_id == student.id))

    @expose("/")
    @has_access
    def home(self):
        student = current_student()
        return self.render_template("student/home.html", student=student, todo=queries.offers_todo(student),
                           termination_todo=queries.termination_todo(student),
                           job=workflow.employment_status(student.id), messages=recent_messages(),
                           block_reason=workflow.student_block_reason(student),
                           account_events=accounts.recent_events(current_user.id), event_kinds=accounts.EVENT_KINDS)

    # ------------------------------------------------------------ 信息验证 (first login)

    @expose("/verify", methods=["GET", "POST"])
    @has_access
    def verify(self):
        student = current_student()
        if student.verified_at is not None and request.method == "GET":
            return redirect(url_for(".home"))
        values = {"email": request.form.get("email", student.email or ""),
                  "address": request.form.get("address", student.address or "")}
        if accounts.is_placeholder_email(values["email"]):
            values["email"] = ""
        errors = {}
        if request.method == "POST":
            errors = attempt(lambda: students.verify_student(student, values["email"], values["address"],
                                                             request.form.get("code")),
                             "信息验证通过，欢迎使用网签系统")
            if errors is None:
                return redirect(url_for(".home"))
        return self.render_template("student/verify.html", student=student, values=values, errors=errors,
                                    phone_proven=students.phone_proven(student))

    @expose("/verify/send-code", methods=["POST"])
    @has_access
    def send_code(self):
        """发送验证码 to the phone on file (a verified student changes it at 基本信息管理)."""
        student = current_student()
        values = {"email": request.form.get("email", ""), "address": request.form.get("address", "")}
        errors, wait = _send_sms(student.phone, "code", lambda: sms.send_code(
            student.phone, ip=request.remote_addr, student_id=student.id))
        return self.render_template("student/verify.html", student=student, values=values, errors=errors,
                                    sms_wait=wait)

    # ------------------------------------------------------------ 基本信息管理

    def _account_page(self, student, values=None, errors=None, phone="", wait=0):
        contact = {"email": "" if accounts.is_placeholder_email(student.email) else student.email or "",
                   "address": student.address or ""}
        return self.render_template("student/account.html", student=student, values={**contact, **(values or {})},
                                    errors=errors or {}, phone=phone, sms_wait=wait,
                                    events=accounts.recent_events(current_user.id, 10), kinds=accounts.EVENT_KINDS)

    @expose("/account", methods=["GET", "POST"])
    @has_access
    def account(self):
        """基本信息管理: the record the school keeps, and the student's own 邮箱, 通讯地址 and 手机."""
        student = current_student()
        if request.method == "GET":
            return self._account_page(student)
        values = {"email": request.form.get("email", ""), "address": request.form.get("address", "")}
        errors = attempt(lambda: students.update_contact(student, values), "联系方式已保存")
        if errors is None:
            return redirect(url_for(".account"))
        return self._account_page(student, values, errors)

    @expose("/account/phone/send-code", methods=["POST"])
    @has_access
    def phone_code(self):
        """更换手机号, step 1: 发送验证码 to the new number."""
        student = current_student()
        phone = request.form.get("phone", "").strip()
        errors, wait = _send_sms(phone, "phone", lambda: students.send_phone_code(
            student, phone, ip=request.remote_addr))
        return self._account_page(student, errors=errors, phone=phone, wait=wait)

    @expose("/account/phone", methods=["POST"])
    @has_access
    def phone(self):
        """更换手机号, step 2: the code and the login password."""
        student = current_student()
        phone = request.form.get("phone", "").strip()
        errors = attempt(lambda: students.change_phone(student, phone, request.form.get("code"),
                                                       request.form.get("password", "")),
                         f"手机号已更换为 {labels.mask_phone(phone)}；原手机号已收到变更提醒")
        if errors is None:
            return redirect(url_for(".account"))
        return self._account_page(student, errors=errors, phone=phone)

    @expose("/offers/")
    @has_access
    def offers(self):
        student = current_student()
        name = request.args.get("employer", "").strip()
        return self.render_template("student/offers.html", page=Page(queries.offers(student, name)), employer=name,
                           now_status=workflow.effective_status)

    @expose("/offers/<int:agreement_id>")
    @has_access
    def offer(self, agreement_id):
        student = current_student()
        agreement = self._offer(agreement_id)
        # The table decides the buttons: 同意 (R4–R7), 拒绝; during the cooling-off (R5) 同意 shows
        # disabled with the time it opens, instead of refusing after 签约前必读.
        return self.render_template("student/offer.html", a=agreement, student=student,
                                    status=workflow.effective_status(agreement),
                                    accept_refusal=workflow.why_not("accept", student, agreement),
                                    may_reject=workflow.may("reject", student, agreement),
                                    version=workflow.version_of(agreement),
                                    applied=market_queries.applied_from(agreement),
                                    deadline=labels.deadline_date(agreement.expires_at))

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

    # ------------------------------------------------------------ 纸质签约

    @expose("/paper/")
    @has_access
    def paper(self):
        student = current_student()
        return self.render_template("student/paper.html", page=Page(queries.paper(student)), **self._paper_gate(student))

    def _paper_gate(self, student):
        """FAQ 4: why there is no 录入协议书 button (R6, R7), or None."""
        refusal = workflow.why_not("paper_record", student)
        return {"blocked": refusal.message if refusal else None}

    @expose("/paper/new", methods=["GET", "POST"])
    @has_access
    def paper_new(self):
        student = current_student()
        gate = self._paper_gate(student)
        if gate["blocked"]:
            flash(gate["blocked"], "warning")
            return redirect(url_for(".paper"))
        values, errors = {}, {}
        if request.method == "POST":
            values = {f: request.form.get(f, "").strip() for f in PAPER_FIELDS}
            errors = attempt(lambda: workflow.record_paper_agreement(
                student, values, uploads.from_request(request.files.get("proof"), "协议书扫描件")),
                "协议书已录入，等待学校老师审核")
            if errors is None:
                return redirect(url_for(".paper"))
        return self.render_template("student/paper_form.html", values=values, errors=errors)

    @expose("/paper/<int:agreement_id>")
    @has_access
    def paper_detail(self, agreement_id):
        student = current_student()
        agreement = scoped_one(select(Agreement).where(
            Agreement.id == agreement_id, Agreement.student_id == student.id, Agreement.kind == "paper"))
        return self.render_template("student/detail.html", a=agreement, student=student, employer=None,
                                    events=agreement.events, status=agreement.status)

    @expose("/files/agreement/<int:agreement_id>")
    @has_access
    def agreement_file(self, agreement_id):
        student = current_student()
        agreement = scoped_one(select(Agreement).where(
            Agreement.id == agreement_id, Agreement.student_id == student.id, Agreement.proof_path.isnot(None)))
        return uploads.send(agreement.proof_path, f"协议书扫描件-{agreement.id}")

    # ------------------------------------------------------------ 其他去向

    @expose("/destinations/", methods=["GET", "POST"])
    @has_access
    def destinations(self):
        student = current_student()
        kind, values, errors = request.form.get("kind", ""), {}, {}
        if request.method == "POST":
            values = {k: v.strip() for k, v in request.form.items() if k not in ("csrf_token", "kind")}
            fields = [f for f, *_ in workflow.DESTINATION_FIELDS.get(kind, [])]
            details = {f: values.get("region" if f == "region" else f"{kind}-{f}", "") for f in fields}
            errors = attempt(lambda: workflow.submit_destination(student, kind, details, uploads.from_request(
                request.files.get("proof"), "证明材料", required=kind in workflow.DESTINATION_PROOF)),
                "去向已登记，等待学校老师审核")
            if errors is None:
                return redirect(url_for(".destinations"))
        rows = queries.destinations(student)
        refusal = workflow.why_not("destination_submit", student)
        return self.render_template("student/destinations.html", rows=rows, details=destination_details,
                                    blocked=refusal.message if refusal else None,
                                    may_withdraw=lambda d: workflow.may("destination_withdraw", student, d),
                                    kind=kind, values=values, errors=errors,
                                    fields=workflow.DESTINATION_FIELDS, proofs=workflow.DESTINATION_PROOF,
                                    region_labels={k: next((lb for n, lb, t, _r in f if t == "region"), None)
                                                   for k, f in workflow.DESTINATION_FIELDS.items()})

    @expose("/destinations/<int:destination_id>/withdraw", methods=["POST"])
    @has_access
    def destination_withdraw(self, destination_id):
        student = current_student()
        destination = scoped_one(select(Destination).where(
            Destination.id == destination_id, Destination.student_id == student.id))
        try:
            workflow.withdraw_destination(student, destination)
        except workflow.WorkflowError as e:
            flash_error(e)
        else:
            flash("已撤回该去向登记", "success")
        return redirect(url_for(".destinations"))

    @expose("/files/destination/<int:destination_id>")
    @has_access
    def destination_file(self, destination_id):
        student = current_student()
        destination = scoped_one(select(Destination).where(
            Destination.id == destination_id, Destination.student_id == student.id,
            Destination.proof_path.isnot(None)))
        return uploads.send(destination.proof_path, f"去向证明-{destination.id}")

    # ------------------------------------------------------------ 解约办理

    @expose("/terminations/")
    @has_access
    def terminations(self):
        """Certified agreements (both kinds) and those that went through a termination."""
        student = current_student()
        name = request.args.get("employer", "").strip()
        page = Page(queries.terminations(student, name))
        refusals = workflow.why_not_each("termination_request", student, [a for a, _t in page.items])
        return self.render_template("student/terminations.html", page=page, employer=name,
                                    reason_max=workflow.TERMINATION_REASON_MAX,
                                    refusals={a.id: refusal for a, refusal in refusals.items()})

    @expose("/terminations/request/<int:agreement_id>", methods=["POST"])
    @has_access
    def termination_request(self, agreement_id):
        student = current_student()
        agreement = scoped_one(select(Agreement).where(
            Agreement.id == agreement_id, Agreement.student_id == student.id))
        if request.form.get("agree") != "1":
            flash("请先阅读解约须知，并勾选“我同意并遵守以上规定”", "warning")
            return redirect(url_for(".terminations"))
        try:
            proof = uploads.from_request(request.files.get("proof"), "解约证明材料",
                                         required=agreement.kind == "paper")
            workflow.request_termination(student, agreement, request.form.get("reason", ""), proof)
        except (uploads.UploadError, workflow.WorkflowError) as e:
            flash_error(e)
            return redirect(url_for(".terminations"))
        flash("解约申请已提交至学校审核" if agreement.kind == "paper" else "解约申请已发送至单位，等待单位处理", "success")
        return redirect(url_for(".terminations"))

    def _termination(self, termination_id):
        student = current_student()
        return student, scoped_one(select(Termination).where(
            Termination.id == termination_id, Termination.student_id == student.id))

    @expose("/terminations/<int:termination_id>")
    @has_access
    def termination(self, termination_id):
        student, termination = self._termination(termination_id)
        agreement = db.session.get(Agreement, termination.agreement_id)
        events = agreement.events
        return self.render_template("student/termination.html", t=termination, a=agreement, student=student,
                                    events=events, may_agree=workflow.may("termination_agree", student, termination))

    @expose("/terminations/<int:termination_id>/agree", methods=["POST"])
    @has_access
    def termination_agree(self, termination_id):
        student, termination = self._termination(termination_id)
        try:
            workflow.agree_termination(student, termination, remark=request.form.get("remark"))
        except workflow.WorkflowError as e:
            flash_error(e)
            return redirect(url_for(".termination", termination_id=termination_id))
        flash("已同意解约，等待学校老师审核", "success")
        return redirect(url_for(".terminations"))

    @expose("/files/termination/<int:termination_id>")
    @has_access
    def termination_file(self, termination_id):
        _student, termination = self._termination(termination_id)
        return uploads.send(termination.proof_path, f"解约证明-{termination.id}")


def _send_sms(phone, field, send):
    """发送验证码 (信息验证, 更换手机号): the per-address limit, then `send`; the answer flashed.
    Returns (field errors, seconds the button counts down)."""
    try:
        if not rate_allowed("sms-send", "SMS_RATE_LIMIT", request.remote_addr or "-"):
            raise sms.SmsError("操作过于频繁，请稍后再试")
        send()
    except workflow.WorkflowError as e:
        flash(e.message, "danger")
        return e.fields, 0
    except sms.SmsError as e:
        flash(str(e), "danger")
        return {field: str(e)}, 0
    flash(f"验证码已发送至 {labels.mask_phone(phone)}，{current_app.config['SMS_CODE_MINUTES']}分钟内有效", "success")
    return {}, sms.RESEND_SECONDS


def register(appbuilder):
    appbuilder.add_view_no_menu(StudentPortal())

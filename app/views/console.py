"""支持控制台 (Flask-Admin at /console): province staff and admins find any student, employer or
agreement across schools and read its whole history (流程追踪). Read-only, by construction.

Flask-Admin ignores FAB's permissions, base filters and the workflow (STACK-NOTES), so:
- every view checks the login itself (`is_accessible`: province or admin role; anonymous → login
  page, any other role → 404, so the console's existence is not revealed);
- nothing writes: can_create/can_edit/can_delete/can_export are off AND the routes that would
  write (new, edit, delete, action, ajax update, export) are overridden without `@expose`, so they
  are not registered at all (a POST to them is 404); every change goes through `app.workflow`;
- its own endpoint and url prefix (`console…`, `/console`) keep it clear of FAB's blueprints;
- its strings are Flask-Admin's zh_Hans_CN catalogue (FAB's locale is "zh", which that catalogue
  is not named after), our column labels are Chinese.
"""
from flask import abort, current_app, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.model import typefmt
from flask_admin.theme import Bootstrap4Theme
from flask_babel import force_locale
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import or_, select

from .. import labels, regions
from ..extensions import db
from ..headers import csp_nonce
from ..models import Agreement, Destination, Employer, FlowEvent, School, Student, Termination
from ..roles import ROLE_ADMIN, ROLE_PROVINCE
from ..security import role_of

CONSOLE_LOCALE = "zh_Hans_CN"
SEARCH_LIMIT = 50


class _Guard:
    """Province and admin logins only; everything rendered in Chinese."""

    def is_accessible(self):
        return current_user.is_authenticated and role_of() in (ROLE_PROVINCE, ROLE_ADMIN)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("AuthDBView.login", next=request.full_path))
        abort(404)

    def render(self, template, **kwargs):
        with force_locale(CONSOLE_LOCALE):
            return super().render(template, **kwargs)


def _trace(*conditions):
    """流程追踪 rows matching any condition, oldest first (one query)."""
    rows = db.session.scalars(select(FlowEvent).where(or_(*conditions)).order_by(FlowEvent.created_at, FlowEvent.id))
    return rows.all()


def _label(mapping):
    return lambda view, context, model, name: labels.label(mapping, getattr(model, name))


def _dt(view, context, model, name):
    return labels.fmt_datetime(getattr(model, name))


def _region(view, context, model, name):
    return regions.full_name(getattr(model, name))


def _yes_no(view, value, name=None):
    return "是" if value else "否"


# Booleans read 是/否 (Flask-Admin shows True/False in details and an icon in lists).
_TYPE_FORMATTERS = {**typefmt.BASE_FORMATTERS, bool: _yes_no}


def event_object(event):
    """(text, console url) of what a 流程追踪 row is about: the agreement by its number, a
    termination or a destination by its kind — never a bare id."""
    if event.termination_id:
        t = db.session.get(Termination, event.termination_id)
        number = t.agreement.number if t and t.agreement else None
        return f"解约（协议书{number or '未编号'}）", url_for("console_terminations.details_view", id=event.termination_id)
    if event.destination_id:
        d = db.session.get(Destination, event.destination_id)
        return (f"其他去向（{labels.label(labels.DESTINATION_KIND, d.kind) if d else ''}）",
                url_for("console_destinations.details_view", id=event.destination_id))
    if event.agreement_id:
        a = db.session.get(Agreement, event.agreement_id)
        return f"协议书{(a.number if a else None) or '（未编号）'}", url_for("console_agreements.details_view",
                                                                         id=event.agreement_id)
    return "-", None


def _event_object(view, context, model, name):
    text, url = event_object(model)
    return Markup(f'<a href="{url}">{escape(text)}</a>') if url else text


class ReadOnlyModelView(_Guard, ModelView):
    can_create = can_edit = can_delete = False
    can_export = False
    can_view_details = True
    can_set_page_size = False
    page_size = 50
    details_template = "stats/console/details.html"
    list_template = "stats/console/list.html"
    column_display_pk = False  # rows are named by their own fields (学号, 单位名称, 协议书编号), not ids
    column_type_formatters = _TYPE_FORMATTERS
    column_type_formatters_detail = _TYPE_FORMATTERS

    # The routes that write are not registered: overriding without @expose drops them.
    def create_view(self):
        abort(404)

    def edit_view(self):
        abort(404)

    def delete_view(self):
        abort(404)

    def action_view(self):
        abort(404)

    def ajax_update(self):
        abort(404)

    def export(self, export_type):
        abort(404)

    def get_actions_list(self):
        return [], {}  # no bulk actions at all

    # Ids, pages and integer filters from the query string: Flask-Admin passes them to the database
    # as typed (a 20-digit id → 500; on PostgreSQL also "x"). Not an id → 404, not a number → 400.
    def get_one(self, id):
        pk = labels.parse_id(id)
        if pk is None:
            abort(404)
        return super().get_one(str(pk))

    def _get_list_extra_args(self):
        if any(labels.parse_id(request.args[k]) is None for k in ("page", "sort", "desc") if request.args.get(k)):
            abort(400)
        args = super()._get_list_extra_args()
        for idx, _name, value in args.filters or []:
            cleaned = self._filters[idx].clean(value)
            for number in cleaned if isinstance(cleaned, list) else [cleaned]:
                if isinstance(number, int) and not -2**31 <= number < 2**31:
                    abort(400)
        return args

    def trace_for(self, model):
        return []

    def render(self, template, **kwargs):
        if template == self.details_template and kwargs.get("model") is not None:
            kwargs["trace"] = self.trace_for(kwargs["model"])
            kwargs["related"] = self.related_for(kwargs["model"])
            kwargs["event_object"] = event_object
        return super().render(template, **kwargs)

    def related_for(self, model):
        return []


def _agreement_link(view, context, model, name):
    return Markup(f'<a href="{url_for("console_agreements.details_view", id=model.id)}">'
                  f'{escape(model.number or "（未编号）")}</a>')


class StudentConsoleView(ReadOnlyModelView):
    column_list = ["school", "student_no", "name", "id_number", "gender", "graduation_year", "education",
                   "department", "major", "phone"]
    column_details_list = column_list + ["email", "training_mode", "signing_restricted", "plan_submitted",
                                         "verified_at"]
    column_searchable_list = ["name", "id_number", "student_no", "phone"]
    column_filters = ["graduation_year", "school.name", "education", "department", "major"]
    column_labels = {
        "id": "ID", "school": "学校", "school.name": "学校名称", "student_no": "学号", "name": "姓名",
        "id_number": "身份证号", "gender": "性别", "graduation_year": "毕业年度", "education": "学历",
        "department": "院系", "major": "专业", "phone": "手机", "email": "邮箱", "training_mode": "培养方式",
        "signing_restricted": "限制签约", "plan_submitted": "已提交就业方案", "verified_at": "信息验证时间",
    }
    column_formatters = {"training_mode": _label(labels.TRAINING_MODE), "verified_at": _dt}

    def trace_for(self, model):
        return _trace(
            FlowEvent.agreement_id.in_(select(Agreement.id).where(Agreement.student_id == model.id)),
            FlowEvent.termination_id.in_(select(Termination.id).where(Termination.student_id == model.id)),
            FlowEvent.destination_id.in_(select(Destination.id).where(Destination.student_id == model.id)),
        )

    def related_for(self, model):
        agreements = db.session.scalars(select(Agreement).where(Agreement.student_id == model.id)
                                        .order_by(Agreement.sent_at)).all()
        destinations = db.session.scalars(select(Destination).where(Destination.student_id == model.id)
                                          .order_by(Destination.created_at)).all()
        return ([("协议书", url_for("console_agreements.details_view", id=a.id),
                  f"{a.number or '（未编号）'} {a.employer_name} {labels.AGREEMENT_KIND.get(a.kind)} "
                  f"{labels.label(labels.AGREEMENT_STATUS, a.status)}") for a in agreements]
                + [("其他去向", url_for("console_destinations.details_view", id=d.id),
                    f"{labels.label(labels.DESTINATION_KIND, d.kind)} "
                    f"{labels.label(labels.DESTINATION_STATUS, d.status)}") for d in destinations])


class EmployerConsoleView(ReadOnlyModelView):
    column_list = ["name", "credit_code", "nature", "industry", "region", "contact_name", "contact_phone",
                   "profile_confirmed_at"]
    column_details_list = column_list + ["email", "address", "archive_mode", "archive_unit", "hukou_mode",
                                         "hukou_address", "created_at"]
    column_searchable_list = ["name", "credit_code"]
    column_filters = ["nature", "industry"]
    column_labels = {
        "id": "ID", "name": "单位名称", "credit_code": "统一社会信用代码", "nature": "单位性质", "industry": "行业",
        "region": "单位所在地", "contact_name": "联系人", "contact_phone": "联系电话",
        "profile_confirmed_at": "签约信息确认时间", "email": "邮箱", "address": "地址", "archive_mode": "档案接收",
        "archive_unit": "档案转寄单位名称", "hukou_mode": "户口接收类型", "hukou_address": "户口接收地址",
        "created_at": "注册时间",
    }
    column_formatters = {"nature": _label(labels.EMPLOYER_NATURE), "industry": _label(labels.INDUSTRY), "region": _region,
                         "archive_mode": _label(labels.ARCHIVE_MODE), "hukou_mode": _label(labels.HUKOU_MODE),
                         "profile_confirmed_at": _dt, "created_at": _dt}

    def _agreements(self, model):
        # Paper agreements have no employer_id (R13): they belong to the employer by credit code.
        return select(Agreement.id).where(or_(Agreement.employer_id == model.id,
                                              Agreement.employer_credit_code == model.credit_code))

    def trace_for(self, model):
        return _trace(FlowEvent.agreement_id.in_(self._agreements(model)),
                      FlowEvent.termination_id.in_(select(Termination.id).where(
                          Termination.agreement_id.in_(self._agreements(model)))))

    def related_for(self, model):
        rows = db.session.execute(
            select(Agreement, Student.name).join(Student, Student.id == Agreement.student_id)
            .where(Agreement.id.in_(self._agreements(model))).order_by(Agreement.sent_at.desc()).limit(200)).all()
        return [("协议书", url_for("console_agreements.details_view", id=a.id),
                 f"{a.number or '（未编号）'} {name} {labels.label(labels.AGREEMENT_STATUS, a.status)}")
                for a, name in rows]


class AgreementConsoleView(ReadOnlyModelView):
    column_list = ["number", "kind", "status", "school", "student", "student.id_number", "employer_name",
                   "employer_credit_code", "position", "sent_at", "certified_at"]
    column_details_list = ["number", "kind", "status", "school", "student", "student.id_number",
                           "employer_name", "employer_credit_code", "job_category", "position", "salary",
                           "work_region", "report_region", "report_deadline", "sent_at", "expires_at", "accepted_at",
                           "certified_at", "reviewed_at", "review_reason", "check_code"]
    column_searchable_list = ["number", "employer_name", "employer_credit_code", "student.name", "student.id_number"]
    column_filters = ["status", "kind", "school.name", "student.graduation_year"]
    column_labels = {
        "id": "ID", "number": "协议书编号", "kind": "签约类型", "status": "状态", "school": "学校",
        "school.name": "学校名称", "student": "学生", "student.name": "学生姓名", "student.id_number": "身份证号",
        "student.graduation_year": "毕业年度", "employer_name": "单位名称", "employer_credit_code": "统一社会信用代码",
        "job_category": "工作职位类别", "position": "拟聘用职位", "salary": "转正起薪", "work_region": "实际工作地点",
        "report_region": "报到地点", "report_deadline": "报到期限", "sent_at": "邀请时间", "expires_at": "应约截止",
        "accepted_at": "应约时间", "certified_at": "鉴证时间", "reviewed_at": "审核时间", "review_reason": "审核意见",
        "check_code": "验证码",
    }
    column_formatters = {"kind": _label(labels.AGREEMENT_KIND), "status": _label(labels.AGREEMENT_STATUS),
                         "work_region": _region, "report_region": _region, "sent_at": _dt, "expires_at": _dt,
                         "accepted_at": _dt, "certified_at": _dt, "reviewed_at": _dt}
    column_default_sort = ("id", True)

    def trace_for(self, model):
        return _trace(FlowEvent.agreement_id == model.id,
                      FlowEvent.termination_id.in_(select(Termination.id).where(Termination.agreement_id == model.id)))

    def related_for(self, model):
        out = [("学生", url_for("console_students.details_view", id=model.student_id), str(model.student))]
        if model.employer_id:
            out.append(("单位", url_for("console_employers.details_view", id=model.employer_id), model.employer_name))
        for t in db.session.scalars(select(Termination).where(Termination.agreement_id == model.id)):
            out.append(("解约", url_for("console_terminations.details_view", id=t.id),
                        f"{labels.label(labels.TERMINATION_INITIATOR, t.initiator)}提出 "
                        f"{labels.label(labels.TERMINATION_STATUS, t.status)}"))
        return out


class DestinationConsoleView(ReadOnlyModelView):
    column_list = ["school", "student", "kind", "status", "created_at", "reviewed_at"]
    column_details_list = column_list + ["details", "review_reason"]
    column_searchable_list = ["student.name", "student.id_number"]
    column_filters = ["kind", "status", "school.name"]
    column_labels = {"id": "ID", "school": "学校", "school.name": "学校名称", "student": "学生",
                     "student.name": "学生姓名", "student.id_number": "身份证号", "kind": "去向类别", "status": "状态",
                     "created_at": "登记时间", "reviewed_at": "审核时间", "details": "去向信息", "review_reason": "审核意见"}
    column_formatters = {"kind": _label(labels.DESTINATION_KIND), "status": _label(labels.DESTINATION_STATUS),
                         "created_at": _dt, "reviewed_at": _dt}

    def trace_for(self, model):
        return _trace(FlowEvent.destination_id == model.id)


class TerminationConsoleView(ReadOnlyModelView):
    column_list = ["agreement", "student", "initiator", "status", "reason", "created_at", "reviewed_at"]
    column_details_list = column_list + ["review_reason", "agreed_at"]
    column_searchable_list = ["student.name", "student.id_number", "agreement.number"]
    column_filters = ["status", "initiator"]
    column_labels = {"id": "ID", "agreement": "协议书", "agreement.number": "协议书编号", "student": "学生",
                     "student.name": "学生姓名", "student.id_number": "身份证号", "initiator": "发起方", "status": "状态",
                     "reason": "解除原因", "created_at": "申请时间", "reviewed_at": "审核时间", "review_reason": "审核意见",
                     "agreed_at": "对方同意时间"}
    column_formatters = {"initiator": _label(labels.TERMINATION_INITIATOR),
                         "status": _label(labels.TERMINATION_STATUS), "created_at": _dt, "reviewed_at": _dt,
                         "agreed_at": _dt,
                         "agreement": lambda v, c, m, n: labels.label({}, m.agreement.number, "（未编号）")}

    def trace_for(self, model):
        return _trace(FlowEvent.termination_id == model.id)


class FlowEventConsoleView(ReadOnlyModelView):
    can_view_details = False
    column_list = ["created_at", "actor_name", "action", "remark", "agreement_id"]
    column_searchable_list = ["actor_name", "remark"]
    column_filters = ["action", "agreement_id"]
    column_labels = {"id": "ID", "created_at": "时间", "actor_name": "用户名称", "action": "操作", "remark": "备注",
                     "agreement_id": "对象"}
    column_formatters = {"action": _label(labels.FLOW_ACTION), "created_at": _dt, "agreement_id": _event_object}
    column_default_sort = ("id", True)


class ConsoleIndexView(_Guard, AdminIndexView):
    """One search box over students (姓名, 身份证号, 学号), employers (单位名称, 统一社会信用代码)
    and agreements (协议书编号): exact codes match exactly, names by prefix."""

    @expose("/")
    def index(self):
        q = request.args.get("q", "").strip()[:100]
        results = {"students": [], "employers": [], "agreements": []}
        if q:
            upper = q.upper()
            results["students"] = db.session.execute(
                select(Student, School.name).join(School, School.id == Student.school_id).where(or_(
                    Student.id_number == upper, Student.student_no == q, Student.name.startswith(q, autoescape=True)))
                .order_by(Student.graduation_year.desc(), Student.id).limit(SEARCH_LIMIT)).all()
            results["employers"] = db.session.scalars(select(Employer).where(or_(
                Employer.credit_code == upper, Employer.name.contains(q, autoescape=True)))
                .order_by(Employer.id).limit(SEARCH_LIMIT)).all()
            results["agreements"] = db.session.execute(
                select(Agreement, Student.name).join(Student, Student.id == Agreement.student_id).where(or_(
                    Agreement.number == q, Agreement.employer_credit_code == upper))
                .order_by(Agreement.id.desc()).limit(SEARCH_LIMIT)).all()
        return self.render("stats/console/index.html", q=q, results=results, L=labels, limit=SEARCH_LIMIT)


VIEWS = [
    (StudentConsoleView, Student, "学生", "students"),
    (EmployerConsoleView, Employer, "用人单位", "employers"),
    (AgreementConsoleView, Agreement, "协议书", "agreements"),
    (DestinationConsoleView, Destination, "其他去向", "destinations"),
    (TerminationConsoleView, Termination, "解约", "terminations"),
    (FlowEventConsoleView, FlowEvent, "流程追踪", "events"),
]


def register(appbuilder):
    app = current_app._get_current_object()  # register() runs inside create_app's app context
    admin = Admin(name="支持控制台", url="/console", endpoint="console",
                  index_view=ConsoleIndexView(name="查找", url="/console", endpoint="console"),
                  theme=Bootstrap4Theme(fluid=True, base_template="stats/console/base.html"), csp_nonce_generator=csp_nonce)
    for cls, model, name, slug in VIEWS:
        admin.add_view(cls(model, db.session, name=name, endpoint=f"console_{slug}", url=slug))
    admin.init_app(app)

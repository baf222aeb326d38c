"""协议书下载 (the agreement PDF for its three parties) and the public /verify page."""
import logging

from flask import Response, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select
from urllib.parse import quote

from .. import documents
from ..models import Agreement
from ..roles import ROLE_EMPLOYER, ROLE_SCHOOL, ROLE_STUDENT
from ..security import current_employer, current_school, current_student, role_of, scoped_one
from .common import rate_allowed

log = logging.getLogger(__name__)


def party_clause():
    """The agreements the current login is a party to: its own (student), its offers (employer),
    its school's (reviewer). Anyone else: 404."""
    role = role_of()
    if role == ROLE_STUDENT:
        return Agreement.student_id == current_student().id
    if role == ROLE_EMPLOYER:
        return Agreement.employer_id == current_employer().id
    if role == ROLE_SCHOOL:
        return Agreement.school_id == current_school().id
    from flask import abort

    abort(404)


class DocumentView(BaseView):
    """毕业生就业协议书 as PDF. Before certification only the parties' 未生效 preview exists."""

    route_base = "/documents"
    default_view = "agreement_pdf"

    @expose("/agreement/<int:agreement_id>.pdf")
    @has_access
    def agreement_pdf(self, agreement_id):
        agreement = scoped_one(select(Agreement).where(
            Agreement.id == agreement_id, party_clause(), Agreement.status.in_(documents.DOCUMENT_STATUSES)))
        try:
            pdf = documents.agreement_pdf(agreement)
        except documents.RenderError:
            log.exception("agreement %s: PDF render failed", agreement.id)
            return self.render_template("documents/error.html", message=documents.RenderError.USER_MESSAGE,
                                        agreement=agreement), 503
        name = documents.download_name(agreement)
        disposition = "inline" if request.args.get("inline") else "attachment"
        response = Response(pdf, mimetype="application/pdf")
        response.headers["Content-Disposition"] = (
            f"{disposition}; filename=\"agreement-{agreement.id}.pdf\"; filename*=UTF-8''{quote(name)}")
        # A party's copy shows the full ID number: never kept by shared caches.
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


class VerifyView(BaseView):
    """协议书查验: public (no login). Number + check code → status, masked parties, hash; nothing else."""

    route_base = "/verify"
    default_view = "verify"

    @expose("")
    @expose("/")
    def verify(self):
        number = request.args.get("number", "").strip()[:20]
        code = request.args.get("code", "").strip()[:20]
        result, error, status = None, None, 200
        if number or code:
            if not number or not code:
                error = "请输入协议书编号和校验码"
            elif not rate_allowed("verify", "VERIFY_RATE_LIMIT", request.remote_addr or "-"):
                error, status = "查验过于频繁，请稍后再试", 429
            else:
                result = documents.verify(number, code)
                if result is None:
                    error, status = "未查到该协议书：协议书编号或校验码不正确", 404
        response = self.render_template("documents/verify.html", number=number, code=code, result=result,
                                        error=error)
        return response, status, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def register(appbuilder):
    appbuilder.add_view_no_menu(DocumentView())
    appbuilder.add_view_no_menu(VerifyView())

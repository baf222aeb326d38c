"""The open REST API, /api/v1 (issue 21), on Flask-AppBuilder's REST framework (`BaseApi`): FAB
documents every endpoint from its docstring in the OpenAPI document at /api/v1/_openapi.

Every call carries `Authorization: Bearer <key>` (app.apikeys; password login on the API stays
closed, app.security.NoPasswordSecurityApi). `key_auth(parties, scope)` checks the key, its rate
limit (API_RATE_LIMIT per key), its party and its scope, then runs the endpoint as the login that
made the key: the same scoping helpers as the pages (`current_school`, `scoped_one`, app.queries),
and every change through app.workflow, whose FlowEvents name the key. Errors are RFC 9457
application/problem+json: 400 malformed input (with field errors), 401 no or bad key, 403 a scope
the key lacks, 404 another party's object or an endpoint of another party, 409 a refused
transition (with its rule), 422 an Idempotency-Key reused for another request, 429 with
Retry-After.
"""
import functools
import hashlib
import json
import logging
from datetime import date, datetime, timedelta

import imports
from flask import Response, current_app, g, request
from flask_appbuilder.api import BaseApi, expose, safe
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from .. import apikeys, importing, labels, stats, summary, workflow
from ..extensions import db
from ..models import Agreement, ApiIdempotency, Student, utcnow
from ..queries import changes as change_queries
from ..queries import school as school_queries
from ..security import current_school, scoped_one
from .common import rate_hit

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
TITLES = {400: "请求有误", 401: "未认证：缺少或无效的接口密钥", 403: "接口密钥没有此权限", 404: "不存在，或无权访问",
          405: "不支持该请求方法", 409: "业务规则不允许此操作", 413: "请求体过大", 422: "幂等键已用于另一个请求",
          429: "请求过于频繁", 500: "系统繁忙，请稍后再试"}


def problem(status, detail=None, kind=None, headers=None, **extra):
    """An RFC 9457 problem document: `kind` names the problem type (urn:jiuye:problem:<kind>)."""
    body = {"type": f"urn:jiuye:problem:{kind}" if kind else "about:blank", "title": TITLES.get(status, "错误"),
            "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class ApiError(Exception):
    """Raised inside an endpoint: answered as problem(status, detail, kind, **extra)."""

    def __init__(self, status, detail=None, kind=None, **extra):
        super().__init__(detail)
        self.status, self.detail, self.kind, self.extra = status, detail, kind, extra


def _bearer():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def key_auth(parties, scope):
    """FAB's `@protect` for our keys: the key (401), its rate limit (429), its party (404 for an
    endpoint of another party: it is not there for this key), its scope (403). The endpoint then
    runs as the key's login (Flask-Login's user of this request, no session) with g.api_key."""
    def decorator(f):
        @functools.wraps(f)
        def wrapper(self, *args, **kwargs):
            token = _bearer()
            if not token:
                return problem(401, "请在请求头中携带 Authorization: Bearer <接口密钥>", "unauthenticated",
                               {"WWW-Authenticate": 'Bearer realm="api"'})
            key, why = apikeys.authenticate(token, request.remote_addr)
            if key is None:
                # only the token's public prefix reaches the log, never the secret
                log.info("api key refused (%s): %s", why, token[:13] if token.startswith(apikeys.TOKEN_PREFIX) else "-")
                return problem(401, "接口密钥无效、已过期、已吊销，或不允许从此地址使用", "unauthenticated",
                               {"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'})
            allowed, retry_after = rate_hit("api", current_app.config["API_RATE_LIMIT"], key.id)
            if not allowed:
                return problem(429, f"请于{retry_after}秒后重试", "rate-limited", {"Retry-After": str(retry_after)})
            if key.party not in parties:
                return problem(404, kind="not-found")
            if not apikeys.has_scope(key, scope):
                return problem(403, f"此操作需要接口密钥具有“{scope}”权限", "insufficient-scope", scope=scope)
            g.api_key, g.api_key_id = key, key.id
            g._login_user = g.user = key.user  # current_user of this request: scoping and FlowEvent.user_id
            try:
                return f(self, *args, **kwargs)
            except ApiError as e:
                db.session.rollback()
                return problem(e.status, e.detail, e.kind, **e.extra)
            except HTTPException as e:  # scoped_one's 404, a body over MAX_CONTENT_LENGTH (413) …
                db.session.rollback()
                return problem(e.code or 500, kind="not-found" if e.code == 404 else None)
        return wrapper
    return decorator


# ---------------------------------------------------------------- input

def _int_arg(name, default=None, low=None, high=None, errors=None):
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    value = labels.parse_id(raw)
    if value is None or (low is not None and value < low) or (high is not None and value > high):
        errors[name] = f"须为{low if low is not None else 0}至{high if high is not None else '999999999'}的整数"
        return default
    return value


def _paging(errors):
    page = _int_arg("page", 1, 1, 10**6, errors)
    size = _int_arg("size", current_app.config["PAGE_SIZE"], 1, current_app.config["PAGE_SIZE_MAX"], errors)
    return page, size


def _refuse_input(errors, detail="请求参数有误"):
    if errors:
        raise ApiError(400, detail, "invalid-input",
                       errors=[{"field": field, "detail": message} for field, message in errors.items()])


def _json_body():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "请求体须为 JSON 对象（Content-Type: application/json）", "invalid-input")
    return body


def _page(query, count_query, page, size):
    total = db.session.scalar(count_query if count_query is not None
                              else select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.execute(query.limit(size).offset((page - 1) * size)).all()
    return rows, {"page": page, "size": size, "total": total}


# ---------------------------------------------------------------- output

def _time(value):
    """Naive UTC → ISO 8601 with Z."""
    return value.isoformat(timespec="seconds") + "Z" if value else None


def _plain(value):
    """numpy / pandas / dates → JSON values."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def student_json(s):
    """As 学生管理 lists them: 身份证号 and 手机 masked, the 邮箱 too."""
    return {"id": s.id, "student_no": s.student_no, "name": s.name, "gender": s.gender,
            "id_number": labels.mask_id(s.id_number), "phone": labels.mask_phone(s.phone),
            "email": labels.mask_email(s.email) if s.email else None, "department": s.department, "major": s.major,
            "education": s.education, "graduation_year": s.graduation_year, "training_mode": s.training_mode,
            "signing_restricted": s.signing_restricted, "plan_submitted": s.plan_submitted,
            "verified": s.verified_at is not None}


def agreement_json(a, student=None):
    student = student or a.student
    return {"id": a.id, "kind": a.kind, "status": workflow.effective_status(a), "number": a.number,
            "student": {"id": student.id, "student_no": student.student_no, "name": student.name},
            "employer": {"name": a.employer_name, "credit_code": a.employer_credit_code},
            "position": a.position, "job_category": a.job_category, "sent_at": _time(a.sent_at),
            "accepted_at": _time(a.accepted_at), "certified_at": _time(a.certified_at),
            "reviewed_at": _time(a.reviewed_at), "review_reason": a.review_reason, "updated_at": _time(a.updated_at)}


# ---------------------------------------------------------------- idempotency

def _answer(status, body):
    """A JSON answer; an error's body is a problem document."""
    if status < 400:
        return BaseApi.response(status, **body)
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM)


def idempotent(run):
    """`run()` → (status, body) once per Idempotency-Key of this API key: a repeat of the same
    request gets the stored answer (Idempotent-Replayed: true) without a second write; the same key
    with another request → 422; while the first still runs → 409. Without the header: just run."""
    idem = request.headers.get("Idempotency-Key", "").strip()
    if not idem:
        return _answer(*run())
    if len(idem) > 100:
        raise ApiError(400, "Idempotency-Key 不能超过100个字符", "invalid-input")
    fingerprint = hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n"
                                 + request.get_data()).hexdigest()
    key_id = g.api_key_id
    row = db.session.scalar(select(ApiIdempotency).where(ApiIdempotency.api_key_id == key_id,
                                                         ApiIdempotency.idem_key == idem))
    if row is None:
        row = ApiIdempotency(api_key_id=key_id, idem_key=idem, request_hash=fingerprint, created_at=utcnow())
        db.session.add(row)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            raise ApiError(409, "同一 Idempotency-Key 的请求正在处理，请稍后重试", "idempotency-in-progress") from None
    elif row.request_hash != fingerprint:
        raise ApiError(422, "此 Idempotency-Key 已用于另一个请求", "idempotency-key-reused")
    elif row.status is None and not _take_over(row):
        raise ApiError(409, "同一 Idempotency-Key 的请求正在处理，请稍后重试", "idempotency-in-progress")
    elif row.status is not None:
        response = _answer(row.status, json.loads(row.body))
        response.headers["Idempotent-Replayed"] = "true"
        return response
    row_id = row.id
    try:
        status, body = run()
    except BaseException:
        db.session.rollback()
        db.session.execute(ApiIdempotency.__table__.delete().where(ApiIdempotency.id == row_id))
        db.session.commit()
        raise
    db.session.execute(ApiIdempotency.__table__.update().where(ApiIdempotency.id == row_id)
                       .values(status=status, body=json.dumps(body, ensure_ascii=False)))
    db.session.commit()
    return _answer(status, body)


def _take_over(row):
    """An unanswered Idempotency-Key older than API_IDEMPOTENCY_STALE_SECONDS belonged to a request
    whose process died: this request takes it (one of several racing requests wins: a conditional
    UPDATE on the old start time) and runs. True when taken."""
    stale_before = utcnow() - timedelta(seconds=current_app.config["API_IDEMPOTENCY_STALE_SECONDS"])
    if row.created_at >= stale_before:
        return False
    taken = db.session.execute(ApiIdempotency.__table__.update().where(
        ApiIdempotency.id == row.id, ApiIdempotency.status.is_(None), ApiIdempotency.created_at == row.created_at)
        .values(created_at=utcnow())).rowcount == 1
    db.session.commit()
    return taken


# ---------------------------------------------------------------- the base class

PROBLEM_SCHEMA = {
    "type": "object",
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "detail": {"type": "string"}, "rule": {"type": "string"},
                   "errors": {"type": "array", "items": {"type": "object", "properties": {
                       "field": {"type": "string"}, "row": {"type": "integer"}, "detail": {"type": "string"}}}}},
    "required": ["type", "title", "status"],
}


PAGE_SCHEMA = {
    "type": "object",
    "properties": {"items": {"type": "array", "items": {"type": "object"}}, "page": {"type": "integer"},
                   "size": {"type": "integer"}, "total": {"type": "integer"}},
}


def _problem_response(description):
    return {"description": description, "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


class KeyApi(BaseApi):
    """Our endpoints' common part: the bearer-key security scheme and the problem responses in the
    OpenAPI document (FAB's own `responses` describe {"message"} bodies)."""

    version = "v1"
    allow_browser_login = False
    responses = {
        "400": _problem_response("请求有误（含字段错误）"),
        "401": _problem_response("缺少或无效的接口密钥"),
        "403": _problem_response("接口密钥没有此权限"),
        "404": _problem_response("不存在，或属于其他单位"),
        "409": _problem_response("业务规则不允许（rule 为规则编号）"),
        "422": _problem_response("Idempotency-Key 已用于另一个请求"),
        "429": {**_problem_response("请求过于频繁"),
                "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "秒"}}},
    }

    def add_apispec_components(self, api_spec):
        from apispec.exceptions import DuplicateComponentNameError

        # FAB's own names (400, 401 …) would keep its {"message"} bodies: ours are ProblemNNN.
        for code, response in self.responses.items():
            try:
                api_spec.components.response(f"Problem{code}", response)
            except DuplicateComponentNameError:
                pass
        components = api_spec.components
        for name, add in (("Problem", lambda: components.schema("Problem", PROBLEM_SCHEMA)),
                          ("Page", lambda: components.schema("Page", PAGE_SCHEMA)),
                          ("page", lambda: components.parameter(
                              "page", "query", {"schema": {"type": "integer", "minimum": 1, "maximum": 10**6}})),
                          ("size", lambda: components.parameter(
                              "size", "query", {"schema": {"type": "integer", "minimum": 1, "maximum": 100}})),
                          ("api_key", lambda: components.security_scheme(
                              "api_key", {"type": "http", "scheme": "bearer", "description": "接口密钥 jyk_…"}))):
            try:
                add()
            except DuplicateComponentNameError:
                pass

    def operation_helper(self, path=None, operations=None, methods=None, func=None, **kwargs):
        super().operation_helper(path=path, operations=operations, methods=methods, func=func, **kwargs)
        for method in methods:
            operation = operations.get(method.lower())
            if operation is not None:
                operation["security"] = [{"api_key": []}]
                for code in ("400", "401", "403", "404", "429"):  # every endpoint may answer these
                    operation.setdefault("responses", {}).setdefault(
                        code, {"$ref": f"#/components/responses/Problem{code}"})


# ---------------------------------------------------------------- school

def _refused(action, actor, obj):
    refusal = workflow.why_not(action, actor, obj)
    if refusal is not None:
        raise ApiError(409, refusal.message, "refused", rule=refusal.rule, action=action)


def _transition(action, actor, obj, call):
    """`call()` of a workflow function after why_not allowed it: a refusal found under the locks
    is a 409 with its rule; any other WorkflowError is about the input (400, its fields)."""
    _refused(action, actor, obj)
    try:
        return call()
    except workflow.WorkflowError as e:
        db.session.rollback()
        _refused(action, actor, db.session.get(type(obj), obj.id))
        _refuse_input(e.fields or {"_": e.message}, e.message)
        raise  # pragma: no cover - _refuse_input raised


class SchoolApi(KeyApi):
    """学校就业部门's systems: the roster (学生生源) and 签约审核."""

    resource_name = "school"
    openapi_spec_tag = "学校"

    @expose("/students", methods=["GET"])
    @safe
    @key_auth(("school",), "students:read")
    def students(self):
        """本校学生（分页），身份证号、手机、邮箱已脱敏
        ---
        get:
          summary: 本校学生（分页）
          parameters:
          - page
          - size
          - {in: query, name: graduation_year, schema: {type: integer}}
          - {in: query, name: student_no, schema: {type: string}}
          responses:
            200:
              description: 一页学生
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Page'}
        """
        errors = {}
        page, size = _paging(errors)
        year = _int_arg("graduation_year", None, 1900, 2200, errors)
        _refuse_input(errors)
        school = current_school()
        query = select(Student).where(Student.school_id == school.id)
        if year is not None:
            query = query.where(Student.graduation_year == year)
        if request.args.get("student_no"):
            query = query.where(Student.student_no == request.args["student_no"].strip())
        rows, meta = _page(query.order_by(Student.student_no, Student.id), None, page, size)
        return self.response(200, items=[student_json(s) for (s,) in rows], **meta)

    @expose("/students", methods=["POST"])
    @safe
    @key_auth(("school",), "students:write")
    def upsert_students(self):
        """批量新增或更新本校学生（与“导入学生生源”同一规则），可带 Idempotency-Key
        ---
        post:
          summary: 批量新增或更新本校学生
          description: >-
            按“学校 + 学号”新增或更新，规则与导入学生生源相同（含 R19：有生效协议的学生姓名、身份证号不可改）。
            默认全部正确才写入；valid_only 为 true 时只写入正确的行。同一 Idempotency-Key 重复提交得到同一结果。
          parameters:
          - {in: header, name: Idempotency-Key, schema: {type: string, maxLength: 100}}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [students]
                  properties:
                    valid_only: {type: boolean}
                    students:
                      type: array
                      items:
                        type: object
                        required: [student_no, name, id_number, gender, phone, department, major, education,
                                   graduation_year, training_mode]
                        properties:
                          student_no: {type: string}
                          name: {type: string}
                          id_number: {type: string}
                          gender: {type: string, enum: [男, 女]}
                          phone: {type: string}
                          email: {type: string}
                          department: {type: string}
                          major: {type: string}
                          education: {type: string, enum: [博士生毕业, 硕士生毕业, 本科生毕业, 专科生毕业]}
                          graduation_year: {type: integer}
                          training_mode: {type: string, enum: [non_targeted, targeted, 非定向, 定向]}
          responses:
            200:
              description: 已写入；rows 为每行结果（created / updated / unchanged / refused）
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      created: {type: integer}
                      updated: {type: integer}
                      unchanged: {type: integer}
                      refused: {type: integer}
                      rows: {type: array, items: {type: object}}
            409: {$ref: '#/components/responses/Problem409'}
            422: {$ref: '#/components/responses/Problem422'}
        """
        return idempotent(self._upsert)

    def _upsert(self):
        body = _json_body()
        records, valid_only = body.get("students"), body.get("valid_only", False)
        keys = {c.key for c in imports.ROSTER.columns}
        errors = {}
        if not isinstance(valid_only, bool):
            errors["valid_only"] = "须为 true 或 false"
        if not isinstance(records, list) or not records:
            errors["students"] = "须为非空数组"
        elif len(records) > current_app.config["IMPORT_MAX_ROWS"]:
            errors["students"] = f"一次最多{current_app.config['IMPORT_MAX_ROWS']}名学生，请分批提交"
        else:
            for i, record in enumerate(records, start=1):
                if not isinstance(record, dict):
                    errors[f"students[{i}]"] = "须为对象"
                elif set(record) - keys:
                    errors[f"students[{i}]"] = "未知字段：" + "、".join(sorted(set(record) - keys))
                elif any(v is not None and not isinstance(v, (str, int)) or isinstance(v, bool) for v in record.values()):
                    errors[f"students[{i}]"] = "字段值须为字符串或整数"
        _refuse_input(errors)
        # 培养方式: the sheet's labels (非定向/定向) or the stored codes, as 新增学生 accepts
        records = [{**r, "training_mode": labels.TRAINING_MODE.get(r.get("training_mode"), r.get("training_mode"))}
                   for r in records]
        school = current_school()
        table = imports.table_from_records(records, imports.ROSTER)
        try:
            outcome, checked = importing.import_roster(school, table, valid_only=valid_only)
        except importing.ImportFailed as e:
            raise ApiError(409, str(e), "conflict") from None
        rows = []
        for i, record in enumerate(records, start=1):
            fields = checked.fields.get(i, {})
            placed = set(fields.values())
            problems = [{"field": k, "detail": m} for k, m in fields.items()]
            problems += [{"field": None, "detail": m} for m in checked.errors.get(i, []) if m not in placed]
            status = "refused" if i in checked.errors else outcome.rows.get(i, "not_written")
            rows.append({"row": i, "student_no": str(record.get("student_no") or ""), "status": status,
                         **({"errors": problems} if problems else {})})
        if not outcome.written:
            return 400, {"type": "urn:jiuye:problem:invalid-rows", "title": TITLES[400], "status": 400,
                         "detail": f"{outcome.refused}行有误，未写入任何数据（可改正后重新提交，或设 valid_only 只写入正确的行）",
                         "refused": outcome.refused, "rows": [r for r in rows if r["status"] == "refused"]}
        return 200, {"created": outcome.created, "updated": outcome.updated, "unchanged": outcome.unchanged,
                     "refused": outcome.refused, "rows": rows}

    @expose("/agreements", methods=["GET"])
    @safe
    @key_auth(("school",), "agreements:read")
    def agreements(self):
        """本校协议书（签约审核的列表与筛选）
        ---
        get:
          summary: 本校协议书（分页、筛选）
          parameters:
          - {in: query, name: status, schema: {type: string, enum: [accepted, certified, declined, terminated, all]}}
          - {in: query, name: department, schema: {type: string}}
          - {in: query, name: major, schema: {type: string}}
          - {in: query, name: employer, schema: {type: string}}
          - {in: query, name: name, schema: {type: string}, description: 学生姓名或学号}
          - page
          - size
          responses:
            200:
              description: 一页协议书
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Page'}
        """
        errors = {}
        page, size = _paging(errors)
        statuses = [code for code, _label in school_queries.REVIEW_FILTERS]
        f = {"status": request.args.get("status", "all")}
        if f["status"] not in statuses:
            errors["status"] = "须为 " + " / ".join(statuses) + " 之一"
        for name in ("department", "major", "employer", "name"):
            f[name] = (request.args.get(name) or "").strip()
        _refuse_input(errors)
        query, count = school_queries.reviews(current_school(), f)
        rows, meta = _page(query, count, page, size)
        return self.response(200, items=[agreement_json(a, s) for a, s in rows], **meta)

    def _agreement(self, agreement_id):
        school = current_school()
        return scoped_one(select(Agreement).where(Agreement.id == agreement_id, Agreement.school_id == school.id))

    @expose("/agreements/<int:agreement_id>/certify", methods=["POST"])
    @safe
    @key_auth(("school",), "agreements:review")
    def certify(self, agreement_id):
        """签约审核通过（鉴证并编号，R9）
        ---
        post:
          summary: 签约审核通过
          parameters:
          - {in: path, name: agreement_id, required: true, schema: {type: integer}}
          responses:
            200:
              description: 已鉴证的协议书
              content:
                application/json:
                  schema: {type: object}
            409: {$ref: '#/components/responses/Problem409'}
        """
        agreement = self._agreement(agreement_id)
        user = g.api_key.user
        done = _transition("certify", user, agreement, lambda: workflow.certify(user, agreement))
        return self.response(200, **agreement_json(done))

    @expose("/agreements/<int:agreement_id>/decline", methods=["POST"])
    @safe
    @key_auth(("school",), "agreements:review")
    def decline(self, agreement_id):
        """签约审核不通过（须填写原因，R9）
        ---
        post:
          summary: 签约审核不通过
          parameters:
          - {in: path, name: agreement_id, required: true, schema: {type: integer}}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [reason]
                  properties:
                    reason: {type: string, maxLength: 500}
          responses:
            200:
              description: 审核不通过的协议书
              content:
                application/json:
                  schema: {type: object}
            409: {$ref: '#/components/responses/Problem409'}
        """
        agreement = self._agreement(agreement_id)
        reason = _json_body().get("reason")
        if reason is not None and not isinstance(reason, str):
            _refuse_input({"reason": "须为字符串"})
        user = g.api_key.user
        done = _transition("decline", user, agreement, lambda: workflow.decline(user, agreement, reason))
        return self.response(200, **agreement_json(done))


# ---------------------------------------------------------------- province

class ProvinceApi(KeyApi):
    """省就业中心's systems: the statistics of 统计总览."""

    resource_name = "province"
    openapi_spec_tag = "省就业中心"

    @expose("/statistics", methods=["GET"])
    @safe
    @key_auth(("province",), "statistics:read")
    def statistics(self):
        """统计总览的数据（与页面同一计算：统计汇总，至多1分钟前；按日期筛选时至多 STATS_CACHE_SECONDS 前）
        ---
        get:
          summary: 全省统计
          parameters:
          - {in: query, name: year, schema: {type: integer}}
          - {in: query, name: school_id, schema: {type: integer}}
          - {in: query, name: date_from, schema: {type: string, format: date}}
          - {in: query, name: date_to, schema: {type: string, format: date}}
          responses:
            200:
              description: summary 与各分组表
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      computed_at: {type: string}
                      filters: {type: object}
                      summary: {type: object}
                      tables: {type: object}
        """
        f, problems = stats.Filters.parse(request.args)
        if problems:
            raise ApiError(400, "；".join(problems), "invalid-input")
        data, computed_at = summary.dashboard(f)
        tables = {name: [{k: _plain(v) for k, v in row.items()} for row in stats.records(table)]
                  for name, table in data.items() if name != "summary"}
        return self.response(200, computed_at=_time(computed_at), filters=f.as_params(),
                             summary={k: _plain(v) for k, v in data["summary"].items()}, tables=tables)


# ---------------------------------------------------------------- everyone

class ChangesApi(KeyApi):
    """The feed of status changes (FlowEvents) of the key's party, by cursor."""

    resource_name = "changes"
    openapi_spec_tag = "变更流水"

    @expose("", methods=["GET"])
    @safe
    @key_auth(("school", "employer", "province"), "changes:read")
    def feed(self):
        """本单位的状态变更流水（按游标分页，从旧到新）
        ---
        get:
          summary: 状态变更流水
          description: >-
            since 为上一页返回的 next（首次为 0）；has_more 为 false 时已读到最新。
          parameters:
          - {in: query, name: since, schema: {type: string}}
          - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 500}}
          responses:
            200:
              description: 一页变更
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      items: {type: array, items: {type: object}}
                      next: {type: string}
                      has_more: {type: boolean}
        """
        errors = {}
        since = _int_arg("since", 0, 0, None, errors)
        limit = _int_arg("limit", 100, 1, current_app.config["API_CHANGES_PAGE_MAX"], errors)
        _refuse_input(errors)
        key = g.api_key
        party_id = key.school_id if key.party == "school" else key.employer_id
        rows = db.session.execute(change_queries.changes(
            key.party, party_id, since, limit + 1, current_app.config["API_CHANGES_SETTLE_SECONDS"])).all()
        more = len(rows) > limit
        rows = rows[:limit]
        items = []
        for event, agreement, termination, destination in rows:
            item = {"cursor": str(event.id), "at": _time(event.created_at), "action": event.action,
                    "action_label": labels.FLOW_ACTION.get(event.action, event.action), "actor": event.actor_name,
                    "remark": event.remark}
            if agreement is not None:
                item["agreement"] = {"id": agreement.id, "status": workflow.effective_status(agreement),
                                     "number": agreement.number, "student_id": agreement.student_id}
            if termination is not None:
                item["termination"] = {"id": termination.id, "status": termination.status,
                                       "agreement_id": termination.agreement_id}
            if destination is not None:
                item["destination"] = {"id": destination.id, "status": destination.status,
                                       "student_id": destination.student_id}
            items.append(item)
        return self.response(200, items=items, next=str(rows[-1][0].id if rows else since), has_more=more)


def register(appbuilder):
    for api in (SchoolApi, ProvinceApi, ChangesApi):
        appbuilder.add_api(api)

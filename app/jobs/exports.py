"""Detailed exports as jobs (`app.jobs.runs.start(kind, user_id, "app.jobs.exports.<func>", params)`).

Each function is called as `func(run, params, progress)`, re-reads everything from `params`
(ids and filters only), streams rows from ONE query with `yield_per` into a write-only workbook
or a CSV file under UPLOAD_DIR/exports/<user id>/, records an ExportAudit row (who, when, what
filter, row count: these lists carry ID numbers) and returns {"file", "filename", "rows"}.
A retried run writes a new file; the download route serves only the run's owner.
"""
import csv
import json
import os
import uuid

from flask import current_app
from sqlalchemy import and_, func, select

from .. import labels, regions
from ..extensions import db
from ..models import (
    LIVE_AGREEMENT_STATUSES,
    LIVE_DESTINATION_STATUSES,
    Agreement,
    Destination,
    Employer,
    ExportAudit,
    School,
    Student,
)
from ..stats import FORMULA_PREFIXES, OUTCOME_KIND, Filters, SheetWriter, _local_day, new_workbook

EXPORT_SUBDIR = "exports"
PROGRESS_EVERY = 5000
FORMATS = ("xlsx", "csv")


def export_dir(user_id):
    path = os.path.join(current_app.config["UPLOAD_DIR"], EXPORT_SUBDIR, str(int(user_id)))
    os.makedirs(path, exist_ok=True)
    return path


def export_path(user_id, key):
    """The file of a finished run, only inside that user's own export folder (no path tricks)."""
    base = os.path.realpath(export_dir(user_id))
    path = os.path.realpath(os.path.join(base, os.path.basename(key or "")))
    if not key or os.path.dirname(path) != base or not os.path.isfile(path):
        return None
    return path


class _Region:
    """GB/T 2260 code → full name, cached per run (a few hundred distinct codes at most)."""

    def __init__(self):
        self.cache = {}

    def __call__(self, code):
        if code is None:
            return ""
        if code not in self.cache:
            self.cache[code] = regions.full_name(code)
        return self.cache[code]


_FORMULA_START = frozenset(FORMULA_PREFIXES)  # what stats.csv_safe guards, as a set of first characters


def _write(run, params, what, headers, widths, total, rows, progress, sheet_title):
    """Rows (an iterator of value lists) → the file; audit; the run's result."""
    fmt = params.get("format") if params.get("format") in FORMATS else "xlsx"
    key = f"{what}-{uuid.uuid4().hex}.{fmt}"
    path = os.path.join(export_dir(run.user_id), key)
    progress(0, total)
    n = 0
    if fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8-sig") as fh:  # BOM: Excel reads the Chinese
            writer = csv.writer(fh)
            writer.writerow(headers)
            for values in rows:
                # csv_safe inlined (millions of cells): text starting with = + - @ gets a leading '.
                writer.writerow([("'" + v) if v.__class__ is str and v[:1] in _FORMULA_START else v
                                 for v in values])
                n += 1
                if n % PROGRESS_EVERY == 0:
                    progress(n)
    else:
        wb = new_workbook()
        sheet = SheetWriter(wb, sheet_title, headers, widths=widths)
        for values in rows:
            sheet.append(values)
            n += 1
            if n % PROGRESS_EVERY == 0:
                progress(n)
        wb.save(path)
    progress(n, max(n, total or 0))
    filters = {k: v for k, v in params.items() if k != "format"}
    db.session.add(ExportAudit(user_id=run.user_id, what=what, row_count=n,
                               filters=json.dumps(filters, ensure_ascii=False, sort_keys=True)))
    db.session.commit()
    label = params.get("label") or what
    return {"file": key, "filename": f"{label}.{fmt}", "rows": n}


# ---------------------------------------------------------------- 已鉴证协议书明细 (province layout)

CERTIFIED_COLUMNS = [
    ("毕业年度", 10), ("院校代码", 10), ("学校名称", 24), ("学号", 14), ("姓名", 10), ("身份证号", 21),
    ("性别", 6), ("学历", 12), ("院系", 20), ("专业", 20), ("毕业去向代码", 12), ("毕业去向", 18),
    ("单位名称", 30), ("统一社会信用代码", 21), ("单位性质", 14), ("单位所在地", 24), ("工作职位类别", 18),
    ("拟聘用职位", 16), ("实际工作地点", 24), ("签约类型", 10), ("协议书编号", 18), ("协议书状态", 14),
    ("鉴证日期", 12),
]


def certified_query(f: Filters):
    q = (
        select(Student.graduation_year, School.code, School.name, Student.student_no, Student.name,
               Student.id_number, Student.gender, Student.education, Student.department, Student.major,
               Agreement.employer_name, Agreement.employer_credit_code, Employer.nature, Employer.region,
               Agreement.job_category, Agreement.position, Agreement.work_region, Agreement.kind,
               Agreement.number, Agreement.status, _local_day(Agreement.certified_at).label("certified_on"))
        .select_from(Agreement)
        .join(Student, Student.id == Agreement.student_id)
        .join(School, School.id == Agreement.school_id)
        # Paper agreements have no employer_id (R13): the employer row is found by credit code.
        .outerjoin(Employer, Employer.credit_code == Agreement.employer_credit_code)
        .where(Agreement.status == "certified")
        .order_by(School.code, Agreement.number)
    )
    if f.year:
        q = q.where(Student.graduation_year == f.year)
    if f.school_id:
        q = q.where(Agreement.school_id == f.school_id)
    start, end = f.utc_bounds()
    if start:
        q = q.where(Agreement.certified_at >= start)
    if end:
        q = q.where(Agreement.certified_at < end)
    return q


def certified_list(run, params, progress):
    """Province: one row per graduate with a certified agreement (student, employer, number, status)."""
    f = Filters.from_params(params)
    q = certified_query(f)
    total = db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery()))
    region = _Region()

    def rows():
        for r in db.session.execute(q.execution_options(yield_per=2000)):
            (year, code, school, no, name, idn, gender, edu, dept, major, ename, ecode, nature, eregion,
             job, position, work, kind, number, status, certified_on) = r
            yield [year, code, school, no, name, idn, gender, edu, dept, major, "10", labels.OUTCOME_CODE["10"],
                   ename, ecode, labels.label(labels.EMPLOYER_NATURE, nature, ""), region(eregion), job,
                   position, region(work), labels.AGREEMENT_KIND.get(kind, kind), number,
                   labels.AGREEMENT_STATUS.get(status, status), str(certified_on) if certified_on else "-"]

    return _write(run, params, "certified_list", [c for c, _ in CERTIFIED_COLUMNS], [w for _, w in CERTIFIED_COLUMNS],
                  total, rows(), progress, "已鉴证协议书明细")


# ---------------------------------------------------------------- a school's students with outcomes

STUDENT_COLUMNS = [
    ("毕业年度", 10), ("学号", 14), ("姓名", 10), ("身份证号", 21), ("性别", 6), ("学历", 12), ("院系", 20),
    ("专业", 20), ("手机", 13), ("就业状态", 14), ("毕业去向代码", 12), ("毕业去向", 18), ("单位名称", 30),
    ("统一社会信用代码", 21), ("实际工作地点", 24), ("协议书编号", 18), ("协议书状态", 14), ("落实日期", 12),
]


def students_query(f: Filters):
    a = select(Agreement.student_id, Agreement.kind, Agreement.status, Agreement.employer_name,
               Agreement.employer_credit_code, Agreement.work_region, Agreement.number, Agreement.certified_at,
               Agreement.accepted_at).where(Agreement.status.in_(LIVE_AGREEMENT_STATUSES),
                                            Agreement.school_id == f.school_id).subquery("a")
    d = select(Destination.student_id, Destination.kind, Destination.status, Destination.reviewed_at,
               Destination.created_at).where(Destination.status.in_(LIVE_DESTINATION_STATUSES),
                                             Destination.school_id == f.school_id).subquery("d")
    q = (
        select(Student.graduation_year, Student.student_no, Student.name, Student.id_number, Student.gender,
               Student.education, Student.department, Student.major, Student.phone,
               a.c.kind, a.c.status, a.c.employer_name, a.c.employer_credit_code, a.c.work_region, a.c.number,
               a.c.certified_at, a.c.accepted_at, d.c.kind, d.c.status, d.c.reviewed_at, d.c.created_at)
        .outerjoin(a, a.c.student_id == Student.id)
        .outerjoin(d, and_(d.c.student_id == Student.id, a.c.student_id.is_(None)))
        .where(Student.school_id == f.school_id)
        .order_by(Student.department, Student.major, Student.student_no)
    )
    if f.year:
        q = q.where(Student.graduation_year == f.year)
    return q


def school_students(run, params, progress):
    """School: its own students (ID numbers included) with their live outcome (R6)."""
    f = Filters.from_params(params)
    if not f.school_id:
        raise ValueError("缺少学校")
    q = students_query(f)
    total = db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery()))
    region = _Region()

    def rows():
        for r in db.session.execute(q.execution_options(yield_per=2000)):
            (year, no, name, idn, gender, edu, dept, major, phone, a_kind, a_status, ename, ecode, work, number,
             certified_at, accepted_at, d_kind, d_status, reviewed_at, created_at) = r
            if a_status:
                state = "已就业" if a_status == "certified" else "已签约，待学校审核"
                code, outcome = "10", OUTCOME_KIND.get(a_kind, a_kind)
                when = certified_at if a_status == "certified" else accepted_at
                agreement = [ename, ecode, region(work), number or "",
                             labels.AGREEMENT_STATUS.get(a_status, a_status)]
            elif d_status:
                state = "已落实去向" if d_status == "approved" else "去向待学校审核"
                code, outcome = d_kind, labels.DESTINATION_KIND.get(d_kind, d_kind)
                when = reviewed_at if d_status == "approved" else created_at
                agreement = ["", "", "", "", ""]
            else:
                state, code, outcome, when = "未就业", "70", labels.OUTCOME_CODE["70"], None
                agreement = ["", "", "", "", ""]
            yield [year, no, name, idn, gender, edu, dept, major, phone, state, code, outcome, *agreement,
                   labels.fmt_date(when) if when else ""]

    return _write(run, params, "school_students", [c for c, _ in STUDENT_COLUMNS], [w for _, w in STUDENT_COLUMNS],
                  total, rows(), progress, "学生就业去向名单")



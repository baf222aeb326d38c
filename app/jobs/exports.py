"""Detailed exports as jobs (`app.jobs.runs.start(kind, user_id, "app.jobs.exports.<func>", params)`).

Each function is called as `func(run, params, progress)`, re-reads everything from `params`
(ids and filters only), streams rows from ONE query with `yield_per` into a write-only workbook
or a CSV file under UPLOAD_DIR/exports/<user id>/, records an ExportAudit row (who, when, what
filter, row count: these lists carry ID numbers) and returns {"file", "filename", "rows"}.
A retried run writes a new file; the download route serves only the run's owner.
"""
import csv
import io
import json
import os
import uuid
from contextlib import contextmanager

import psycopg
from flask import current_app
from sqlalchemy import Column, MetaData, String, Table, Text, and_, case, cast, func, insert, literal, select

from .. import labels, national, regions, uploads
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
from ..spreadsheets import FORMULA_PREFIXES
from ..stats import OUTCOME_KIND, Filters, _local_day

EXPORT_SUBDIR = "exports"
PROGRESS_EVERY = 5000
FORMATS = ("xlsx", "csv")


def export_dir(user_id):
    path = os.path.join(current_app.config["UPLOAD_DIR"], EXPORT_SUBDIR, str(int(user_id)))
    uploads.private_dir(path)
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


_FORMULA_START = frozenset(FORMULA_PREFIXES)  # what spreadsheets.csv_safe guards, as a set of first characters


class XlsxList:
    """One long list into an .xlsx file with XlsxWriter in constant-memory mode (rows go to disk as
    they are written): bold frozen header, column widths. Every text is written as a string cell
    (`strings_to_formulas` off), so "=…" can never become a formula; such cells also carry Excel's
    quote prefix so that editing them keeps them text. Chosen by measurement for long lists
    (bench/export_bench.py: about 3× openpyxl's write-only mode); openpyxl stays for the styled
    statistics workbook and the import templates."""

    def __init__(self, path, title, headers, widths):
        import xlsxwriter

        self.wb = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                             "strings_to_urls": False, "strings_to_numbers": False})
        self.ws = self.wb.add_worksheet(title)
        head = self.wb.add_format({"bold": True, "bg_color": "#DDEBF7", "align": "center", "valign": "vcenter"})
        self.quoted = self.wb.add_format({"quote_prefix": True})
        for i, width in enumerate(widths):
            self.ws.set_column(i, i, width)
        self.ws.freeze_panes(1, 0)
        self.ws.write_row(0, 0, headers, head)
        self.rows = 0

    def append(self, values):
        self.rows += 1
        self.ws.write_row(self.rows, 0, values)
        for i, value in enumerate(values):
            if value.__class__ is str and value[:1] in _FORMULA_START:
                self.ws.write_string(self.rows, i, value, self.quoted)

    def close(self):
        self.wb.close()


def _format(params):
    return params.get("format") if params.get("format") in FORMATS else "xlsx"


def _write(run, params, what, headers, widths, total, rows, progress, sheet_title, raw_csv=None):
    """Rows (an iterator of value lists) → the file; audit; the run's result. `raw_csv(fh, progress)`,
    when given, writes the CSV body itself (PostgreSQL COPY) and returns the row count."""
    fmt = _format(params)
    key = f"{what}-{uuid.uuid4().hex}.{fmt}"
    path = os.path.join(export_dir(run.user_id), key)
    uploads.create_private(path).close()  # 0600 before a row is written; the writers below keep the mode
    progress(0, total)
    n = 0
    if fmt == "csv" and raw_csv:
        with open(path, "wb") as fh:
            fh.write(_csv_line(headers).encode("utf-8-sig"))  # BOM: Excel reads the Chinese
            n = raw_csv(fh, progress)
    elif fmt == "csv":
        # UTF-8 with a BOM (Excel reads the Chinese), or GB18030 where asked (older national tools)
        encoding = "gb18030" if params.get("encoding") == "gb18030" else "utf-8-sig"
        with open(path, "w", newline="", encoding=encoding) as fh:
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
        sheet = XlsxList(path, sheet_title, headers, widths)
        for values in rows:
            sheet.append(values)
            n += 1
            if n % PROGRESS_EVERY == 0:
                progress(n)
        sheet.close()
    progress(n, max(n, total or 0))
    filters = {k: v for k, v in params.items() if k != "format"}
    db.session.add(ExportAudit(user_id=run.user_id, what=what, row_count=n,
                               filters=json.dumps(filters, ensure_ascii=False, sort_keys=True)))
    db.session.commit()
    label = params.get("label") or what
    return {"file": key, "filename": f"{label}.{fmt}", "rows": n}


def _csv_line(values):
    out = io.StringIO()
    csv.writer(out).writerow(values)
    return out.getvalue()


@contextmanager
def _streaming():
    """The connection a list streams from while `progress()` commits the job's session every
    PROGRESS_EVERY rows: its own on PostgreSQL (a commit on the session's connection would close the
    server-side cursor of `yield_per` — "cursor … does not exist" after 5,000 rows), the session's
    on SQLite (tests, `make run`)."""
    if db.engine.dialect.name != "postgresql":
        yield db.session.connection()
        return
    conn = db.engine.connect()
    try:
        yield conn
    finally:
        conn.close()


# ---------------------------------------------------------------- formatting in SQL (PostgreSQL COPY)

_REGION_NAMES = Table("tmp_region_name", MetaData(), Column("code", String(6), primary_key=True),
                      Column("name", Text, nullable=False), prefixes=["TEMPORARY"])


def _region_table(conn):
    """A temporary code → full name table (GB/T 2260, ~6,800 rows: the codes in force and the old
    ones stored data may hold) on this connection, so that a list can name regions in its one SELECT."""
    _REGION_NAMES.create(conn, checkfirst=True)
    if conn.scalar(select(func.count()).select_from(_REGION_NAMES)) == 0:
        conn.execute(insert(_REGION_NAMES), [{"code": c, "name": regions.full_name(c)} for c in regions.named_codes()])
    return _REGION_NAMES


def _sql_label(column, mapping, default):
    """labels.label in SQL: NULL → default, a known code → its label, anything else as it is."""
    return func.coalesce(case(mapping, value=column, else_=column), literal(default))


def _sql_region(column, names):
    """_Region in SQL: NULL → '', a known code → full name, '' → '-', an unknown code as it is."""
    return case((column.is_(None), literal("")), (names.c.name.is_not(None), names.c.name),
                (column == "", literal("-")), else_=column)


def _sql_guard(column):
    """spreadsheets.csv_safe in SQL: text starting with = + - @ gets a leading '."""
    return case((func.substr(column, 1, 1).in_(FORMULA_PREFIXES), literal("'") + column), else_=column)


@contextmanager
def _copy_out(conn, query, options=""):
    """COPY (query) TO STDOUT on this connection's psycopg connection: (cursor, copy). Client-side
    binding (ClientCursor): COPY takes no server parameters."""
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    with psycopg.ClientCursor(conn.connection.driver_connection) as cur:
        with cur.copy(f"COPY ({compiled}) TO STDOUT{options}", compiled.params) as copy:
            yield cur, copy


def _copy_csv(conn, query, fh, progress):
    """PostgreSQL writes the rows as CSV itself (COPY … TO STDOUT): no Python per row or cell.
    Progress is counted from the stream's line ends (a quoted multi-line cell would over-count
    until the final exact figure); returns the row count."""
    n = step = 0
    with _copy_out(conn, query, " WITH (FORMAT csv, ENCODING 'UTF8')") as (cur, copy):
        for block in copy:
            fh.write(block)
            n += bytes(block).count(b"\n")
            if n - step >= PROGRESS_EVERY:
                step = n
                progress(n)
    return cur.rowcount if cur.rowcount >= 0 else n


def _copy_rows(conn, query, types):
    """The rows of COPY … TO STDOUT, parsed by psycopg's own loaders (`types`: one PostgreSQL type
    name per column) — the cheapest way from PostgreSQL into Python objects."""
    with _copy_out(conn, query) as (_cur, copy):
        copy.set_types(types)
        yield from copy.rows()


# ---------------------------------------------------------------- 已鉴证协议书明细 (province layout)

CERTIFIED_COLUMNS = [
    ("毕业年度", 10), ("院校代码", 10), ("学校名称", 24), ("学号", 14), ("姓名", 10), ("身份证号", 21),
    ("性别", 6), ("学历", 12), ("院系", 20), ("专业", 20), ("毕业去向代码", 12), ("毕业去向", 18),
    ("单位名称", 30), ("统一社会信用代码", 21), ("单位性质", 14), ("单位所在地", 24), ("工作职位类别", 18),
    ("拟聘用职位", 16), ("实际工作地点", 24), ("签约类型", 10), ("协议书编号", 18), ("协议书状态", 14),
    ("鉴证日期", 12),
]


def certified_query(f: Filters, names, guard=False):
    """The detailed list, formatted in SQL: labels, region names (`names`: _region_table) and, for
    CSV (`guard`), the formula-injection prefix — so PostgreSQL can write it with COPY."""
    t = _sql_guard if guard else (lambda column: column)
    er, wr = names.alias("er"), names.alias("wr")
    q = (
        select(Student.graduation_year, t(School.code), t(School.name), t(Student.student_no), t(Student.name),
               t(Student.id_number), t(Student.gender), t(Student.education), t(Student.department),
               t(Student.major), literal("10"), literal(labels.OUTCOME_CODE["10"]), t(Agreement.employer_name),
               t(Agreement.employer_credit_code), t(_sql_label(Employer.nature, labels.EMPLOYER_NATURE, "")),
               t(_sql_region(Employer.region, er)), t(Agreement.job_category), t(Agreement.position),
               t(_sql_region(Agreement.work_region, wr)), t(_sql_label(Agreement.kind, labels.AGREEMENT_KIND, "")),
               t(Agreement.number), t(_sql_label(Agreement.status, labels.AGREEMENT_STATUS, "")),
               func.coalesce(cast(_local_day(Agreement.certified_at), String), literal("")))
        .select_from(Agreement)
        .join(Student, Student.id == Agreement.student_id)
        .join(School, School.id == Agreement.school_id)
        # Paper agreements have no employer_id (R13): the employer row is found by credit code.
        .outerjoin(Employer, Employer.credit_code == Agreement.employer_credit_code)
        .outerjoin(er, er.c.code == Employer.region)
        .outerjoin(wr, wr.c.code == Agreement.work_region)
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


CERTIFIED_TYPES = ["int4"] + ["text"] * (len(CERTIFIED_COLUMNS) - 1)


def certified_list(run, params, progress):
    """Province: one row per graduate with a certified agreement (student, employer, number, status).
    On PostgreSQL the rows come out of COPY — the CSV body as PostgreSQL writes it, or parsed for the
    .xlsx; elsewhere (SQLite) through the same formatted SELECT row by row."""
    f = Filters.from_params(params)
    csv_out = _format(params) == "csv"
    copy = db.engine.dialect.name == "postgresql"
    with _streaming() as conn:
        q = certified_query(f, _region_table(conn), guard=csv_out)
        total = conn.scalar(select(func.count()).select_from(q.order_by(None).subquery()))
        if copy:
            rows = None if csv_out else _copy_rows(conn, q, CERTIFIED_TYPES)
            raw_csv = (lambda fh, progress: _copy_csv(conn, q, fh, progress)) if csv_out else None
        else:
            rows, raw_csv = conn.execute(q.execution_options(yield_per=2000)), None
        return _write(run, params, "certified_list", [c for c, _ in CERTIFIED_COLUMNS],
                      [w for _, w in CERTIFIED_COLUMNS], total, rows, progress, "已鉴证协议书明细", raw_csv=raw_csv)


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
    region = _Region()

    def rows(result):
        for r in result:
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

    with _streaming() as conn:
        total = conn.scalar(select(func.count()).select_from(q.order_by(None).subquery()))
        streamed = conn.execute(q.execution_options(yield_per=2000))
        return _write(run, params, "school_students", [c for c, _ in STUDENT_COLUMNS],
                      [w for _, w in STUDENT_COLUMNS], total, rows(streamed), progress, "学生就业去向名单")




# ---------------------------------------------------------------- 毕业去向数据 (national layout)

def national_outcomes(run, params, progress):
    """Province (every school or one) or a school (its own): the national 毕业去向 layout, one row
    per graduate (app.national), as .xlsx or CSV (UTF-8, or GB18030 with params["encoding"]).
    The result counts the rows that could not be fully coded (the page's 导出前检查 lists them)."""
    f = Filters.from_params(params)
    q = national.query(f)
    incomplete = 0

    def rows(result):
        nonlocal incomplete
        for row in result:
            values, problems = national.coded(row)
            incomplete += bool(problems)
            yield values

    with _streaming() as conn:
        total = conn.scalar(select(func.count()).select_from(q.order_by(None).subquery()))
        streamed = conn.execute(q.execution_options(yield_per=5000))
        headers = [code for code, _name in national.COLUMNS]
        widths = [national.WIDTHS.get(code, 12) for code in headers]
        result = _write(run, params, "national_outcomes", headers, widths, total, rows(streamed), progress, "毕业去向")
    result["incomplete"] = incomplete
    return result

"""Statistics frames and the workbooks built from them (DESIGN.md §6).

Each frame is pandas over ONE SQL query (never a query per school, per student or per row):
`outcome_frame()` has one row per distinct combination of graduate attributes and live outcome
(R6) with `n` graduates in it — the query groups in SQL, so a province's 500,000 graduates arrive
as far fewer rows — and `daily_frame()` one row per local day with the signing activity. Every table on the dashboards and in the workbook is a
`groupby` of those two frames, so the page costs the same few queries whatever the data size.

就业率 (毕业去向落实率) is defined here and only here (`EMPLOYMENT_RATE_NOTE`, `rate()`):
- numerator: graduates whose live outcome the school has confirmed — an agreement 签约审核通过
  (certified; electronic or paper) or an other destination 审核通过 (approved), whatever its MoE
  毕业去向 code (升学 and 出国、出境 count, as in the MoE 毕业去向落实率);
- denominator: every graduate in the filter;
- outcomes still waiting for the school (an accepted agreement 已应约/待鉴证, a submitted
  destination) are live (R6) but not yet counted: the student's own page says "已签约，待学校审核",
  only a certified one says "已就业" (`workflow.employment_status`). They show as 待审核.
- a graduate without a live outcome is 未就业 (MoE code 70 待就业).

Date range: outcomes are counted only when they became live inside the range (certified/approved
at, or accepted/submitted at while waiting); a graduate whose outcome lies outside it counts as
未就业 for that view. Daily activity counts the events of each day in the range.
Times are stored as naive UTC; days are Asia/Shanghai days (UTC+8, no daylight saving).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pandas as pd
from sqlalchemy import Date, and_, case, cast, func, literal, select, union_all

from . import labels, regions, spreadsheets
from .extensions import db
from .models import (
    LIVE_AGREEMENT_STATUSES,
    LIVE_DESTINATION_STATUSES,
    Agreement,
    Destination,
    Employer,
    School,
    Student,
    Termination,
)

EMPLOYMENT_RATE_NOTE = (
    "就业率（毕业去向落实率）= 去向已经学校审核通过的毕业生人数 ÷ 毕业生总人数。"
    "计入的去向：签约审核通过的电子签约、纸质签约，以及审核通过的其他去向（升学、出国出境、自主创业、"
    "自由职业、应征义务兵、基层项目、科研助理等）。已应约待鉴证的协议书和待审核的其他去向单列为“待审核”，"
    "不计入就业率；没有生效去向的毕业生计为未就业（毕业去向代码70 待就业）。"
)
DATE_RANGE_NOTE = "按日期筛选时，只统计在该日期范围内落实（审核通过或待审核提交）的去向，范围外落实的毕业生计为未就业。"

# Outcome kinds in display order: 电子签约, 纸质签约, each 其他去向 kind, 未就业.
OUTCOME_KIND = {"electronic": "电子签约", "paper": "纸质签约", **labels.DESTINATION_KIND, "70": "未就业"}
OUTCOME_MOE_CODE = {"electronic": "10", "paper": "10", **{k: k for k in labels.DESTINATION_KIND}, "70": "70"}

# Column code → Chinese header, one map for the page tables and the workbook.
HEADERS = {
    "school_code": "院校代码", "school_name": "学校名称", "department": "院系", "major": "专业",
    "education": "学历", "gender": "性别", "nature": "单位性质", "province": "工作省份", "city": "工作城市",
    "outcome": "毕业去向", "moe_code": "去向代码", "day": "日期",
    "graduates": "毕业生人数", "employed": "已落实(审核通过)", "pending": "待审核",
    "electronic": "电子签约", "paper": "纸质签约", "other": "其他去向", "unemployed": "未就业",
    "rate": "就业率", "count": "人数", "share": "占比",
    "sent": "发出邀约", "accepted": "应约/录入", "certified": "签约审核通过", "terminated": "解约审核通过",
}
SUMMARY_COLUMNS = ["graduates", "employed", "pending", "electronic", "paper", "other", "unemployed", "rate"]
SIGNED_COLUMNS = ["count", "employed", "pending", "electronic", "paper"]
DAILY_COLUMNS = ["sent", "accepted", "certified", "terminated"]
YEAR_RANGE = (2000, 2100)


# ---------------------------------------------------------------- filters

@dataclass(frozen=True)
class Filters:
    """毕业年度, 学校 (province only; a reviewer's own school is forced by the view), 日期范围."""

    year: int | None = None
    school_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def parse(cls, args, school_id=None):
        """From request args (strings). Returns (filters, errors); bad input is reported, not used."""
        errors = []
        year = _int(args.get("year"))
        if args.get("year") and (year is None or not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]):
            errors.append("毕业年度应为四位年份，如 2026")
            year = None
        if school_id is None:
            school_id = _int(args.get("school_id"))
            if args.get("school_id") and school_id is None:
                errors.append("请选择学校")
        date_from, date_to = _date(args.get("date_from")), _date(args.get("date_to"))
        for key, value, label in (("date_from", date_from, "起始日期"), ("date_to", date_to, "截止日期")):
            if args.get(key) and value is None:
                errors.append(f"{label}格式应为 2026-07-01")
        if date_from and date_to and date_from > date_to:
            errors.append("起始日期不能晚于截止日期")
            date_from = date_to = None
        return cls(year, school_id, date_from, date_to), errors

    def as_params(self):
        """JSON-able (job parameters, audit rows)."""
        out = asdict(self)
        for key in ("date_from", "date_to"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def from_params(cls, params):
        return cls(params.get("year"), params.get("school_id"), _date(params.get("date_from")),
                   _date(params.get("date_to")))

    def describe(self, school_name=None):
        parts = [f"毕业年度 {self.year}" if self.year else "全部毕业年度"]
        if self.school_id:
            parts.append(school_name or f"学校#{self.school_id}")
        if self.date_from or self.date_to:
            parts.append(f"日期 {self.date_from or '…'} 至 {self.date_to or '…'}")
        return "，".join(parts)

    def utc_bounds(self):
        """The date range as naive-UTC [start, end) instants (Asia/Shanghai days)."""
        start = end = None
        if self.date_from:
            start = _utc_midnight(self.date_from)
        if self.date_to:
            end = _utc_midnight(self.date_to + timedelta(days=1))
        return start, end


def _int(value):
    """A number typed into a filter, or None (also beyond the database's integer: no 500)."""
    return labels.parse_id(value)


def _date(value):
    if isinstance(value, date):
        return value
    if not value or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value).strip()):
        return None
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return None


def _utc_midnight(day):
    return datetime.combine(day, time(0), tzinfo=labels.SHANGHAI).astimezone(timezone.utc).replace(tzinfo=None)


def _in_range(column, start, end):
    clauses = []
    if start is not None:
        clauses.append(column >= start)
    if end is not None:
        clauses.append(column < end)
    return and_(*clauses) if clauses else None


# ---------------------------------------------------------------- frame 1: one row per graduate

def _live(start=None, end=None, school_id=None, student_ids=None):
    """The live agreements (a) and destinations (d) — R6: at most one of either per graduate —
    as subqueries, and the agreement's work place to the city (xxyy00): tables go no deeper, and
    the grouping stays small. A 省直辖 county-level unit (GB/T 2260 xx90xx: 仙桃 429004) counts as
    its own city, so it keeps its code. `start`/`end`: only outcomes that became live in the range;
    `student_ids`: only these graduates' (the statistics summary recomputing a few of them — without
    it PostgreSQL joined the few graduates to every live agreement of the province: 1,000 in 2 s)."""
    a_at = case((Agreement.status == "certified", Agreement.certified_at), else_=Agreement.accepted_at)
    a_where = [Agreement.status.in_(LIVE_AGREEMENT_STATUSES)]
    d_at = case((Destination.status == "approved", Destination.reviewed_at), else_=Destination.created_at)
    d_where = [Destination.status.in_(LIVE_DESTINATION_STATUSES)]
    if school_id:
        a_where.append(Agreement.school_id == school_id)
        d_where.append(Destination.school_id == school_id)
    if student_ids is not None:
        a_where.append(Agreement.student_id.in_(list(student_ids)))
        d_where.append(Destination.student_id.in_(list(student_ids)))
    if _in_range(a_at, start, end) is not None:
        a_where.append(_in_range(a_at, start, end))
        d_where.append(_in_range(d_at, start, end))
    a = select(
        Agreement.student_id, Agreement.kind, Agreement.status, Agreement.work_region,
        Agreement.employer_credit_code, a_at.label("at"),
    ).where(*a_where).subquery("a")
    d = select(Destination.student_id, Destination.kind, Destination.status, d_at.label("at")
               ).where(*d_where).subquery("d")
    work_city = case((func.substr(a.c.work_region, 3, 2) == "90", a.c.work_region),
                     else_=func.substr(a.c.work_region, 1, 4) + "00")
    return a, d, work_city


def outcome_query(f: Filters):
    """One SELECT: every graduate in the filter with its live outcome (R6: at most one)."""
    start, end = f.utc_bounds()
    a, d, work_city = _live(start, end, f.school_id)
    dims = (
        Student.school_id, School.code.label("school_code"), School.name.label("school_name"),
        Student.department, Student.major, Student.education, Student.gender, a.c.kind.label("a_kind"),
        a.c.status.label("a_status"), work_city.label("work_region"),
        Employer.nature, d.c.kind.label("d_kind"),
        d.c.status.label("d_status"),
    )
    q = (
        select(*dims, func.count().label("n"))
        .join(School, School.id == Student.school_id)
        .outerjoin(a, a.c.student_id == Student.id)
        # Paper agreements have no employer_id (R13): the employer is found by its credit code.
        .outerjoin(Employer, Employer.credit_code == a.c.employer_credit_code)
        .outerjoin(d, d.c.student_id == Student.id)
    )
    if f.year:
        q = q.where(Student.graduation_year == f.year)
    if f.school_id:
        q = q.where(Student.school_id == f.school_id)
    return q.group_by(*[c.element if hasattr(c, "element") else c for c in dims])


def graduate_cells(student_ids=None):
    """Per graduate, not grouped: (student_id, *STATS_DIMENSIONS) with '' where there is none —
    the rows of the statistics summary (app.summary), the same outcome as `outcome_query`; every
    graduate, or those of `student_ids`."""
    a, d, work_city = _live(student_ids=student_ids)

    def text(column):
        return func.coalesce(column, literal(""))

    return (select(Student.id.label("student_id"), Student.graduation_year, Student.school_id,
                   text(Student.department), text(Student.major), text(Student.education), text(Student.gender),
                   text(a.c.kind), text(a.c.status), text(work_city), text(Employer.nature), text(d.c.kind),
                   text(d.c.status))
            .select_from(Student)
            .outerjoin(a, a.c.student_id == Student.id)
            .outerjoin(Employer, Employer.credit_code == a.c.employer_credit_code)
            .outerjoin(d, d.c.student_id == Student.id)
            .where(*([Student.id.in_(list(student_ids))] if student_ids is not None else [])))


def outcome_frame(f: Filters) -> pd.DataFrame:
    result = db.session.execute(outcome_query(f))
    df = pd.DataFrame.from_records(result.all(), columns=list(result.keys()))
    return derive(df)


def derive(df: pd.DataFrame) -> pd.DataFrame:
    """Outcome columns from the grouped rows, vectorised. Each indicator column holds the number
    of graduates of the row it applies to (its 0/1 flag × `n`), so every table is a plain sum.
    R6 holds in the database (one live agreement, one live destination, and never both: the
    workflow serialises them per student); a row with both counts as the agreement."""
    if df.empty:
        df = pd.DataFrame(columns=["school_id", "school_code", "school_name", "department", "major",
                                   "education", "gender", "a_kind", "a_status", "work_region", "nature", "d_kind",
                                   "d_status", "n"])
    df = df.reset_index(drop=True)
    n = df["n"].to_numpy(dtype=np.int64)
    has_a = df["a_status"].notna().to_numpy(dtype=bool)
    has_d = df["d_status"].notna().to_numpy(dtype=bool) & ~has_a
    a_kind = df["a_kind"].to_numpy(dtype=object)
    d_kind = df["d_kind"].to_numpy(dtype=object)
    outcome = np.where(has_a, a_kind, np.where(has_d, d_kind, "70"))
    confirmed = (has_a & (df["a_status"].to_numpy(dtype=object) == "certified")) | (
        has_d & (df["d_status"].to_numpy(dtype=object) == "approved"))
    df["outcome_code"] = outcome
    df["outcome"] = pd.Series(outcome, dtype=object).map(lambda c: OUTCOME_KIND.get(c, c))
    df["moe_code"] = pd.Series(outcome, dtype=object).map(lambda c: OUTCOME_MOE_CODE.get(c, c))
    df["employed"] = confirmed.astype(np.int64) * n
    df["pending"] = ((has_a | has_d) & ~confirmed).astype(np.int64) * n
    df["electronic"] = (has_a & (a_kind == "electronic")).astype(np.int64) * n
    df["paper"] = (has_a & (a_kind == "paper")).astype(np.int64) * n
    df["other"] = has_d.astype(np.int64) * n
    df["unemployed"] = (~has_a & ~has_d).astype(np.int64) * n
    df["signed"] = has_a.astype(np.int64) * n
    df["nature"] = df["nature"].map(lambda c: labels.EMPLOYER_NATURE.get(c, c) if isinstance(c, str) else "未登记")
    codes = df["work_region"].where(pd.Series(has_a)).astype(object)
    df["province"] = _region_names(codes, province=True)
    df["city"] = _region_names(codes, province=False)
    for col in ("department", "major", "education", "gender"):
        df[col] = df[col].fillna("").replace("", "未填写")
    return df


def _region_names(codes: pd.Series, province):
    """GB/T 2260 code → province (湖北省) or city (武汉市; a municipality's own name, 北京市; a
    省直辖 unit's own, 仙桃市), looked up once per distinct code."""
    names = {}
    for code in codes.dropna().unique():
        place = regions.province_and_city(str(code))
        names[str(code)] = place[0 if province else 1] if place else "未知"
    return codes.map(lambda c: names.get(str(c), "未知") if isinstance(c, str) else None)


# ---------------------------------------------------------------- groupings

def rate(employed, graduates):
    """The one 就业率 formula (see the module docstring): confirmed outcomes ÷ graduates."""
    if isinstance(graduates, pd.Series):
        return (employed.astype(float) / graduates.where(graduates > 0).astype(float)).fillna(0.0)
    return employed / graduates if graduates else 0.0


def summary(df: pd.DataFrame) -> dict:
    """The headline numbers (汇总)."""
    out = {k: int(df[k].sum()) for k in ("employed", "pending", "electronic", "paper", "other", "unemployed")}
    out["graduates"] = int(df["n"].sum())
    out["rate"] = float(rate(out["employed"], out["graduates"]))
    return out


def by(df: pd.DataFrame, keys) -> pd.DataFrame:
    """Graduates and outcomes grouped by `keys` (columns of the outcome frame), with 就业率."""
    keys = [keys] if isinstance(keys, str) else list(keys)
    if df.empty:
        return pd.DataFrame(columns=keys + SUMMARY_COLUMNS)
    out = (df.groupby(keys, sort=True, dropna=False)
           .agg(graduates=("n", "sum"), employed=("employed", "sum"), pending=("pending", "sum"),
                electronic=("electronic", "sum"), paper=("paper", "sum"), other=("other", "sum"),
                unemployed=("unemployed", "sum"))
           .reset_index())
    out["rate"] = rate(out["employed"], out["graduates"]).to_numpy()
    return out[keys + SUMMARY_COLUMNS]


def by_signed(df: pd.DataFrame, keys) -> pd.DataFrame:
    """Agreements (电子 + 纸质, live) grouped by an employer/work-place column: 单位性质, 地区."""
    keys = [keys] if isinstance(keys, str) else list(keys)
    signed = df[df["signed"] > 0]
    if signed.empty:
        return pd.DataFrame(columns=keys + SIGNED_COLUMNS)
    out = (signed.groupby(keys, sort=True, dropna=False)
           .agg(count=("n", "sum"), employed=("employed", "sum"), pending=("pending", "sum"),
                electronic=("electronic", "sum"), paper=("paper", "sum"))
           .reset_index().sort_values("count", ascending=False, kind="stable"))
    return out[keys + SIGNED_COLUMNS]


def by_outcome(df: pd.DataFrame) -> pd.DataFrame:
    """Every outcome kind (电子签约, 纸质签约, each 其他去向, 未就业), zero rows included."""
    counts = df.groupby("outcome_code").agg(count=("n", "sum"), employed=("employed", "sum"),
                                             pending=("pending", "sum")) if not df.empty else None
    rows = []
    total = int(df["n"].sum()) if not df.empty else 0
    for code, name in OUTCOME_KIND.items():
        c = counts.loc[code] if counts is not None and code in counts.index else None
        n = int(c["count"]) if c is not None else 0
        rows.append({"outcome": name, "moe_code": OUTCOME_MOE_CODE[code], "count": n,
                     "employed": int(c["employed"]) if c is not None else 0,
                     "pending": int(c["pending"]) if c is not None else 0,
                     "share": n / total if total else 0.0})
    return pd.DataFrame(rows, columns=["outcome", "moe_code", "count", "employed", "pending", "share"])


# ---------------------------------------------------------------- frame 2: activity per day

def _local_day(column):
    """Naive UTC → Asia/Shanghai calendar day, in SQL (fixed +8 h: China has no DST)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(column + timedelta(hours=8), Date)
    return func.date(column, "+8 hours")


def daily_query(f: Filters):
    """One SELECT (UNION ALL of four grouped parts): offers sent, accepted (or paper recorded),
    certified, terminations approved — per local day."""
    start, end = f.utc_bounds()

    def part(name, model, column, *where):
        day = _local_day(column)
        q = select(day.label("day"), literal(name).label("event"), func.count().label("n")).select_from(model)
        conds = [column.isnot(None), *where]
        if f.year:
            q = q.join(Student, Student.id == model.student_id)
            conds.append(Student.graduation_year == f.year)
        if f.school_id:
            conds.append(model.school_id == f.school_id)
        rng = _in_range(column, start, end)
        if rng is not None:
            conds.append(rng)
        return q.where(*conds).group_by(day)

    return union_all(
        part("sent", Agreement, Agreement.sent_at, Agreement.kind == "electronic"),
        part("accepted", Agreement, Agreement.accepted_at),
        part("certified", Agreement, Agreement.certified_at),
        part("terminated", Termination, Termination.reviewed_at, Termination.status == "approved"),
    )


def daily_frame(f: Filters) -> pd.DataFrame:
    return pivot_days(db.session.execute(daily_query(f)).all())


def pivot_days(rows):
    """(day, event, n) rows → one row per day with a column per DAILY_COLUMNS event."""
    if not rows:
        return pd.DataFrame(columns=["day"] + DAILY_COLUMNS)
    df = pd.DataFrame.from_records(rows, columns=["day", "event", "n"])
    df["day"] = df["day"].map(lambda d: d if isinstance(d, str) else d.isoformat())
    out = (df.pivot_table(index="day", columns="event", values="n", aggfunc="sum", fill_value=0)
           .reindex(columns=DAILY_COLUMNS, fill_value=0).reset_index().sort_values("day"))
    out.columns.name = None
    for col in DAILY_COLUMNS:
        out[col] = out[col].astype(int)
    return out[["day"] + DAILY_COLUMNS]


# ---------------------------------------------------------------- everything a dashboard shows

def _concurrently(func, *args):
    """On PostgreSQL, func(*args) in a thread with its own app context (so its own session and
    connection): a dashboard's two year-wide queries then run on two database cores at once
    (province scale: 6.1 → 5.0 s). Elsewhere (SQLite) simply now. Returns a zero-argument getter."""
    if db.engine.dialect.name != "postgresql":
        result = func(*args)
        return lambda: result
    from concurrent.futures import ThreadPoolExecutor

    from flask import current_app

    app = current_app._get_current_object()

    def run():
        with app.app_context():
            return func(*args)

    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(run)
    pool.shutdown(wait=False)
    return future.result


def dashboard(f: Filters) -> dict:
    """All tables of the statistics page from the two frames, read live from the base tables (two
    queries in all; the dashboards read the summary instead, app.summary.dashboard)."""
    daily = _concurrently(daily_frame, f)
    return tables(outcome_frame(f), daily())


def tables(df: pd.DataFrame, daily: pd.DataFrame) -> dict:
    """The statistics page's tables from an outcome frame and a daily frame."""
    return {
        "summary": summary(df),
        "by_school": by(df, ["school_id", "school_code", "school_name"]),
        "by_department": by(df, ["school_name", "department"]),
        "by_major": by(df, ["school_name", "department", "major"]),
        "by_education": _ordered(by(df, "education"), "education", labels.EDUCATION),
        "by_gender": _ordered(by(df, "gender"), "gender", labels.GENDER),
        "by_nature": by_signed(df, "nature"),
        "by_province": by_signed(df, "province"),
        "by_city": by_signed(df, ["province", "city"]),
        "by_outcome": by_outcome(df),
        "daily": daily,
    }


def dashboard_cached(f: Filters):
    """dashboard(f) and when it was computed (naive UTC), kept per process for
    STATS_CACHE_SECONDS (300 s) per filter set: at province scale one computation reads the
    year's 500,000 graduates (3–6 s); province staff moving between the home page, filters and
    back get the same figures at once, and the page says how old they are. 0: always fresh."""
    from . import caching
    from .models import utcnow

    return caching.remembered("stats_cache", "STATS_CACHE_SECONDS", 300, f, lambda: (dashboard(f), utcnow()),
                              maxsize=64)


def _ordered(table, column, order):
    rank = {v: i for i, v in enumerate(order)}
    return table.sort_values(column, key=lambda s: s.map(lambda v: rank.get(v, len(rank))), kind="stable")


def records(table: pd.DataFrame):
    """Rows as dicts for templates (numpy ints → Python ints)."""
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in table.to_dict("records")]


# ---------------------------------------------------------------- the statistics workbook

def _formats(columns):
    out = {}
    for i, c in enumerate(columns):
        if c in ("rate", "share"):
            out[i] = spreadsheets.PERCENT
        elif c in SUMMARY_COLUMNS + SIGNED_COLUMNS + DAILY_COLUMNS:
            out[i] = spreadsheets.INTEGER
    return out


# Sheet name → (table key, columns); 汇总 is built separately.
WORKBOOK_SHEETS = [
    ("按学校", "by_school", ["school_code", "school_name"] + SUMMARY_COLUMNS),
    ("按院系", "by_department", ["school_name", "department"] + SUMMARY_COLUMNS),
    ("按专业", "by_major", ["school_name", "department", "major"] + SUMMARY_COLUMNS),
    ("按学历", "by_education", ["education"] + SUMMARY_COLUMNS),
    ("按性别", "by_gender", ["gender"] + SUMMARY_COLUMNS),
    ("按单位性质", "by_nature", ["nature"] + SIGNED_COLUMNS),
    ("按地区", "by_city", ["province", "city"] + SIGNED_COLUMNS),
    ("按去向", "by_outcome", ["moe_code", "outcome", "count", "employed", "pending", "share"]),
    ("每日签约", "daily", ["day"] + DAILY_COLUMNS),
]
WIDE = {"school_name": 28, "department": 22, "major": 24, "nature": 16, "province": 16, "city": 22,
        "outcome": 20, "day": 12}


def header_of(key, column):
    if column == "count" and key in ("by_nature", "by_city", "by_province"):
        return "签约人数"
    return MARKET_HEADERS[column] if column in MARKET_HEADERS else HEADERS[column]


def statistics_workbook(data: dict, f: Filters, scope_text=""):
    """The multi-sheet statistics workbook (aggregates only, small) of `data` (the tables of
    `tables`, for the filter `f`): an openpyxl Workbook."""
    wb = spreadsheets.new_workbook()
    s = data["summary"]
    sheet = spreadsheets.SheetWriter(wb, "汇总", ["项目", "数值"], widths=[20, 90])
    for name, value, fmt in [
        ("统计范围", scope_text or f.describe(), None),
        ("毕业生人数", s["graduates"], spreadsheets.INTEGER), ("已落实(审核通过)", s["employed"], spreadsheets.INTEGER),
        ("待审核", s["pending"], spreadsheets.INTEGER), ("电子签约", s["electronic"], spreadsheets.INTEGER),
        ("纸质签约", s["paper"], spreadsheets.INTEGER), ("其他去向", s["other"], spreadsheets.INTEGER),
        ("未就业", s["unemployed"], spreadsheets.INTEGER), ("就业率", s["rate"], spreadsheets.PERCENT),
        ("口径说明", EMPLOYMENT_RATE_NOTE, None), ("日期筛选", DATE_RANGE_NOTE, None),
        ("导出时间", labels.fmt_datetime(datetime.now(timezone.utc)), None),
    ]:
        sheet.formats = {1: fmt} if fmt else {}
        sheet.append([name, value])
    market = market_tables(f)
    sheets = WORKBOOK_SHEETS + [("招聘求职-按学校", "market_by_school", ["school_name"] + MARKET_COLUMNS),
                                ("招聘求职-按职位类别", "market_by_category", ["job_category"] + MARKET_COLUMNS)]
    data = {**data, "market_by_school": market["by_school"], "market_by_category": market["by_category"]}
    for title, key, columns in sheets:
        table = data[key]
        sheet = spreadsheets.SheetWriter(wb, title, [header_of(key, c) for c in columns],
                            widths=[WIDE.get(c, 12) for c in columns], formats=_formats(columns))
        for values in table[columns].itertuples(index=False, name=None):
            sheet.append(values)
    return wb


# ---------------------------------------------------------------- 网上就业市场 (issue 19)

MARKET_COLUMNS = ["applications", "offered", "offer_certified"]
MARKET_HEADERS = {"applications": "投递人次", "offered": "已发邀约", "offer_certified": "邀约后签约审核通过",
                  "postings": "职位数", "headcount": "招聘人数", "region": "工作地点", "job_category": "职位类别"}


def market_frame(f: Filters) -> pd.DataFrame:
    """Applications of the filter's graduates (毕业年度, 学校) grouped by school, 院系, the posting's
    city and 职位类别, with the offers that started from an application and those certified.
    ONE grouped SELECT; a page of its own (数据统计 → 招聘求职统计), so the dashboards stay on
    the summary."""
    from .models import JobApplication, JobPosting

    q = (select(Student.school_id, School.name.label("school_name"), Student.department,
                JobPosting.city_code.label("region"), JobPosting.job_category,
                func.count().label("applications"),
                func.count(JobApplication.agreement_id).label("offered"),
                func.sum(case((Agreement.status == "certified", 1), else_=0)).label("offer_certified"))
         .select_from(JobApplication)
         .join(Student, Student.id == JobApplication.student_id)
         .join(School, School.id == Student.school_id)
         .join(JobPosting, JobPosting.id == JobApplication.posting_id)
         .outerjoin(Agreement, Agreement.id == JobApplication.agreement_id)
         .group_by(Student.school_id, School.name, Student.department, JobPosting.city_code, JobPosting.job_category))
    if f.year:
        q = q.where(Student.graduation_year == f.year)
    if f.school_id:
        q = q.where(Student.school_id == f.school_id)
    result = db.session.execute(q)
    df = pd.DataFrame.from_records(result.all(), columns=list(result.keys()))
    if df.empty:
        df = pd.DataFrame(columns=["school_id", "school_name", "department", "region", "job_category"]
                          + MARKET_COLUMNS)
    for column in MARKET_COLUMNS:
        df[column] = df[column].fillna(0).astype(int)
    df["region"] = _region_names(df["region"].astype(object), province=False) if len(df) else df["region"]
    df["department"] = df["department"].fillna("").replace("", "未填写")
    return df


def market_tables(f: Filters) -> dict:
    """招聘求职统计: totals, and the applications by 学校, 院系, 工作地点 and 职位类别; the postings
    (province-wide: a posting belongs to no school) by 职位类别 and status."""
    from .models import JobApplication, JobPosting

    df = market_frame(f)

    def grouped(keys):
        if df.empty:
            return pd.DataFrame(columns=keys + MARKET_COLUMNS)
        return (df.groupby(keys, sort=True, dropna=False)[MARKET_COLUMNS].sum().reset_index()
                .sort_values("applications", ascending=False, kind="stable"))

    applicants = select(func.count(func.distinct(JobApplication.student_id))).join(
        Student, Student.id == JobApplication.student_id)
    if f.year:
        applicants = applicants.where(Student.graduation_year == f.year)
    if f.school_id:
        applicants = applicants.where(Student.school_id == f.school_id)
    postings = db.session.execute(
        select(JobPosting.status, func.count(), func.coalesce(func.sum(JobPosting.headcount), 0))
        .group_by(JobPosting.status)).all()
    by_category = db.session.execute(
        select(JobPosting.job_category, func.count(), func.coalesce(func.sum(JobPosting.headcount), 0))
        .where(JobPosting.status != "draft").group_by(JobPosting.job_category)
        .order_by(func.count().desc())).all()
    return {
        "summary": {"applications": int(df["applications"].sum()), "offered": int(df["offered"].sum()),
                    "offer_certified": int(df["offer_certified"].sum()),
                    "applicants": db.session.scalar(applicants) or 0,
                    "postings": {labels.POSTING_STATUS.get(s, s): (n, h) for s, n, h in postings}},
        "by_school": grouped(["school_id", "school_name"]),
        "by_department": grouped(["school_name", "department"]),
        "by_region": grouped(["region"]),
        "by_category": grouped(["job_category"]),
        "postings_by_category": pd.DataFrame.from_records(by_category, columns=["job_category", "postings",
                                                                                "headcount"]),
    }

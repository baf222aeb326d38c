"""毕业去向 data in the national layout (issue 26; docs/national-formats.md): one row per graduate
with the national column codes and code values, from the live, confirmed outcome — a certified
agreement (毕业去向 10, the employer's 单位性质 / 单位行业 / 所在地 and the 工作职位类别), an approved
其他去向 (its code and, where the kind has one, its unit), else 70 待就业. An agreement still
waiting for the school, or a destination not yet approved, is not an outcome the province reports.

`query(f)` is ONE SELECT over the graduates in the filter; `coded(row)` turns a row into the
national values. `problems(f)` lists the graduates whose row cannot be fully coded (an employer
without 单位性质 or 单位行业, a paper agreement's employer not registered, a 工作职位类别 outside
the national table), so the person exporting can have them fixed first.
"""
import json

from sqlalchemy import and_, func, or_, select

from . import codes
from .extensions import db
from .models import Agreement, Destination, Employer, School, Student

# (column code, Chinese name): the header row is the codes, as the national tools read them.
COLUMNS = [
    ("yxdm", "院校代码"), ("yxmc", "院校名称"), ("xh", "学号"), ("ksh", "考生号"), ("xm", "姓名"),
    ("sfzh", "身份证号"), ("xbdm", "性别代码"), ("mzdm", "民族代码"), ("zzmmdm", "政治面貌代码"),
    ("xldm", "学历代码"), ("zydm", "专业代码"), ("zymc", "专业名称"), ("fy", "院系"), ("pyfsdm", "培养方式代码"),
    ("syszddm", "生源所在地代码"), ("bynf", "毕业年份"), ("byqxdm", "毕业去向代码"), ("byqx", "毕业去向"),
    ("dwmc", "单位名称"), ("tyshxydm", "统一社会信用代码"), ("dwxzdm", "单位性质代码"), ("dwhydm", "单位行业代码"),
    ("dwszddm", "单位所在地代码"), ("gzzwlbdm", "工作职位类别代码"),
]
WIDTHS = {"yxmc": 24, "sfzh": 21, "dwmc": 30, "tyshxydm": 21, "byqx": 18, "zymc": 20, "fy": 20, "ksh": 16, "xh": 14}

_GENDER = {label: code for code, label in codes.table("gender").items()}
_EDUCATION = {label: code for code, label in codes.table("education").items()}
_TRAINING = {"non_targeted": codes.code_of("training_mode", "非定向"), "targeted": codes.code_of("training_mode", "定向")}
_JOB = {label: code for code, label in codes.table("job_category").items()}
_OUTCOME = codes.table("outcome")
# The unit of a 其他去向, by kind: its name, credit code and place among the kind's details.
_UNIT_NAME = ("company", "institution", "school")


def query(f):
    """Every graduate in the filter (毕业年度, 学校) with the certified agreement or approved
    destination (R6: at most one live outcome) and the agreement's employer."""
    a = (select(Agreement.id, Agreement.student_id, Agreement.employer_name, Agreement.employer_credit_code,
                Agreement.job_category)
         .where(Agreement.status == "certified").subquery("a"))
    d = (select(Destination.id, Destination.student_id, Destination.kind, Destination.details)
         .where(Destination.status == "approved").subquery("d"))
    q = (
        select(School.code, School.name, Student.student_no, Student.exam_no, Student.name, Student.id_number,
               Student.gender, Student.ethnicity, Student.political, Student.education, Student.major_code,
               Student.major, Student.department, Student.training_mode, Student.origin_region,
               Student.graduation_year, a.c.id, a.c.employer_name, a.c.employer_credit_code, a.c.job_category,
               Employer.id, Employer.nature, Employer.industry, Employer.region, d.c.kind, d.c.details)
        .select_from(Student)
        .join(School, School.id == Student.school_id)
        .outerjoin(a, a.c.student_id == Student.id)
        # paper agreements have no employer_id (R13): the employer is found by its credit code
        .outerjoin(Employer, Employer.credit_code == a.c.employer_credit_code)
        .outerjoin(d, and_(d.c.student_id == Student.id, a.c.student_id.is_(None)))
        .order_by(School.code, Student.student_no)
    )
    if f.year:
        q = q.where(Student.graduation_year == f.year)
    if f.school_id:
        q = q.where(Student.school_id == f.school_id)
    return q


def coded(row):
    """(values in COLUMNS order, [problem, ...]) for one row of `query`."""
    (school_code, school_name, no, exam_no, name, id_number, gender, ethnicity, political, education, major_code,
     major, department, training, origin, year, agreement_id, ename, ecode, job, employer_id, nature, industry, eregion,
     d_kind, d_details) = row
    problems = []
    unit = ["", "", "", "", "", ""]  # dwmc, tyshxydm, dwxzdm, dwhydm, dwszddm, gzzwlbdm
    if agreement_id is not None:
        outcome = "10"
        job_code = _JOB.get(job)
        problems = _agreement_problems(job, employer_id, nature, industry)
        unit = [ename, ecode, nature or "", industry or "", eregion or "", job_code or ""]
    elif d_kind is not None:
        outcome = d_kind
        details = _details(d_details)
        unit = [next((details[k] for k in _UNIT_NAME if details.get(k)), ""), details.get("credit_code", ""),
                "", "", details.get("region", ""), ""]
    else:
        outcome = "70"
    values = [school_code, school_name, no, exam_no or "", name, id_number, _GENDER.get(gender, ""),
              ethnicity or "", political or "", _EDUCATION.get(education, ""), major_code or "", major, department,
              _TRAINING.get(training, ""), origin or "", year, outcome, _OUTCOME.get(outcome, ""), *unit]
    return values, problems


def _agreement_problems(job, employer_id, nature, industry):
    """Why a certified agreement's row cannot be fully coded (empty: it can)."""
    found = []
    if employer_id is None:
        found.append("签约单位未在系统注册，缺少单位性质、单位行业和所在地")
    else:
        if not nature:
            found.append("签约单位缺少单位性质")
        if not industry:
            found.append("签约单位缺少单位行业")
    if job not in _JOB:
        found.append(f"工作职位类别“{job}”不在全国代码表中")
    return found


def _details(text):
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def problems(f, limit=200):
    """(count, [(school name, 学号, 姓名, agreement id, [problem, ...])] up to `limit`): the graduates
    whose certified agreement cannot be fully coded — found in SQL, so the check is quick at
    province scale (the rest of a row always codes: the roster's values are checked on entry)."""
    q = (select(School.name, Student.student_no, Student.name, Agreement.id, Agreement.job_category,
                Employer.id, Employer.nature, Employer.industry)
         .select_from(Agreement)
         .join(Student, Student.id == Agreement.student_id)
         .join(School, School.id == Student.school_id)
         .outerjoin(Employer, Employer.credit_code == Agreement.employer_credit_code)
         .where(Agreement.status == "certified",
                or_(Employer.id.is_(None), Employer.nature.is_(None), Employer.nature == "",
                    Employer.industry.is_(None), Employer.industry == "",
                    Agreement.job_category.not_in(list(_JOB)))))
    if f.year:
        q = q.where(Student.graduation_year == f.year)
    if f.school_id:
        q = q.where(Student.school_id == f.school_id)
    count = db.session.scalar(select(func.count()).select_from(q.subquery()))
    out = []
    for school, no, name, agreement_id, job, employer_id, nature, industry in db.session.execute(
            q.order_by(School.code, Student.student_no).limit(limit)):
        found = _agreement_problems(job, employer_id, nature, industry)
        out.append((school, no, name, agreement_id, found))
    return count, out


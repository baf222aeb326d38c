"""Demo world of DESIGN.md §8 (`flask demo seed`; `make run` prints the logins).

Idempotent: every row is looked up by its natural key first (school code, school + 学号,
统一社会信用代码, username, employer + school for approvals, employer + student for offers),
so a second run finds everything and changes nothing.

Offers are made only through `app.workflow` (invite/accept/reject/certify/decline/expire_due)
with explicit `now=` times in the past, so the cooling-off (R5) has passed and every status of
§3 except `terminated` appears with a complete FlowEvent history and notifications.

Logins (all share DEMO_PASSWORD):
- admin 系统管理员, province 省就业中心
- school-<院校代码> 学校就业部门 reviewer of that school (school-10486, school-10487)
- emp-guanggu, emp-changjiang, emp-donghu 用人单位
- students: "<院校代码>-<学号>", e.g. 10486-2023301010001
"""
from datetime import date, datetime, timedelta, timezone

import click
from flask import current_app
from sqlalchemy import func, select
from stdnum.cn import ric, uscc

from . import accounts, labels, passwords, regions, uploads, workflow
from .extensions import db
from .models import (
    Agreement,
    Destination,
    Employer,
    EmployerApproval,
    InviteListEntry,
    JobApplication,
    JobPosting,
    PostingHide,
    School,
    Student,
    Termination,
)
from .roles import ROLE_ADMIN, ROLE_EMPLOYER, ROLE_LABELS, ROLE_PROVINCE, ROLE_SCHOOL, ROLE_STUDENT

DEMO_PASSWORD = "Demo2026!a"
EMAIL_DOMAIN = "example.com"  # reserved domain (RFC 2606): demo mail goes nowhere

SCHOOLS = [
    {
        "code": "10486", "name": "武汉大学", "reviewer": "王老师",
        "address": "湖北省武汉市武昌区八一路299号",
        "departments": [
            ("计算机学院", ["计算机科学与技术", "软件工程"]),
            ("经济与管理学院", ["金融学", "会计学"]),
            ("法学院", ["法学"]),
            ("化学与分子科学学院", ["化学", "应用化学"]),
        ],
    },
    {
        "code": "10487", "name": "华中科技大学", "reviewer": "李老师",
        "address": "湖北省武汉市洪山区珞喻路1037号",
        "departments": [
            ("机械科学与工程学院", ["机械设计制造及其自动化", "工业设计"]),
            ("电气与电子工程学院", ["电气工程及其自动化"]),
            ("光学与电子信息学院", ["光电信息科学与工程", "电子信息工程"]),
        ],
    },
]
SIGNABLE_PER_SCHOOL = 40  # students 0..9 and 12..19 get offers/outcomes below; 10, 11, 20.. have none
# One student per R7 reason, each blocked by exactly that reason.
BLOCKED = [
    ("9001", "限制签约", {"signing_restricted": True}),
    ("9002", "定向培养", {"training_mode": "targeted"}),
    ("9003", "已提交就业方案", {"plan_submitted": True}),
    ("9004", "未完成信息验证", {"verified_at": None}),
]

EMPLOYERS = [
    {
        "key": "guanggu", "username": "emp-guanggu", "name": "武汉光谷云帆信息技术有限公司",
        "body": "91420111", "org": "MA4K2Q7P", "nature": "39", "industry": "I", "region": "420111",
        "contact_name": "陈敏", "contact_phone": "027-87654321", "address": "武汉市洪山区关山大道1号",
        "archive_mode": "forward", "archive_unit": "武汉市人才服务中心", "archive_address": "武汉市江岸区沿江大道136号",
        "archive_postcode": "430014", "archive_contact": "周老师", "archive_phone": "027-82801234",
        "hukou_mode": "employer", "hukou_address": "武汉市洪山区关山大道1号",
        "approved_by": ["10486"], "pending_at": [],
    },
    {
        "key": "changjiang", "username": "emp-changjiang", "name": "湖北长江路桥建设集团有限公司",
        "body": "91420102", "org": "30001234", "nature": "31", "industry": "E", "region": "420102",
        "contact_name": "刘洋", "contact_phone": "13871234567", "address": "武汉市江岸区解放大道1688号",
        "archive_mode": "employer", "archive_unit": "湖北长江路桥建设集团有限公司人力资源部",
        "archive_address": "武汉市江岸区解放大道1688号", "archive_postcode": "430010",
        "archive_contact": "刘洋", "archive_phone": "13871234567",
        "hukou_mode": "employer", "hukou_address": "武汉市江岸区解放大道1688号",
        "approved_by": ["10487"], "pending_at": [],
    },
    {
        "key": "donghu", "username": "emp-donghu", "name": "武汉东湖生物医药研究院",
        "body": "12420106", "org": "MB1C5E8R", "nature": "20", "industry": "M", "region": "420106",
        "contact_name": "张静", "contact_phone": "027-68751234", "address": "武汉市武昌区东湖路169号",
        "archive_mode": "none", "hukou_mode": "none",
        "approved_by": [], "pending_at": ["10486"],
    },
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN_M = ["伟", "强", "磊", "洋", "勇", "军", "杰", "涛", "斌", "超", "明", "浩然", "子轩", "宇航", "俊杰", "志强", "建华", "文博"]
GIVEN_F = ["芳", "娜", "敏", "静", "丽", "婷", "雪", "琳", "欣怡", "梓涵", "诗雨", "雨桐", "佳怡", "思源", "晓雯", "婉清", "若曦", "雅琪"]
# GB/T 2260 county codes in force for the birth years used (checked by stdnum's cn.ric).
BIRTH_PLACES = ["420102", "420111", "420106", "420502", "420602", "421002", "430104", "411302", "360102", "500103"]
EDUCATION_CYCLE = ["本科生毕业"] * 5 + ["硕士生毕业", "硕士生毕业", "博士生毕业", "专科生毕业", "本科生毕业"]
AGE_AT_GRADUATION = {"博士生毕业": 28, "硕士生毕业": 25, "本科生毕业": 22, "专科生毕业": 21}


# ---------------------------------------------------------------- number generators

def id_number(region, birth, seq, male):
    """A valid 18-digit 居民身份证号 (cn.ric): the sequence's last digit is odd for men."""
    seq = seq % 500 * 2 + (1 if male else 0)
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    number = body + ric.calc_check_digit(body + "0")
    return ric.validate(number)


def _org_code_check(org8):
    """GB 11714 check character of the 9-character organisation code."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    total = sum(alphabet.index(c) * w for c, w in zip(org8, (3, 7, 9, 10, 5, 8, 4, 2)))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def credit_code(body, org8):
    """A valid 统一社会信用代码 (cn.uscc): registration body + region + org code + check."""
    head = body + org8 + _org_code_check(org8)
    return uscc.validate(head + uscc.calc_check_digit(head))


def graduation_year(today=None):
    """The class that is signing now: from September on, next summer's graduates."""
    today = today or labels.today_local()
    return today.year + (1 if today.month >= 9 else 0)


# ---------------------------------------------------------------- helpers

def _get_or_add(model, lookup, **values):
    row = db.session.scalar(select(model).filter_by(**lookup))
    if row is None:
        row = model(**lookup, **values)
        db.session.add(row)
        db.session.flush()
    return row


_hash_cache = {}


def _login(party, username, name, role):
    """One login (accounts.new_login), linked to its party; left alone when it exists."""
    user = current_app.appbuilder.sm.find_user(username=username)
    if user:
        return user
    method = current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt")
    if method not in _hash_cache:  # hash once: scrypt per account would take seconds
        _hash_cache[method] = passwords.password_hash(DEMO_PASSWORD)
    return accounts.new_login(party, username, name, f"{username}@{EMAIL_DOMAIN}", DEMO_PASSWORD, role,
                              hashed=_hash_cache[method], commit=True)


# ---------------------------------------------------------------- the world

def _students(school, spec, year):
    """30 students who may sign plus one blocked student per R7 reason."""
    offset = 0 if school.code == "10486" else 7
    verified = datetime(year - 1, 9, 15, 2, 0)
    students = []
    majors = [(d, m) for d, ms in spec["departments"] for m in ms]
    rows = [(f"{i + 1:04d}", None, {}) for i in range(SIGNABLE_PER_SCHOOL)] + BLOCKED
    for i, (suffix, blocked_label, blocked_values) in enumerate(rows):
        dept_index = i % len(spec["departments"])
        department = spec["departments"][dept_index][0]
        dept_majors = [m for d, m in majors if d == department]
        major = dept_majors[(i // len(spec["departments"])) % len(dept_majors)]
        education = EDUCATION_CYCLE[(i + offset) % len(EDUCATION_CYCLE)]
        entry = year - {"博士生毕业": 3, "硕士生毕业": 3, "本科生毕业": 4, "专科生毕业": 3}[education]
        student_no = f"{entry}3{dept_index + 1:02d}01{suffix}"
        male = (i + offset) % 2 == 0
        surname = SURNAMES[(i * 7 + offset * 3) % len(SURNAMES)]
        given = (GIVEN_M if male else GIVEN_F)[(i * 5 + offset) % len(GIVEN_M)]
        birth = date(year - AGE_AT_GRADUATION[education], 1 + (i * 5) % 12, 1 + (i * 11) % 28)
        values = {
            "name": surname + given,
            "id_number": id_number(BIRTH_PLACES[(i + offset) % len(BIRTH_PLACES)], birth, i * 13 + offset, male),
            "gender": "男" if male else "女",
            "phone": f"1{'38' if school.code == '10486' else '59'}{int(school.code) % 100:02d}{i + 1:06d}",
            "email": f"{school.code}-{student_no}@{EMAIL_DOMAIN}",
            "address": spec["address"],
            "graduation_year": year,
            "education": education,
            "department": department,
            "major": major,
            "training_mode": "non_targeted",
            "signing_restricted": False,
            "plan_submitted": False,
            "verified_at": verified,
        }
        values.update(blocked_values)
        student = _get_or_add(Student, {"school_id": school.id, "student_no": student_no}, **values)
        students.append(student)
        _login(student, f"{school.code}-{student_no}", (surname, given), ROLE_STUDENT)
    return students[:SIGNABLE_PER_SCHOOL]


def _employers(schools, now):
    employers = {}
    for spec in EMPLOYERS:
        code = credit_code(spec["body"], spec["org"])
        fields = {k: spec.get(k) for k in (
            "name", "nature", "industry", "region", "contact_name", "contact_phone", "address",
            "archive_mode", "archive_unit", "archive_address", "archive_postcode", "archive_contact",
            "archive_phone", "hukou_mode", "hukou_address")}
        assert regions.is_valid(spec["region"]), spec["region"]
        employer = _get_or_add(Employer, {"credit_code": code}, email=f"{spec['username']}@{EMAIL_DOMAIN}",
                               profile_confirmed_at=now - timedelta(days=40), created_at=now - timedelta(days=45),
                               **fields)
        for status, codes in (("approved", spec["approved_by"]), ("pending", spec["pending_at"])):
            for school_code in codes:
                _get_or_add(EmployerApproval, {"employer_id": employer.id, "school_id": schools[school_code].id},
                            status=status, created_at=now - timedelta(days=39),
                            reviewed_at=now - timedelta(days=38) if status == "approved" else None)
        db.session.commit()
        _login(employer, spec["username"], spec["contact_name"], ROLE_EMPLOYER)
        employers[spec["key"]] = employer
    return employers


def _terms(employer, position, salary, sent, feedback_days=7, **extra):
    terms = workflow.terms_from_profile(employer, feedback_days)
    terms.update(
        job_category=extra.pop("job_category", "工程技术人员"), position=position,
        probation_days=extra.pop("probation_days", 90), salary=salary,
        probation_salary=salary * 9 // 10, penalty=extra.pop("penalty", 5000),
        report_deadline=(labels.local(sent) + timedelta(days=240)).date(),
    )
    terms.update(extra)
    return terms


# Offers per school: (student index, employer, scenario, position, salary)
OFFER_PLAN = [
    (0, "guanggu", "pending", "Java开发工程师", 12000),
    (0, "changjiang", "pending", "施工技术员", 8000),
    (1, "changjiang", "pending", "工程造价员", 7500),
    (2, "changjiang", "pending", "安全管理员", 7000),
    (2, "guanggu", "accepted", "前端开发工程师", 11000),
    (3, "changjiang", "rejected", "项目助理", 6500),
    (4, "guanggu", "expired", "测试工程师", 9000),
    (5, "guanggu", "certified", "数据分析师", 13000),
    (6, "changjiang", "certified", "桥梁设计助理工程师", 9500),
    (7, "changjiang", "declined", "财务专员", 7000),
]


def _offers(schools, students, employers, reviewers, base):
    """Run each planned offer through the workflow unless it was made by an earlier run."""
    created = 0
    # Expired first: sent 20 days ago, expired by the job a week ago.
    order = sorted(OFFER_PLAN, key=lambda p: p[2] != "expired")
    for code, school in schools.items():
        for index, key, scenario, position, salary in order:
            student, employer = students[code][index], employers[key]
            exists = db.session.scalar(select(func.count()).select_from(Agreement).where(
                Agreement.student_id == student.id, Agreement.employer_id == employer.id))
            if exists:
                continue
            if scenario == "expired":
                sent = base - timedelta(days=20)
                [offer] = workflow.invite(employer, [student], _terms(employer, position, salary, sent, 5), now=sent)
                workflow.expire_due(now=base - timedelta(days=7))
            elif scenario == "pending":
                sent = base - timedelta(days=1, hours=index)
                workflow.invite(employer, [student], _terms(employer, position, salary, sent, 10), now=sent)
            else:
                sent = base - timedelta(days=4 + index)
                [offer] = workflow.invite(employer, [student], _terms(employer, position, salary, sent), now=sent)
                if scenario == "rejected":
                    workflow.reject(student, offer, now=sent + timedelta(hours=5))
                else:
                    workflow.accept(student, offer, now=sent + timedelta(hours=3))
                    if scenario == "certified":
                        workflow.certify(reviewers[code], offer, now=sent + timedelta(days=1))
                    elif scenario == "declined":
                        workflow.decline(reviewers[code], offer, "协议书约定的岗位与学生所学专业不符，请核实后重新签约",
                                         now=sent + timedelta(days=1))
            created += 1
    return created


def seed():
    """Create the demo world (idempotent) and return how many offers this run made."""
    problem = passwords.password_problem(DEMO_PASSWORD)
    if problem:  # keep the demo password inside our own rule
        raise click.ClickException(problem)
    base = datetime.now(timezone.utc).replace(microsecond=0)
    naive = base.replace(tzinfo=None)
    year = graduation_year()

    _login(None, "admin", ("系统", "管理员"), ROLE_ADMIN)
    _login(None, "province", ("湖北省", "就业中心"), ROLE_PROVINCE)
    schools, students, reviewers = {}, {}, {}
    for spec in SCHOOLS:
        school = _get_or_add(School, {"code": spec["code"]}, name=spec["name"])
        db.session.commit()
        reviewers[school.code] = _login(school, f"school-{school.code}", ("就业指导中心", spec["reviewer"]),
                                        ROLE_SCHOOL)
        students[school.code] = _students(school, spec, year)
        db.session.commit()
        schools[school.code] = school
    employers = _employers(schools, naive)
    created = _offers(schools, students, employers, reviewers, base)
    created += _later_flows(schools, students, employers, reviewers, base)
    _invite_list(employers["guanggu"], [s for code in schools for s in students[code][10:12]])
    created += _market(schools, students, employers, reviewers, base)
    return created


def _demo_pdf(title):
    """A small one-page PDF standing in for an uploaded scan (ASCII text: no font needed)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({title}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return uploads.from_bytes(bytes(out), f"{title}.pdf")


# 解约, 纸质签约 and 其他去向 per school: (student index, scenario, employer key)
LATER_PLAN = [
    (8, "termination_by_student", "guanggu"),
    (9, "termination_by_employer", "changjiang"),
    (12, "termination_agreed", "guanggu"),
    (13, "termination_approved", "changjiang"),
    (14, "termination_refused", "guanggu"),
    (15, "paper_waiting", None),
    (16, "paper_certified", None),
    (17, "destination_submitted", None),
    (18, "destination_approved", None),
    (19, "destination_declined", None),
]
PAPER_EMPLOYERS = [("武汉东湖学院附属实验学校", "22"), ("湖北楚天建设集团有限公司", "31")]


def _later_flows(schools, students, employers, reviewers, base):
    """Each termination state, paper agreements and destinations, made through the workflow once."""
    created = 0
    for code in schools:
        reviewer = reviewers[code]
        for index, scenario, key in LATER_PLAN:
            student = students[code][index]
            busy = db.session.scalar(select(func.count()).select_from(Agreement).where(Agreement.student_id == student.id))
            busy += db.session.scalar(select(func.count()).select_from(Destination).where(
                Destination.student_id == student.id))
            if busy:
                continue
            sent = base - timedelta(days=12 + index)
            if scenario.startswith("termination"):
                employer = employers[key]
                [offer] = workflow.invite(employer, [student], _terms(employer, "管培生", 8500, sent), now=sent)
                workflow.accept(student, offer, now=sent + timedelta(hours=2))
                workflow.certify(reviewer, offer, now=sent + timedelta(days=1))
                asked = sent + timedelta(days=3)
                if scenario == "termination_by_employer":
                    workflow.request_termination(employer, offer, "单位岗位调整，该岗位取消", now=asked)
                    created += 1
                    continue
                t = workflow.request_termination(student, offer, "考取家乡公务员，申请解除协议", now=asked)
                if scenario != "termination_by_student":
                    workflow.agree_termination(employer, t, now=asked + timedelta(hours=4), remark="同意解约，祝前程似锦")
                if scenario == "termination_approved":
                    workflow.approve_termination(reviewer, t, now=asked + timedelta(days=1))
                elif scenario == "termination_refused":
                    workflow.refuse_termination(reviewer, t, "缺少双方书面解约协议，请补充后重新申请",
                                                now=asked + timedelta(days=1))
            elif scenario.startswith("paper"):
                name, _nature = PAPER_EMPLOYERS[index % 2]
                terms = {
                    "employer_name": name, "employer_credit_code": credit_code("91420100", f"7{index:02d}{code}"),
                    "job_category": "教学人员" if index % 2 else "工程技术人员", "position": "见习教师" if index % 2 else "施工员",
                    "salary": 6000, "probation_salary": 5400, "probation_days": 60, "penalty": 3000,
                    "report_region": "420111", "work_region": "420111",
                    "report_deadline": (labels.local(sent) + timedelta(days=240)).date(),
                    "contact_name": "周老师", "contact_phone": "027-88886666",
                    "archive_mode": "none", "hukou_mode": "none",
                }
                paper = workflow.record_paper_agreement(student, terms, _demo_pdf("Paper agreement scan (demo)"), now=sent)
                if scenario == "paper_certified":
                    workflow.certify(reviewer, paper, now=sent + timedelta(days=1))
            else:
                kind, details = {
                    "destination_submitted": ("80", {"school": "华中科技大学", "major": "计算机科学与技术", "level": "硕士研究生"}),
                    "destination_approved": ("75", {"company": "武汉青创科技有限公司",
                                                    "credit_code": credit_code("91420111", f"6{code}88"),
                                                    "region": "420111"}),
                    "destination_declined": ("85", {"country": "英国", "institution": "University of Manchester",
                                                    "purpose": "留学"}),
                }[scenario]
                d = workflow.submit_destination(student, kind, details, _demo_pdf("Proof (demo)"), now=sent)
                if scenario == "destination_approved":
                    workflow.review_destination(reviewer, d, True, now=sent + timedelta(days=1))
                elif scenario == "destination_declined":
                    workflow.review_destination(reviewer, d, False, "录取通知书为复印件且无法核验，请上传原件扫描件",
                                                now=sent + timedelta(days=1))
            created += 1
    return created


def _invite_list(employer, candidates):
    """A few found students on an approved employer's 签约发送列表, so 邀约 can be tried at once."""
    for student in candidates:
        if workflow.student_block_reason(student) is None:
            _get_or_add(InviteListEntry, {"employer_id": employer.id, "student_id": student.id})
    db.session.commit()


# ---------------------------------------------------------------- 网上就业市场 (R16, R17)

# (employer, title, 职位类别, region, salary range, 学历, state, description)
POSTING_PLAN = [
    ("guanggu", "后端开发工程师", "工程技术人员", "420111", (10000, 16000), "本科生毕业", "open",
     "负责高校就业服务平台的后端开发与维护。\n要求：熟悉主流编程语言和关系数据库，有团队协作精神。"),
    ("guanggu", "产品经理助理", "经济业务人员", "420106", (7000, 10000), "不限", "open",
     "协助产品经理完成需求调研、原型设计和上线跟踪。"),
    ("guanggu", "界面设计师", "文学艺术工作人员", "420111", (8000, 12000), "专科生毕业", "closed",
     "负责移动端和网页端界面设计。"),
    ("changjiang", "土木工程师", "工程技术人员", "420102", (8000, 12000), "本科生毕业", "open",
     "参与桥梁与市政工程的施工技术管理，需适应项目现场工作。"),
    ("changjiang", "工程造价员", "经济业务人员", "420102", (6000, 9000), "专科生毕业", "offline",
     "负责工程量清单编制与成本核算。"),
    ("changjiang", "测量员", "工程技术人员", "421000", (5000, 7000), "不限", "draft",
     "负责施工测量放样与数据整理。"),
]
# (school, student index, posting title, what happens to the application)
APPLICATION_PLAN = [
    ("10486", 20, "后端开发工程师", "submitted"),
    ("10486", 21, "后端开发工程师", "viewed"),
    ("10486", 22, "后端开发工程师", "interview"),
    ("10486", 23, "产品经理助理", "unsuitable"),
    ("10486", 24, "产品经理助理", "withdrawn"),
    ("10486", 25, "后端开发工程师", "certified"),  # the application that became a certified agreement
    ("10487", 20, "土木工程师", "submitted"),
    ("10487", 21, "土木工程师", "interview"),
]


def _market(schools, students, employers, reviewers, base):
    """Postings in every state, applications in each state, one that became a certified agreement,
    and a posting 华中科技大学 hid from its students — through workflow.market once."""
    created = 0
    postings = {}
    opened = base - timedelta(days=10)
    for key, title, category, region, (low, high), education, state, description in POSTING_PLAN:
        employer = employers[key]
        posting = db.session.scalar(select(JobPosting).where(JobPosting.employer_id == employer.id,
                                                             JobPosting.title == title))
        if posting is None:
            when = base - timedelta(days=40) if state == "closed" else opened
            deadline = (labels.local(when) + timedelta(days=25 if state == "closed" else 40)).date()
            values = {"title": title, "job_category": category, "headcount": 3, "region": region,
                      "salary_min": low, "salary_max": high, "education": education, "major": "相关专业",
                      "major_class": "工学" if category == "工程技术人员" else None, "deadline": deadline.isoformat(),
                      "description": description, "contact_name": employer.contact_name,
                      "contact_phone": employer.contact_phone}
            posting = workflow.market.create_posting(employer, values, publish=state != "draft", now=when)
            if state == "offline":
                workflow.market.close_posting(employer, posting, now=when + timedelta(days=2))
            elif state == "closed":
                workflow.market.close_due(now=base)
            created += 1
        postings[title] = posting
    hidden = postings["产品经理助理"]
    reviewer = reviewers["10487"]
    if db.session.scalar(select(PostingHide.id).where(PostingHide.posting_id == hidden.id)) is None:
        workflow.market.hide_posting(reviewer, hidden, "岗位与本校专业设置不符", now=opened + timedelta(days=1))
    for code, index, title, outcome in APPLICATION_PLAN:
        student, posting = students[code][index], postings[title]
        if db.session.scalar(select(JobApplication.id).where(JobApplication.posting_id == posting.id,
                                                             JobApplication.student_id == student.id)):
            continue
        employer = db.session.get(Employer, posting.employer_id)
        applied = opened + timedelta(days=1, hours=index)
        application = workflow.market.apply(student, posting, "您好，我对贵单位的岗位很感兴趣，期待面试机会。", now=applied)
        if outcome == "withdrawn":
            workflow.market.withdraw_application(student, application, now=applied + timedelta(hours=5))
        elif outcome != "submitted":
            workflow.market.view_application(employer, application, now=applied + timedelta(days=1))
            if outcome in ("interview", "unsuitable"):
                workflow.market.answer_application(employer, application, f"application_{outcome}",
                                                   now=applied + timedelta(days=1, hours=1))
            elif outcome == "certified":
                sent = applied + timedelta(days=2)
                workflow.market.shortlist(employer, application, now=sent)
                terms = _terms(employer, posting.title, posting.salary_min, sent)
                terms.update(workflow.market.terms_from_posting(posting))
                [offer] = workflow.invite(employer, [student], terms, now=sent)
                workflow.accept(student, offer, now=sent + timedelta(hours=3))
                workflow.certify(reviewers[code], offer, now=sent + timedelta(days=1))
        created += 1
    return created


# ---------------------------------------------------------------- the table `make run` shows

def print_accounts():
    """Logins to try, one or more per role, as a small table."""
    rows = []

    def add(role, username, note=""):
        if current_app.appbuilder.sm.find_user(username=username):
            rows.append((ROLE_LABELS[role], username, DEMO_PASSWORD, note))

    add(ROLE_ADMIN, "admin", "FAB 安全管理")
    add(ROLE_PROVINCE, "province", "全省数据")
    for spec in SCHOOLS:
        add(ROLE_SCHOOL, f"school-{spec['code']}", f"{spec['name']} 审核老师")
    for spec in EMPLOYERS:
        state = "已通过学校审核" if spec["approved_by"] else "待学校审核，不能发邀约"
        add(ROLE_EMPLOYER, spec["username"], f"{spec['name']}（{state}）")
    school = db.session.scalar(select(School).where(School.code == SCHOOLS[0]["code"]))
    if school is not None:
        samples = db.session.scalars(
            select(Student).where(Student.school_id == school.id).order_by(Student.student_no)).all()
        statuses = {}
        for student_id, status in db.session.execute(
                select(Agreement.student_id, Agreement.status).where(Agreement.school_id == school.id)):
            statuses.setdefault(student_id, []).append(status)
        waiting_on_student = set(db.session.scalars(select(Termination.student_id).where(
            Termination.school_id == school.id, Termination.status == "requested", Termination.initiator == "employer")))
        kinds = dict(db.session.execute(select(Destination.student_id, Destination.status).where(
            Destination.school_id == school.id)).all())
        papers = set(db.session.scalars(select(Agreement.student_id).where(
            Agreement.school_id == school.id, Agreement.kind == "paper", Agreement.status == "accepted")))
        picks = [
            ("有两份待应约邀请", lambda s: statuses.get(s.id) == ["pending", "pending"]),
            ("协议书已鉴证", lambda s: statuses.get(s.id) == ["certified"] and s.id not in waiting_on_student),
            ("单位提出解约，待本人处理", lambda s: s.id in waiting_on_student),
            ("纸质协议书待学校审核", lambda s: s.id in papers),
            ("其他去向（升学）待审核", lambda s: kinds.get(s.id) == "submitted"),
            ("可签约，尚无邀约", lambda s: s.id not in statuses and workflow.student_block_reason(s) is None),
            ("已被学校限制签约", lambda s: s.signing_restricted),
        ]
        for note, wanted in picks:
            for s in samples:
                if wanted(s):
                    add(ROLE_STUDENT, f"{school.code}-{s.student_no}", f"{s.name}，{note}")
                    break

    headers = ("角色", "用户名", "密码", "说明")
    widths = [max(_width(str(r[i])) for r in rows + [headers]) for i in range(3)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    login_url = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/login/"  # make run: its HOST and PORT
    click.echo(f"演示账号 / demo accounts ({login_url})")
    click.echo(line)
    for r in [headers] + rows:
        click.echo("| " + " | ".join(_pad(str(r[i]), widths[i]) for i in range(3)) + " | " + r[3])
        if r is headers:
            click.echo(line)
    click.echo(line)
    click.echo("毕业生账号为“院校代码-学号”（如 10486-2023301010001），所有演示账号密码相同。")
    click.echo("（演示学生的密码由演示数据直接设置；真实导入的学生账号没有初始密码，学生在登录页“首次登录 / 忘记密码”"
               "凭短信验证码自行设置，开发环境的短信见管理员的“短信发件箱”。）")


def _width(text):
    """Display width: CJK characters take two columns."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text, width):
    return text + " " * (width - _width(text))

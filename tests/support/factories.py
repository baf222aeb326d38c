"""Plain factory functions (like FAB's tests/fixtures/users.py). Call them inside an app context.

Every factory commits, so what it makes is visible to requests and other sessions.
Tests move the clock by passing `now=` (timezone-aware) to workflow functions; `NOW` is a
convenient fixed instant (a Monday morning in Wuhan) and `at(days, hours, minutes)` offsets it.
"""
import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from stdnum.cn import ric, uscc

SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "Passw0rd!A"
NOW = datetime(2026, 5, 11, 9, 0, tzinfo=SHANGHAI)
GRADUATION_YEAR = 2026

_seq = itertools.count(1)


def at(days=0, hours=0, minutes=0, seconds=0, base=None):
    """`NOW` (or `base`) shifted; always timezone-aware."""
    return (base or NOW) + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _db():
    from app.extensions import db

    return db


def _commit(*objs):
    db = _db()
    for obj in objs:
        db.session.add(obj)
    db.session.commit()
    return objs[0] if objs else None


# ---------------------------------------------------------------- valid identifiers

def id_number(n=None, region="420111"):
    """A valid 18-digit 居民身份证号 (checksum per GB 11643, checked with stdnum.cn.ric)."""
    n = next(_seq) if n is None else n
    birth = date(2003, 1, 1) + timedelta(days=n // 500)
    body = f"{region}{birth:%Y%m%d}{100 + n % 500:03d}"
    number = body + ric.calc_check_digit(body + "0")
    assert ric.is_valid(number), number
    return number


def credit_code(n=None, region="420111"):
    """A valid 统一社会信用代码 (18 chars, checksum per GB 32100, checked with stdnum.cn.uscc)."""
    n = next(_seq) if n is None else n
    body = f"91{region}{n:09d}"
    number = body + uscc.calc_check_digit(body)
    assert uscc.is_valid(number), number
    return number


def phone(n=None):
    n = next(_seq) if n is None else n
    return f"138{n % 10**8:08d}"


# ---------------------------------------------------------------- parties

def make_school(code="10486", name="武汉大学"):
    from app.models import School

    return _commit(School(code=code, name=name))


def make_student(school, **kw):
    """A student who may sign: verified, 非定向, not restricted, plan not submitted."""
    from app.models import Student

    n = next(_seq)
    values = dict(
        school_id=school.id,
        student_no=f"2022{n:06d}",
        name=f"学生{n}",
        id_number=id_number(n),
        gender="男",
        phone=phone(n),
        email=f"student{n}@example.edu.cn",
        graduation_year=GRADUATION_YEAR,
        education="本科生毕业",
        department="计算机学院",
        major="软件工程",
        training_mode="non_targeted",
        signing_restricted=False,
        plan_submitted=False,
        verified_at=datetime(2026, 3, 1, 1, 0),
    )
    values.update(kw)
    return _commit(Student(**values))


def make_employer(approved_by=None, confirmed=True, **kw):
    """An employer with a confirmed signing profile; approved by `approved_by` (a School) if given."""
    from app.models import Employer

    n = next(_seq)
    values = dict(
        name=f"测试科技有限公司{n}",
        credit_code=credit_code(n),
        nature="39",
        industry="I",
        region="420111",
        contact_name="王经理",
        contact_phone="027-87654321",
        email=f"hr{n}@example.com",
        address="湖北省武汉市洪山区珞喻路1号",
        archive_mode="none",
        hukou_mode="none",
        profile_confirmed_at=datetime(2026, 3, 1, 1, 0) if confirmed else None,
    )
    values.update(kw)
    employer = _commit(Employer(**values))
    if approved_by is not None:
        approve(employer, approved_by)
    return employer


def approve(employer, school, status="approved"):
    from app.models import EmployerApproval

    return _commit(EmployerApproval(employer_id=employer.id, school_id=school.id, status=status,
                                    reviewed_at=datetime(2026, 3, 1, 2, 0)))


def make_user(role, party=None, username=None, password=PASSWORD, email=None, **kw):
    """A FAB login with `role` (employer, student, school, province, admin), linked to `party`:
    a Student → user.student_id, an Employer → user.employer_id, a School → user.school_id."""
    from flask import current_app

    from app.models import Employer, School, Student

    sm = current_app.appbuilder.sm
    role_obj = sm.find_role(role)
    assert role_obj is not None, f"role {role} missing (sync_roles not run?)"
    n = next(_seq)
    username = username or f"{role}{n}"
    user = sm.add_user(username, kw.pop("first_name", f"{role}{n}"), kw.pop("last_name", "测试"),
                       email or f"{username}@example.org", role_obj, password=password)
    assert user, f"add_user({username}) failed"
    if isinstance(party, Student):
        user.student_id = party.id
    elif isinstance(party, Employer):
        user.employer_id = party.id
    elif isinstance(party, School):
        user.school_id = party.id
    elif party is not None:
        raise TypeError(party)
    for key, value in kw.items():
        setattr(user, key, value)
    return _commit(user)


def make_reviewer(school, **kw):
    """A school reviewer login (the `reviewer` that certify/decline take)."""
    return make_user("school", school, **kw)


# ---------------------------------------------------------------- offer terms

def valid_terms(**overrides):
    """Offer terms valid under R15, relative to NOW and to the real today."""
    from app import labels

    deadline = max(date.today(), NOW.date()) + timedelta(days=365)
    terms = dict(
        job_category=labels.JOB_CATEGORY[0],
        position="软件工程师",
        feedback_days=5,
        probation_days=90,
        probation_salary=8000,
        salary=10000,
        penalty=5000,
        report_region="420111",
        report_deadline=deadline,
        work_region="420111",
        contact_name="王经理",
        contact_phone="13912345678",
        archive_mode="none",
        hukou_mode="none",
    )
    terms.update(overrides)
    return terms


def archive_details(**overrides):
    """Valid archive forwarding details (for archive_mode employer/forward)."""
    details = dict(
        archive_unit="武汉市人才服务中心",
        archive_address="湖北省武汉市江岸区沿江大道1号",
        archive_postcode="430014",
        archive_contact="李老师",
        archive_phone="027-82822222",
    )
    details.update(overrides)
    return details


# ---------------------------------------------------------------- common scenes

def offer(employer, student, now=None, **terms):
    """One offer sent at `now` (default NOW)."""
    from app import workflow

    return workflow.invite(employer, [student], valid_terms(**terms), now=now or NOW)[0]


def accepted_offer(employer, student, sent=None, **terms):
    """An offer sent at `sent` and accepted two hours later (after the cooling-off)."""
    from app import workflow

    sent = sent or NOW
    agreement = offer(employer, student, now=sent, **terms)
    return workflow.accept(student, agreement, now=sent + timedelta(hours=2))


# ---------------------------------------------------------------- web

def login(client, username, password=PASSWORD):
    """Log in through FAB's form; asserts it worked (not sent back to the login page)."""
    response = client.post("/login/", data={"username": username, "password": password},
                           follow_redirects=True)
    assert response.status_code == 200, response.status_code
    assert response.request.path.rstrip("/") != "/login", f"login as {username} failed"
    return response


def logout(client):
    return client.post("/logout/", follow_redirects=True)


# ---------------------------------------------------------------- uploads and the later flows

# A real one-page PDF (qpdf must parse an uploaded PDF) and a real 2×2 grey PNG (Pillow decodes it).
PDF_BYTES = (
    b"%PDF-1.3\n%\xbf\xf7\xa2\xfe\n1 0 obj\n<< /Pages 2 0 R /Type /Catalog >>\nendobj\n"
    b"2 0 obj\n<< /Count 1 /Kids [ 3 0 R ] /Type /Pages >>\nendobj\n"
    b"3 0 obj\n<< /Contents 4 0 R /MediaBox [ 0 0 200 200 ] /Parent 2 0 R /Resources << >> /Type /Page >>\n"
    b"endobj\n4 0 obj\n<< /Length 0 >>\nstream\n\nendstream\nendobj\nxref\n0 5\n0000000000 65535 f \n"
    b"0000000015 00000 n \n0000000064 00000 n \n0000000123 00000 n \n0000000229 00000 n \n"
    b"trailer << /Root 1 0 R /Size 5 >>\nstartxref\n278\n%%EOF\n"
)
PNG_BYTES = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x02\x08\x00\x00\x00\x00W\xddR\xf8"
             b"\x00\x00\x00\x0eIDATx\x9cc\xfc\xcf\xc0\xc4\xc0\x00\x00\x05\r\x01\x03\xb8J\\o\x00\x00\x00\x00IEND\xaeB`\x82")


def proof(data=PDF_BYTES, filename="证明.pdf"):
    """An uploaded proof as the views hand it to the workflow (checked by content)."""
    from app import uploads

    return uploads.from_bytes(data, filename)


def paper_terms(**overrides):
    """What a student types into 录入协议书 (valid under R15)."""
    terms = valid_terms(employer_name="武汉纸质签约有限公司", employer_credit_code=credit_code())
    terms.pop("feedback_days")
    terms.update(overrides)
    return terms


def certified_offer(employer, student, reviewer, sent=None, **terms):
    """An offer accepted and certified by `reviewer` (a school login) three hours after sending."""
    from app import workflow

    sent = sent or NOW
    agreement = accepted_offer(employer, student, sent=sent, **terms)
    return workflow.certify(reviewer, agreement, now=sent + timedelta(hours=3))


def paper_agreement(student, now=None, **terms):
    """A paper agreement the student entered (录入协议书, R13) at `now` (default NOW) with its scan:
    accepted, waiting for the school's review."""
    from app import workflow

    return workflow.record_paper_agreement(student, paper_terms(**terms), proof(), now=now or NOW)

"""All tables (DESIGN.md §2). Column names are the glossary's code names.

Times are naive UTC datetimes; `app.labels` shows them in Asia/Shanghai.
Status columns hold the lowercase codes of docs/rules.md; only `app.workflow` assigns them.
"""
from datetime import datetime, timezone

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    false as false_,
    text,
)
from sqlalchemy.orm import relationship

# R6: the statuses that make an outcome "live".
LIVE_AGREEMENT_STATUSES = ("accepted", "certified")
LIVE_DESTINATION_STATUSES = ("submitted", "approved")
OPEN_TERMINATION_STATUSES = ("requested", "agreed")


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


class School(Model):
    __tablename__ = "school"
    id = Column(Integer, primary_key=True)
    code = Column(String(5), nullable=False, unique=True)
    name = Column(String(100), nullable=False)

    def __repr__(self):
        return self.name


class Student(Model):
    __tablename__ = "student"
    __table_args__ = (
        UniqueConstraint("school_id", "student_no", name="uq_student_school_no"),
        # R2 search: school + year + name, then ID number or phone compared in Python-free SQL.
        Index("ix_student_search", "school_id", "graduation_year", "name"),
        # 签约审核 / 学生管理 search by 姓名 within a school (any year).
        Index("ix_student_school_name", "school_id", "name"),
        Index("ix_student_id_number", "id_number"),
    )
    id = Column(Integer, primary_key=True)
    school_id = Column(Integer, ForeignKey("school.id"), nullable=False)
    school = relationship(School)
    student_no = Column(String(32), nullable=False)
    name = Column(String(50), nullable=False)
    id_number = Column(String(18), nullable=False)
    gender = Column(String(1), nullable=False, default="男")
    phone = Column(String(11), nullable=False)
    email = Column(String(120))
    address = Column(String(200))
    graduation_year = Column(Integer, nullable=False)
    education = Column(String(10), nullable=False, default="本科生毕业")
    department = Column(String(100), nullable=False, default="")
    major = Column(String(100), nullable=False, default="")
    training_mode = Column(String(20), nullable=False, default="non_targeted")
    signing_restricted = Column(Boolean, nullable=False, default=False)
    plan_submitted = Column(Boolean, nullable=False, default=False)
    verified_at = Column(DateTime)
    # The national 生源 codes (issue 26; app.codes): kept from a national-layout roster import and
    # written back in the 毕业去向 export — 考生号, 民族, 政治面貌, 专业代码, 生源所在地 (GB/T 2260).
    exam_no = Column(String(20))
    ethnicity = Column(String(2))
    political = Column(String(2))
    major_code = Column(String(12))
    origin_region = Column(String(6))

    def __repr__(self):
        return self.name

    # Labels for FAB list/show columns (学生管理).
    def training_mode_label(self):
        return {"non_targeted": "非定向", "targeted": "定向"}.get(self.training_mode, self.training_mode)

    def signing_restricted_label(self):
        return "是" if self.signing_restricted else "否"

    def verified_label(self):
        return "已验证" if self.verified_at else "未验证"


class Employer(Model):
    __tablename__ = "employer"
    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False)
    credit_code = Column(String(18), nullable=False, unique=True)
    nature = Column(String(2))
    industry = Column(String(1))
    region = Column(String(6))
    contact_name = Column(String(50))
    contact_phone = Column(String(20))
    email = Column(String(120))
    address = Column(String(200))
    archive_mode = Column(String(20))
    archive_unit = Column(String(200))
    archive_address = Column(String(200))
    archive_postcode = Column(String(6))
    archive_contact = Column(String(50))
    archive_phone = Column(String(20))
    hukou_mode = Column(String(20))
    hukou_address = Column(String(200))
    profile_confirmed_at = Column(DateTime)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    def __repr__(self):
        return self.name


class EmployerApproval(Model):
    __tablename__ = "employer_approval"
    __table_args__ = (
        UniqueConstraint("employer_id", "school_id", name="uq_approval"),
        Index("ix_approval_school_status", "school_id", "status"),  # 单位审核 queue and the school home count
    )
    id = Column(Integer, primary_key=True)
    employer_id = Column(Integer, ForeignKey("employer.id"), nullable=False)
    employer = relationship(Employer, backref="approvals")
    school_id = Column(Integer, ForeignKey("school.id"), nullable=False)
    school = relationship(School)
    status = Column(String(10), nullable=False, default="pending")
    reason = Column(String(200))
    reviewed_at = Column(DateTime)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class InviteListEntry(Model):
    """签约发送列表: the students an employer has found and may send offers to."""

    __tablename__ = "invite_list_entry"
    __table_args__ = (
        UniqueConstraint("employer_id", "student_id", name="uq_invite_list"),
        Index("ix_invite_list_employer", "employer_id", "id"),  # 签约发送列表, newest first
    )
    id = Column(Integer, primary_key=True)
    employer_id = Column(Integer, ForeignKey("employer.id"), nullable=False)
    student_id = Column(Integer, ForeignKey("student.id"), nullable=False)
    student = relationship(Student)
    # 网上就业市场 (R17): the application that put the student here, whose posting prefills the
    # 邀请函 and which becomes 已发邀约 when the offer is sent; None for a student found by search.
    application_id = Column(Integer, ForeignKey("job_application.id"))
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Agreement(Model):
    """An offer (邀请函) and what it becomes: an electronic or paper agreement (协议书)."""

    __tablename__ = "agreement"
    __table_args__ = (
        # R3: one pending offer per employer and student, enforced by the database.
        Index(
            "uq_agreement_pending_offer",
            "employer_id",
            "student_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # R6: at most one live agreement per student.
        Index(
            "uq_agreement_live_student",
            "student_id",
            unique=True,
            postgresql_where=text("status IN ('accepted', 'certified')"),
            sqlite_where=text("status IN ('accepted', 'certified')"),
        ),
        Index("ix_agreement_school_status", "school_id", "status", "accepted_at"),
        # 签约审核 list: ordered by the last change (bench/README.md: 19.7 → 0.28 ms at province scale).
        Index("ix_agreement_school_status_updated", "school_id", "status", "updated_at"),
        Index("ix_agreement_employer_status", "employer_id", "status", "sent_at"),
        Index("ix_agreement_student", "student_id", "sent_at"),
        Index("ix_agreement_pending_expiry", "expires_at", postgresql_where=text("status = 'pending'")),
        # 待应约 counts of an employer (数据管理 tab, home): answered from the index alone.
        Index("ix_agreement_employer_pending", "employer_id", "expires_at", postgresql_include=["kind"],
              postgresql_where=text("status = 'pending'"), sqlite_where=text("status = 'pending'")),
        # An employer's signed agreements, newest first: 数据管理 已签约 (by sending time) and
        # 已签约成功学生列表 (by certification time) — read in order, counted from the index.
        Index("ix_agreement_employer_signed_sent", "employer_id", "sent_at", "id",
              postgresql_where=text("status IN ('certified', 'terminated')"),
              sqlite_where=text("status IN ('certified', 'terminated')")),
        Index("ix_agreement_employer_signed_certified", "employer_id", "certified_at", "id",
              postgresql_where=text("status IN ('certified', 'terminated')"),
              sqlite_where=text("status IN ('certified', 'terminated')")),
        # The live agreements of an employer's credit code (paper ones have no employer_id): the
        # statistics summary's employer trigger (app.summary) and the national 毕业去向 file.
        Index("ix_agreement_live_credit_code", "employer_credit_code",
              postgresql_where=text("status IN ('accepted', 'certified')"),
              sqlite_where=text("status IN ('accepted', 'certified')")),
        CheckConstraint("kind IN ('electronic', 'paper')", name="ck_agreement_kind"),
    )
    id = Column(Integer, primary_key=True)
    kind = Column(String(10), nullable=False, default="electronic")
    status = Column(String(10), nullable=False, default="pending")
    number = Column(String(15), unique=True)
    student_id = Column(Integer, ForeignKey("student.id"), nullable=False)
    student = relationship(Student)
    # Copied from the student so a school's lists need no join to be scoped.
    school_id = Column(Integer, ForeignKey("school.id"), nullable=False)
    school = relationship(School)
    employer_id = Column(Integer, ForeignKey("employer.id"))
    employer = relationship(Employer)
    employer_name = Column(String(200), nullable=False)
    employer_credit_code = Column(String(18), nullable=False)

    # Offer terms (邀请函), DESIGN.md §2.
    job_category = Column(String(50), nullable=False)
    position = Column(String(100), nullable=False)
    feedback_days = Column(Integer, nullable=False, default=5)
    probation_days = Column(Integer, nullable=False, default=0)
    probation_salary = Column(Integer, nullable=False, default=0)
    salary = Column(Integer, nullable=False, default=0)
    penalty = Column(Integer, nullable=False, default=0)
    report_region = Column(String(6), nullable=False)
    report_deadline = Column(Date, nullable=False)
    work_region = Column(String(6), nullable=False)
    contact_name = Column(String(50), nullable=False)
    contact_phone = Column(String(20), nullable=False)
    archive_mode = Column(String(20), nullable=False)
    archive_unit = Column(String(200))
    archive_address = Column(String(200))
    archive_postcode = Column(String(6))
    archive_contact = Column(String(50))
    archive_phone = Column(String(20))
    hukou_mode = Column(String(20), nullable=False)
    hukou_address = Column(String(200))

    sent_at = Column(DateTime, nullable=False, default=utcnow)
    # R4: the instant the offer stops being answerable (24:00 Shanghai of sent + feedback_days).
    expires_at = Column(DateTime, nullable=False)
    accepted_at = Column(DateTime)
    answered_at = Column(DateTime)
    certified_at = Column(DateTime)
    reviewed_at = Column(DateTime)
    review_reason = Column(String(500))
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    # Paper agreements (纸质签约): the scan of the signed paper agreement (app.uploads store key).
    proof_path = Column(String(300))
    # Verification of the printed agreement (app.documents): set when certified.
    check_code = Column(String(12))
    content_hash = Column(String(64))
    # Reminders (app.jobs): each sent once.
    expiry_reminded_at = Column(DateTime)
    review_reminded_at = Column(DateTime)

    events = relationship(
        "FlowEvent",
        primaryjoin="FlowEvent.agreement_id == Agreement.id",
        order_by="FlowEvent.id.desc()",
        viewonly=True,
    )


class NumberCounter(Model):
    """R9: per-school, per-year sequence. Incremented with one atomic UPDATE … RETURNING."""

    __tablename__ = "number_counter"
    school_id = Column(Integer, ForeignKey("school.id"), primary_key=True)
    year = Column(Integer, primary_key=True)
    last = Column(Integer, nullable=False, default=0)


class Destination(Model):
    """其他去向 (升学, 出国出境 …); its flow is reviewed by the school."""

    __tablename__ = "destination"
    __table_args__ = (
        Index("ix_destination_school_status", "school_id", "status", "created_at"),
        Index("ix_destination_school_status_updated", "school_id", "status", "updated_at"),  # 其他去向审核
        Index(
            "uq_destination_live_student",
            "student_id",
            unique=True,
            postgresql_where=text("status IN ('submitted', 'approved')"),
            sqlite_where=text("status IN ('submitted', 'approved')"),
        ),
    )
    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id"), nullable=False)
    student = relationship(Student)
    school_id = Column(Integer, ForeignKey("school.id"), nullable=False)
    school = relationship(School)
    kind = Column(String(2), nullable=False)
    # JSON object of the kind's detail fields (e.g. 升学: school, major).
    details = Column(Text)
    proof_path = Column(String(300))
    # submitted → approved | declined; withdrawn by the student before review.
    status = Column(String(10), nullable=False, default="submitted")
    review_reason = Column(String(500))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    reviewed_at = Column(DateTime)
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    review_reminded_at = Column(DateTime)


class Termination(Model):
    """解约: asked by one side, agreed by the other, reviewed by the school (R11–R13)."""

    __tablename__ = "termination"
    __table_args__ = (
        # R11: at most one open termination per agreement.
        Index(
            "uq_termination_open",
            "agreement_id",
            unique=True,
            postgresql_where=text("status IN ('requested', 'agreed')"),
            sqlite_where=text("status IN ('requested', 'agreed')"),
        ),
        Index("ix_termination_school_status", "school_id", "status", "created_at"),
        Index("ix_termination_employer_status", "employer_id", "status", "created_at"),
        Index("ix_termination_student", "student_id", "status"),
    )
    id = Column(Integer, primary_key=True)
    agreement_id = Column(Integer, ForeignKey("agreement.id"), nullable=False)
    agreement = relationship(Agreement, backref="terminations")
    # Copied from the agreement so lists and R12 need no join to be scoped.
    student_id = Column(Integer, ForeignKey("student.id"), nullable=False)
    student = relationship(Student)
    school_id = Column(Integer, ForeignKey("school.id"), nullable=False)
    employer_id = Column(Integer, ForeignKey("employer.id"))
    initiator = Column(String(10), nullable=False)
    reason = Column(String(200), nullable=False)
    proof_path = Column(String(300))
    status = Column(String(10), nullable=False, default="requested")
    review_reason = Column(String(500))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    agreed_at = Column(DateTime)
    reviewed_at = Column(DateTime)
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    # Reminders (app.jobs): the waiting party after 3 days, the school after 5 working days.
    reminded_at = Column(DateTime)
    review_reminded_at = Column(DateTime)


class FlowEvent(Model):
    """流程追踪: appended by every transition, never edited (R14)."""

    __tablename__ = "flow_event"
    id = Column(Integer, primary_key=True)
    agreement_id = Column(Integer, ForeignKey("agreement.id"), index=True)
    termination_id = Column(Integer, ForeignKey("termination.id"), index=True)
    destination_id = Column(Integer, ForeignKey("destination.id"), index=True)
    posting_id = Column(Integer, ForeignKey("job_posting.id"), index=True)
    application_id = Column(Integer, ForeignKey("job_application.id"), index=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"))
    actor_name = Column(String(200), nullable=False)
    action = Column(String(50), nullable=False)
    remark = Column(String(500))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    # The API key the transition was made with (issue 21): the flow trace tells a system from a person.
    api_key_id = Column(Integer, ForeignKey("api_key.id"))


class Notification(Model):
    """Outbox row and in-app message in one: `email_status` for the mailer, `read_at` for the page."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user", "user_id", "created_at"),
                      # The sender's due rows, the claim sweep and 任务队列's counts (app.jobs.mail).
                      Index("ix_notification_outbox", "email_status", "next_attempt_at"))
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    email = Column(String(120))
    subject = Column(String(200), nullable=False)
    body = Column(Text, nullable=False)
    link = Column(String(300))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    read_at = Column(DateTime)
    # pending → sending (claimed by one mailer) → sent | failed; none when there is no address.
    email_status = Column(String(10), nullable=False, default="pending")
    sent_at = Column(DateTime)
    attempts = Column(Integer, nullable=False, default=0)
    claimed_at = Column(DateTime)
    last_error = Column(String(500))
    # The rq job of the sender holding the claim (NULL inline): a dead job's claims are released.
    claimed_by = Column(String(64))
    # Retries by time: the next try (NULL = now) and, from the first failure on, when to give up.
    next_attempt_at = Column(DateTime)
    retry_until = Column(DateTime)
    # Waiting because the SMTP server could not be reached: due again as soon as it can.
    waits_for_server = Column(Boolean, nullable=False, default=False, server_default=false_())
    # Sent inside the digest mail led by this row (many notices to one address, one mail).
    sent_in = Column(Integer)


class AgreementDocument(Model):
    """The rendered agreement PDF, stored once per certified version (app.documents)."""

    __tablename__ = "agreement_document"
    __table_args__ = (UniqueConstraint("agreement_id", "fingerprint", name="uq_agreement_document"),)
    id = Column(Integer, primary_key=True)
    agreement_id = Column(Integer, ForeignKey("agreement.id"), nullable=False, index=True)
    # Hash of what the PDF shows (status, number, terms …): a different fingerprint = re-render.
    fingerprint = Column(String(64), nullable=False)
    pdf = Column(LargeBinary, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class JobRun(Model):
    """Heavy work a user started (imports, exports): the page polls it for progress and result."""

    __tablename__ = "job_run"
    __table_args__ = (Index("ix_job_run_user", "user_id", "created_at"),)
    id = Column(Integer, primary_key=True)
    kind = Column(String(30), nullable=False)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    # queued → running → done | failed
    status = Column(String(10), nullable=False, default="queued")
    total = Column(Integer)
    done = Column(Integer, nullable=False, default=0)
    message = Column(String(500))
    # JSON: parameters in, summary out (counts, file keys for downloads).
    params = Column(Text)
    result = Column(Text)
    rq_job_id = Column(String(64))
    # The work function's dotted path (app.jobs.runs.start), so 重新执行 can run it again.
    job_func = Column(String(100))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    started_at = Column(DateTime)
    finished_at = Column(DateTime)


class ExportAudit(Model):
    """Who exported which detailed list (with ID numbers), when, with what filter, how many rows."""

    __tablename__ = "export_audit"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    what = Column(String(50), nullable=False)
    filters = Column(Text)
    row_count = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class SmsCode(Model):
    """A 6-digit verification code sent to a phone (信息验证): stored hashed, single use, expires."""

    __tablename__ = "sms_code"
    __table_args__ = (Index("ix_sms_code_phone", "phone", "created_at"),)
    id = Column(Integer, primary_key=True)
    phone = Column(String(11), nullable=False)
    purpose = Column(String(20), nullable=False, default="verify")
    student_id = Column(Integer, ForeignKey("student.id"))
    code_hash = Column(String(64), nullable=False)
    ip = Column(String(45))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)
    used_at = Column(DateTime)
    # Wrong codes typed against this code; at the limit it is spent.
    attempts = Column(Integer, nullable=False, default=0)


class SmsMessage(Model):
    """Outbox of text messages: the development backend only records them here (admins and tests
    read them); the HTTP backend records the provider's answer."""

    __tablename__ = "sms_message"
    __table_args__ = (Index("ix_sms_message_phone", "phone", "created_at"),)
    id = Column(Integer, primary_key=True)
    phone = Column(String(11), nullable=False)
    body = Column(String(300), nullable=False)
    backend = Column(String(20), nullable=False)
    status = Column(String(10), nullable=False, default="sent")
    error = Column(String(300))
    created_at = Column(DateTime, nullable=False, default=utcnow)


class UserSession(Model):
    """One login (app/security.py): the Flask session carries a random token whose SHA-256 is
    `token_hash`; every request checks this row, so logout, a password change, an administrator or
    the timeouts end a session for every copy of its cookie."""

    __tablename__ = "user_session"
    __table_args__ = (Index("ix_user_session_user", "user_id", "ended_at"),)
    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_seen_at = Column(DateTime, nullable=False, default=utcnow)
    ended_at = Column(DateTime)
    # logout, expired, idle, password, inactive, blocked
    end_reason = Column(String(20))
    ip = Column(String(45))
    user_agent = Column(String(200))


class LoginEvent(Model):
    """Login outcomes per account (app/security.py): success, failure, lockout, unlock."""

    __tablename__ = "login_event"
    __table_args__ = (Index("ix_login_event_user", "user_id", "created_at"),)
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    kind = Column(String(10), nullable=False)
    ip = Column(String(45))
    # unlock: the administrator who unlocked
    actor_id = Column(Integer, ForeignKey("ab_user.id"))
    created_at = Column(DateTime, nullable=False, default=utcnow)

    user = relationship("AppUser", foreign_keys=[user_id])
    actor = relationship("AppUser", foreign_keys=[actor_id])


class AppUser(User):
    """FAB's login with the party it belongs to: exactly one of the three, by role."""

    __tablename__ = "ab_user"
    student_id = Column(Integer, ForeignKey("student.id"), unique=True)
    # Indexed: every notice finds its party's logins by these (notify.users_of; was a scan of all
    # logins, ~4.5 ms each at province scale — 20 per bulk certification of 10).
    employer_id = Column(Integer, ForeignKey("employer.id"), index=True)
    school_id = Column(Integer, ForeignKey("school.id"), index=True)
    must_change_password = Column(Boolean, default=False)
    # Login lockout (app/security.py): FAB's fail_login_count counts the failures in a row; at
    # LOGIN_LOCK_THRESHOLD the login is refused until locked_until; lock_count doubles the next lock.
    locked_until = Column(DateTime)
    lock_count = Column(Integer, nullable=False, default=0, server_default=text("0"))

    student = relationship(Student, foreign_keys=[student_id])
    employer = relationship(Employer, foreign_keys=[employer_id])
    school = relationship(School, foreign_keys=[school_id])

    def get_full_name(self):
        # Chinese order: family name (last_name) first, no space — 王伟, not "伟 王".
        return f"{self.last_name or ''}{self.first_name or ''}"


class AccountEvent(Model):
    """账号安全记录 (R18): a change of a login's contact or password, by whom, old → new masked.
    Appended, never edited; the student reads the latest on 学生首页."""

    __tablename__ = "account_event"
    __table_args__ = (Index("ix_account_event_user", "user_id", "created_at"),)
    id = Column(Integer, primary_key=True)
    # the login concerned (its student, when a student's)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    student_id = Column(Integer, ForeignKey("student.id"), index=True)
    # who acted: a login (None: the account's owner proving a code, or the system), its name, its party
    actor_id = Column(Integer, ForeignKey("ab_user.id"))
    actor_name = Column(String(200), nullable=False)
    actor_party = Column(String(200))
    # phone_changed | email_changed | password_reset | activated | password_changed
    kind = Column(String(20), nullable=False)
    old_value = Column(String(120))
    new_value = Column(String(120))
    created_at = Column(DateTime, nullable=False, default=utcnow)


class SiteIdentity(Model):
    """联盟标识: the alliance's name and logo in every page's header and on the login page, set by
    the province centre or an administrator (app.identity). One row (id 1); none → the defaults."""

    __tablename__ = "site_identity"
    id = Column(Integer, primary_key=True)
    alliance_name = Column(String(40), nullable=False)
    # an uploads key (identity/….png|jpg), re-encoded by app.uploads; None: no logo
    logo_path = Column(String(200))
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    updated_by_id = Column(Integer, ForeignKey("ab_user.id"))


# ---------------------------------------------------------------- 网上就业市场 (R16, R17)

# R17: the application states in which the employer has not acted yet (the graduate may withdraw),
# and those from which an offer may still start.
WITHDRAWABLE_APPLICATION_STATUSES = ("submitted", "viewed")
OFFERABLE_APPLICATION_STATUSES = ("submitted", "viewed", "interview")


class JobPosting(Model):
    """我要招聘: a position an employer publishes (draft → open → closed | offline)."""

    __tablename__ = "job_posting"
    __table_args__ = (
        Index("ix_job_posting_employer", "employer_id", "status", "id"),
        # 我要求职: open postings, newest first or by deadline, by place and category.
        Index("ix_job_posting_open_published", "published_at", postgresql_where=text("status = 'open'"),
              sqlite_where=text("status = 'open'")),
        Index("ix_job_posting_open_closes", "closes_at", postgresql_where=text("status = 'open'"),
              sqlite_where=text("status = 'open'")),
        Index("ix_job_posting_city", "city_code", "status"),
        Index("ix_job_posting_province", "province_code", "status"),
        # Keyword search (title, employer name, description): a trigram GIN index on PostgreSQL
        # serves LIKE '%关键词%' (migration 0010 creates the pg_trgm extension).
        Index("ix_job_posting_search_trgm", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}),
    )
    id = Column(Integer, primary_key=True)
    employer_id = Column(Integer, ForeignKey("employer.id"), nullable=False)
    employer = relationship(Employer)
    employer_name = Column(String(200), nullable=False)
    title = Column(String(100), nullable=False)
    job_category = Column(String(50), nullable=False)
    headcount = Column(Integer, nullable=False)
    region = Column(String(6), nullable=False)
    # Of `region`, for the filters: the province's code and the prefecture's (a 直辖市's district).
    province_code = Column(String(6), nullable=False)
    city_code = Column(String(6), nullable=False)
    salary_min = Column(Integer, nullable=False)
    salary_max = Column(Integer, nullable=False)
    education = Column(String(10), nullable=False)
    major = Column(String(200))
    major_class = Column(String(20))
    deadline = Column(Date, nullable=False)
    # R16: 24:00 (Asia/Shanghai) of `deadline`, naive UTC: an open posting past it reads 已截止.
    closes_at = Column(DateTime, nullable=False)
    description = Column(Text, nullable=False)
    contact_name = Column(String(50), nullable=False)
    contact_phone = Column(String(20), nullable=False)
    # title, employer name and description in one lower-cased text, for the keyword search.
    search_text = Column(Text, nullable=False)
    status = Column(String(10), nullable=False, default="draft")
    created_at = Column(DateTime, nullable=False, default=utcnow)
    published_at = Column(DateTime)
    updated_at = Column(DateTime, nullable=False, default=utcnow)


class PostingHide(Model):
    """A school hides a posting from its own students, with a reason its employer sees (R16)."""

    __tablename__ = "posting_hide"
    __table_args__ = (UniqueConstraint("posting_id", "school_id", name="uq_posting_hide"),
                      Index("ix_posting_hide_school", "school_id", "status"))
    id = Column(Integer, primary_key=True)
    posting_id = Column(Integer, ForeignKey("job_posting.id"), nullable=False)
    school_id = Column(Integer, ForeignKey("school.id"), nullable=False)
    school = relationship(School)
    # hidden → shown (恢复显示) → hidden again
    status = Column(String(10), nullable=False, default="hidden")
    reason = Column(String(200))
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow)


class JobApplication(Model):
    """我要求职: a graduate's application to a posting (R17), one per graduate and posting."""

    __tablename__ = "job_application"
    __table_args__ = (
        UniqueConstraint("posting_id", "student_id", name="uq_job_application"),
        Index("ix_job_application_posting", "posting_id", "status", "id"),
        Index("ix_job_application_student", "student_id", "id"),
        Index("ix_job_application_school", "school_id", "status"),
        Index("ix_job_application_employer", "employer_id", "status"),
    )
    id = Column(Integer, primary_key=True)
    posting_id = Column(Integer, ForeignKey("job_posting.id"), nullable=False)
    posting = relationship(JobPosting)
    student_id = Column(Integer, ForeignKey("student.id"), nullable=False)
    student = relationship(Student)
    # Copied so every party's list is scoped without a join.
    school_id = Column(Integer, ForeignKey("school.id"), nullable=False)
    employer_id = Column(Integer, ForeignKey("employer.id"), nullable=False)
    cover_note = Column(String(500))
    # submitted 已投递 → viewed 已查看 → interview 邀请面试 | unsuitable 不合适 | offered 已发邀约;
    # withdrawn 已撤回 by the graduate before the employer acted.
    status = Column(String(10), nullable=False, default="submitted")
    # the offer that started from this application (已发邀约)
    agreement_id = Column(Integer, ForeignKey("agreement.id"))
    agreement = relationship(Agreement)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow)


class Resume(Model):
    """求职简历: one per graduate, written by the graduate; employers see it only with an application."""

    __tablename__ = "resume"
    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id"), nullable=False, unique=True)
    education = Column(Text)
    skills = Column(Text)
    internships = Column(Text)
    awards = Column(Text)
    # an uploads key (resume/…pdf), checked like every upload
    pdf_path = Column(String(300))
    # 隐藏简历: employers then see the application without the résumé
    hidden = Column(Boolean, nullable=False, default=False)
    updated_at = Column(DateTime, nullable=False, default=utcnow)


class PostingFavorite(Model):
    """收藏: a graduate's saved postings."""

    __tablename__ = "posting_favorite"
    __table_args__ = (UniqueConstraint("student_id", "posting_id", name="uq_posting_favorite"),)
    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id"), nullable=False)
    posting_id = Column(Integer, ForeignKey("job_posting.id"), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


@event.listens_for(JobPosting.__table__, "before_create")
def _trigram_extension(_table, connection, **_kw):
    """The keyword index needs pg_trgm (tests create the tables from the models)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")


# ---------------------------------------------------------------- the statistics summary (app.summary)

# The dimensions of a statistics cell: a graduate's attributes and live outcome, as
# app.stats.outcome_query groups them ('' where the graduate has none: the unique key needs values).
STATS_DIMENSIONS = ("graduation_year", "school_id", "department", "major", "education", "gender", "a_kind",
                    "a_status", "work_region", "nature", "d_kind", "d_status")


def _stats_dimensions():
    return [Column("graduation_year", Integer, nullable=False), Column("school_id", Integer, nullable=False),
            Column("department", String(100), nullable=False, default=""),
            Column("major", String(100), nullable=False, default=""),
            Column("education", String(10), nullable=False, default=""),
            Column("gender", String(1), nullable=False, default=""),
            Column("a_kind", String(10), nullable=False, default=""),
            Column("a_status", String(20), nullable=False, default=""),
            Column("work_region", String(6), nullable=False, default=""),
            Column("nature", String(2), nullable=False, default=""),
            Column("d_kind", String(2), nullable=False, default=""),
            Column("d_status", String(10), nullable=False, default="")]


class StatsStudent(Model):
    """统计汇总, per graduate: the cell each graduate counts in now (what the summary subtracts when
    the graduate changes). Maintained by app.summary.refresh only."""

    __table__ = Table("stats_student", Model.metadata, Column("student_id", Integer, primary_key=True),
                      *_stats_dimensions())


class StatsCell(Model):
    """统计汇总: graduates per combination of attributes and live outcome (the rows of
    stats.outcome_query for every year and school), kept by app.summary.refresh from the change log."""

    __table__ = Table("stats_cell", Model.metadata, Column("id", Integer, primary_key=True), *_stats_dimensions(),
                      Column("n", Integer, nullable=False),
                      UniqueConstraint(*STATS_DIMENSIONS, name="uq_stats_cell"),
                      Index("ix_stats_cell_year_school", "graduation_year", "school_id"))


class StatsDay(Model):
    """每日签约, summarised: FlowEvents of the counted actions per graduation year, school and local day."""

    __tablename__ = "stats_day"
    __table_args__ = (UniqueConstraint("graduation_year", "school_id", "day", "event", name="uq_stats_day"),)
    id = Column(Integer, primary_key=True)
    graduation_year = Column(Integer, nullable=False)
    school_id = Column(Integer, nullable=False)
    day = Column(String(10), nullable=False)  # Asia/Shanghai calendar day, 2026-05-11
    event = Column(String(12), nullable=False)  # sent | accepted | certified | terminated
    n = Column(Integer, nullable=False)


class StatsChange(Model):
    """The summary's change log, written by database triggers (app.summary.TRIGGERS) in the same
    transaction as the change: a graduate whose attributes changed (student_id) or a FlowEvent of
    an action that moves an outcome or a daily count (flow_event_id). app.summary.refresh claims
    and deletes rows; what is not yet committed stays for the next refresh."""

    __tablename__ = "stats_change"
    id = Column(Integer, primary_key=True)
    student_id = Column(Integer)
    flow_event_id = Column(Integer)
    created_at = Column(DateTime, nullable=False, default=utcnow, server_default=text("(CURRENT_TIMESTAMP)"))


class ApiAccessKey(Model):
    """An API key of a party (school, province or approved employer) for /api/v1 (app.apikeys):
    the token `jyk_<prefix>_<secret>` is shown once; only `prefix` (its public id) and the SHA-256 of
    the whole token are stored. It acts with the authority of the login that made it (`user_id`),
    within its `scopes`, from the addresses in `ip_allow` (none: any), until `expires_at` or
    `revoked_at`. (FAB's own ab_api_key is per login, scrypt-hashed per call and has no address list:
    not used, FAB_API_KEY_ENABLED stays off.)"""

    __tablename__ = "api_key"
    __table_args__ = (Index("ix_api_key_party", "party", "school_id", "employer_id"),)
    id = Column(Integer, primary_key=True)
    prefix = Column(String(16), nullable=False, unique=True)
    token_hash = Column(String(64), nullable=False)
    name = Column(String(50), nullable=False)
    # school | employer | province, with the party's id (province: none)
    party = Column(String(10), nullable=False)
    school_id = Column(Integer, ForeignKey("school.id"))
    employer_id = Column(Integer, ForeignKey("employer.id"))
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    user = relationship("AppUser", foreign_keys=[user_id])
    # space-separated scope names (app.apikeys.SCOPES)
    scopes = Column(String(300), nullable=False, default="")
    # comma-separated addresses or networks (CIDR); empty: any address
    ip_allow = Column(String(500))
    expires_at = Column(DateTime)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    revoked_at = Column(DateTime)
    revoked_by_id = Column(Integer, ForeignKey("ab_user.id"))
    last_used_at = Column(DateTime)
    last_used_ip = Column(String(45))


class ApiIdempotency(Model):
    """The answer to a write made with an `Idempotency-Key` header, per API key: the same key and
    the same request get the same answer again without a second write; the same key with another
    request is refused (app/views/api.py). `status` is None while the first request runs."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("api_key_id", "idem_key", name="uq_api_idempotency"),)
    id = Column(Integer, primary_key=True)
    api_key_id = Column(Integer, ForeignKey("api_key.id"), nullable=False)
    idem_key = Column(String(100), nullable=False)
    request_hash = Column(String(64), nullable=False)
    status = Column(Integer)
    body = Column(Text)
    created_at = Column(DateTime, nullable=False, default=utcnow)

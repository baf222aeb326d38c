"""The one place that maps codes to Chinese labels, and formats values for the screen."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from . import codes

SHANGHAI = ZoneInfo("Asia/Shanghai")

AGREEMENT_STATUS = {
    "pending": "待应约",
    "accepted": "已应约",
    "rejected": "已拒绝",
    "expired": "已过期",
    "certified": "签约审核通过",
    "declined": "签约审核不通过",
    "terminated": "已解约",
}
# 应约状态 / 审核状态 columns of the student's 电子签约 list (manual §2.2).
ANSWER_STATUS = {
    "pending": "待应约",
    "accepted": "双方已签约",
    "certified": "双方已签约",
    "declined": "双方已签约",
    "terminated": "双方已签约",
    "rejected": "已拒绝",
    "expired": "已过期",
}
REVIEW_STATUS = {
    "accepted": "待审核",
    "certified": "签约审核通过",
    "declined": "签约审核不通过",
    "terminated": "已解约",
}
# Bootstrap 3 label colours, one per status everywhere.
STATUS_BADGE = {
    "pending": "info",
    "accepted": "warning",
    "rejected": "default",
    "expired": "default",
    "certified": "success",
    "declined": "danger",
    "terminated": "default",
    "approved": "success",
    "refused": "danger",
    "requested": "info",
    "agreed": "warning",
    "submitted": "warning",
    "withdrawn": "default",
    "draft": "default",
    "open": "success",
    "closed": "default",
    "offline": "default",
    "viewed": "info",
    "interview": "warning",
    "unsuitable": "default",
    "offered": "success",
    "hidden": "danger",
    "shown": "default",
}
AGREEMENT_KIND = {"electronic": "电子签约", "paper": "纸质签约"}
APPROVAL_STATUS = {"pending": "待审核", "approved": "审核通过", "refused": "审核不通过"}
TRAINING_MODE = {"non_targeted": "非定向", "targeted": "定向"}
# The national code tables (app.codes, app/data/codes): labels shown on screen, codes in the
# national files (docs/national-formats.md).
EDUCATION = list(codes.table("education").values())
GENDER = list(codes.table("gender").values())
ETHNICITY = codes.table("ethnicity")
POLITICAL = codes.table("political")

# 单位性质 and 单位行业 (DESIGN.md §2 standard codes).
EMPLOYER_NATURE = codes.table("employer_nature")
INDUSTRY = codes.table("industry")
ARCHIVE_MODE = {
    "employer": "签约单位接收",
    "forward": "转寄其他单位",
    "none": "单位不接收",
}
HUKOU_MODE = {
    "employer": "迁入单位所在地",
    "forward": "迁入指定地址",
    "none": "不接收",
}
JOB_CATEGORY = list(codes.table("job_category").values())
FLOW_ACTION = {
    "invite": "发起邀约",
    "accept": "同意签约，待学校审核",
    "reject": "拒绝签约",
    "amend": "修改邀约",
    "expire": "邀约过期",
    "certify": "签约审核通过",
    "decline": "签约审核不通过",
    "withdraw": "撤回审核",
    "paper_record": "录入纸质协议书，待学校审核",
    "termination_request": "提出解约申请",
    "termination_agree": "同意解约，待学校审核",
    "termination_approve": "解约审核通过",
    "termination_refuse": "解约审核不通过",
    "destination_submit": "登记其他去向，待学校审核",
    "destination_withdraw": "撤回其他去向登记",
    "destination_approve": "其他去向审核通过",
    "destination_decline": "其他去向审核不通过",
    "posting_create": "保存招聘职位",
    "posting_edit": "修改招聘职位",
    "posting_publish": "发布招聘职位",
    "posting_close": "下线招聘职位",
    "posting_reopen": "重新上线招聘职位",
    "posting_expire": "招聘职位已截止",
    "posting_hide": "学校隐藏招聘职位",
    "posting_unhide": "学校恢复显示招聘职位",
    "application_submit": "投递简历",
    "application_view": "单位已查看",
    "application_interview": "邀请面试",
    "application_unsuitable": "标记为不合适",
    "application_offer": "已发邀约",
    "application_withdraw": "撤回投递",
}

# 解约 (docs/rules.md, states).
TERMINATION_STATUS = {
    "requested": "待对方处理",
    "agreed": "等待解约审核",
    "approved": "解约审核通过",
    "refused": "解约审核不通过",
}
TERMINATION_INITIATOR = {"student": "学生", "employer": "单位"}

# 其他去向: MoE 毕业去向 codes a student may register (10 is an agreement, 70 is 待就业), in the
# order the 其他去向 form offers them; their names come from the national table.
_OUTCOMES = codes.table("outcome")
DESTINATION_KIND = {code: _OUTCOMES[code] for code in ("80", "85", "75", "76", "46", "50", "51", "27", "11", "12")}
# Every 毕业去向 code this system reports (statistics, exports).
OUTCOME_CODE = {"10": _OUTCOMES["10"], **DESTINATION_KIND, "70": _OUTCOMES["70"]}
DESTINATION_STATUS = {
    "submitted": "待审核",
    "approved": "审核通过",
    "declined": "审核不通过",
    "withdrawn": "已撤回",
}

# 网上就业市场 (R16, R17): postings, applications, a school's hiding of a posting.
POSTING_STATUS = {"draft": "草稿", "open": "招聘中", "closed": "已截止", "offline": "已下线"}
APPLICATION_STATUS = {
    "submitted": "已投递", "viewed": "已查看", "interview": "邀请面试", "unsuitable": "不合适",
    "offered": "已发邀约", "withdrawn": "已撤回",
}
HIDE_STATUS = {"hidden": "已隐藏", "shown": "已恢复显示"}
EDUCATION_REQUIRED = ["不限"] + EDUCATION
# 专业类: the 学科门类 of the undergraduate catalogue (a posting's optional 专业类).
MAJOR_CLASS = ["哲学", "经济学", "法学", "教育学", "文学", "历史学", "理学", "工学", "农学", "医学", "管理学",
               "艺术学", "交叉学科"]

# Background work a user started (JobRun.kind) and where it stands (JobRun.status): the run page,
# the import and statistics pages that start them, the 任务队列.
JOB_KIND = {
    "roster_import": "导入学生生源",
    "candidate_import": "导入拟签约名单",
    "certified_list": "已鉴证协议书明细",
    "school_students": "学生就业去向名单",
    "national_outcomes": "毕业去向数据（全国格式）",
    "export": "数据导出",
}
JOB_STATUS = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}
JOB_BADGE = {"queued": "default", "running": "info", "done": "success", "failed": "danger"}


def label(mapping, code, default="-"):
    if code is None:
        return default
    return mapping.get(code, code) if isinstance(mapping, dict) else code


def as_utc(now=None):
    """Aware (or naive UTC) datetime → naive UTC, the storage form; None → the current time."""
    if now is None:
        return datetime.now(timezone.utc).replace(tzinfo=None)
    if now.tzinfo is not None:
        now = now.astimezone(timezone.utc).replace(tzinfo=None)
    return now


def local(dt):
    """Naive UTC → aware Asia/Shanghai."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(SHANGHAI)


def fmt_date(value):
    if value is None:
        return "-"
    if isinstance(value, datetime):
        value = local(value).date()
    return value.strftime("%Y-%m-%d")


def fmt_datetime(value):
    if value is None:
        return "-"
    return local(value).strftime("%Y-%m-%d %H:%M")


def fmt_money(value, unit="/月"):
    if value is None:
        return "-"
    return f"¥{value:,}{unit}"


def deadline_date(expires_at):
    """R4: the last day an offer can be answered (its expiry instant is 24:00 of this day)."""
    return (local(expires_at) - timedelta(seconds=1)).date() if expires_at else None


# What may end a sentence or a clause, typed in either width (and the spaces around it).
_CLAUSE_END = "。．.，,；;：:！!？?、…～~ \u3000\t\r\n"


def clause(text):
    """A person's own words (解除原因 …) made to sit inside one of our sentences: trimmed, and
    without the 。，；！ etc. they ended with, so "由于{reason}原因，" never reads "由于…。原因，"
    and "原因：{reason}。" never "…。。"."""
    text = (text or "").strip()
    return text.rstrip(_CLAUSE_END) or text


# A login's browser as a person names it (登录设备, 修改密码), not the raw User-Agent header. First
# match wins: Edge and most Chinese browsers also say "Chrome", Chrome also says "Safari".
BROWSERS = (("MicroMessenger", "微信"), ("Edg", "Edge 浏览器"), ("Firefox", "火狐浏览器"),
            ("Chrome", "谷歌浏览器"), ("Safari", "Safari 浏览器"))
SYSTEMS = (("Android", "安卓手机"), ("iPhone", "苹果手机"), ("iPad", "苹果平板"), ("Mac OS", "苹果电脑"),
           ("Windows", "Windows 电脑"), ("Linux", "Linux 电脑"))


def browser_of(user_agent):
    """'谷歌浏览器（Linux 电脑）' for a Chrome User-Agent; '其他浏览器' when nothing is known."""
    if not user_agent:
        return "-"
    browser = next((name for key, name in BROWSERS if key in user_agent), "其他浏览器")
    system = next((name for key, name in SYSTEMS if key in user_agent), None)
    return f"{browser}（{system}）" if system else browser


def mask_id(id_number):
    """R2: 110101*****0839 style (first 6, last 4)."""
    if not id_number:
        return "-"
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_phone(phone):
    if not phone:
        return "-"
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def mask_email(email):
    if not email or "@" not in email:
        return "-"
    user, host = email.split("@", 1)
    return user[:3] + "***@" + host


def today_local():
    return datetime.now(SHANGHAI).date()


def day_start_utc(day):
    """00:00 Asia/Shanghai of `day` as naive UTC (the storage form): date filters on lists."""
    start = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
    return start.astimezone(timezone.utc).replace(tzinfo=None)


def parse_day(text):
    """'2026-07-01' → date, anything else (or outside 1900–2200) → None: filters ignore what
    they cannot read."""
    from datetime import date

    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return day if 1900 <= day.year <= 2200 else None


def parse_id(text):
    """An id or number typed into a query string or form: ASCII digits only (not '²', which
    str.isdigit accepts and int() refuses), at most 9 of them; anything else → None."""
    import re

    text = str(text or "").strip()
    return int(text) if re.fullmatch(r"[0-9]{1,9}", text) else None

"""Field validation (R15), pure: values in, a clean dict or a WorkflowError with `fields` out.
No database, no status: the transitions, the profile pages and the imports call these."""
import json
import re
from datetime import date, datetime
from functools import partial

from flask import current_app
from stdnum.cn import uscc

from imports.validate import is_email, is_mobile

from .. import labels, regions
from .base import control_problem, utc
from .errors import WorkflowError

TERMINATION_REASON_MAX = 200  # 解除原因 (R11)

TERM_FIELDS = (
    "job_category", "position", "feedback_days", "probation_days", "probation_salary", "salary",
    "penalty", "report_region", "report_deadline", "work_region", "contact_name", "contact_phone",
    "archive_mode", "archive_unit", "archive_address", "archive_postcode", "archive_contact",
    "archive_phone", "hukou_mode", "hukou_address",
)
ARCHIVE_DETAIL_FIELDS = ("archive_unit", "archive_address", "archive_postcode", "archive_contact", "archive_phone")
MONEY_MAX = 10_000_000
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
_POSTCODE = re.compile(r"^\d{6}$")


def valid_phone(value):
    return bool(value) and (is_mobile(value) or bool(_LANDLINE.match(value)))


def as_int(value):
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"-?\d+", text):
        raise ValueError
    return int(text)


def as_date(value):
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip())


def _text_field(values, errors, clean, name, label, max_len, required=True):
    """A trimmed single-line text field (R15): 请输入… / …不能超过N个字 / no control characters
    into `errors`, the value or None into `clean`."""
    value = str(values.get(name) or "").strip()
    if required and not value:
        errors[name] = f"请输入{label}"
    elif len(value) > max_len:
        errors[name] = f"{label}不能超过{max_len}个字"
    elif control_problem(value, label):
        errors[name] = control_problem(value, label)
    clean[name] = value or None


def _int_field(values, errors, clean, name, label, lo=0, hi=MONEY_MAX):
    """A non-negative integer field (R15: money, days, headcounts) within [lo, hi]."""
    raw = values.get(name)
    if raw is None or str(raw).strip() == "":
        errors[name] = f"请输入{label}"
        return
    try:
        value = as_int(raw)
    except (ValueError, TypeError):
        errors[name] = f"{label}须为整数"
        return
    if value < lo:
        errors[name] = f"{label}不能小于{lo}"
    elif value > hi:
        errors[name] = f"{label}不能大于{hi}"
    else:
        clean[name] = value


def _choice_field(values, errors, clean, name, options, label):
    """A select (R15): one of `options`' codes, else 请选择… into `errors`; the trimmed value into `clean`."""
    value = str(values.get(name) or "").strip()
    if value not in options:
        errors[name] = f"请选择{label}"
    clean[name] = value
    return value


def validate_terms(terms, now=None):
    """R15. Returns a clean dict of the offer terms or raises WorkflowError with `fields`."""
    errors, clean = {}, {}
    text_field = partial(_text_field, terms, errors, clean)

    int_field = partial(_int_field, terms, errors, clean)

    _choice_field(terms, errors, clean, "job_category", labels.JOB_CATEGORY, "工作职位类别")
    text_field("position", "拟聘用职位", 100)
    int_field("feedback_days", "反馈有效期", lo=1, hi=30)
    int_field("probation_days", "试用期", hi=180)  # R15: probation ≤ 180 days (劳动合同法 第19条)
    int_field("probation_salary", "试用起薪")
    int_field("salary", "转正起薪")
    int_field("penalty", "违约金")
    if "salary" in clean and "probation_salary" in clean:
        # R15: 劳动合同法 第20条 — probation pay ≥ 80% of the regular pay.
        if clean["probation_salary"] * 5 < clean["salary"] * 4:
            errors["probation_salary"] = "试用起薪不得低于转正起薪的80%（劳动合同法第二十条）"
    for name, label in (("report_region", "报到地点"), ("work_region", "实际工作地点")):
        code = str(terms.get(name) or "").strip()
        if not regions.is_valid(code):
            errors[name] = f"请选择{label}"
        clean[name] = code
    try:
        deadline = as_date(terms.get("report_deadline"))
        if deadline <= labels.local(utc(now)).date():
            errors["report_deadline"] = "报到期限须晚于今天"
        clean["report_deadline"] = deadline
    except (ValueError, TypeError):
        errors["report_deadline"] = "请选择报到期限（格式 2026-07-01）"
    text_field("contact_name", "签约联系人", 50)
    phone = str(terms.get("contact_phone") or "").strip()
    if not valid_phone(phone):
        errors["contact_phone"] = "联系电话格式不正确（手机号或带区号的固定电话）"
    clean["contact_phone"] = phone

    archive_hukou(terms, errors, clean)
    if errors:
        raise WorkflowError("邀请函填写有误，请按提示修改", "R15", errors)
    return clean


def archive_hukou(values, errors, clean):
    """档案接收 / 户口接收 with their dependent fields (R15): forwarding details are required when
    the archive is received or forwarded and dropped when 单位不接收; likewise the hukou address."""
    text_field = partial(_text_field, values, errors, clean)
    archive_mode = _choice_field(values, errors, clean, "archive_mode", labels.ARCHIVE_MODE, "档案接收方式")
    if archive_mode in ("employer", "forward"):
        text_field("archive_unit", "档案转寄单位名称", 200)
        text_field("archive_address", "档案转递地址", 200)
        text_field("archive_contact", "档案转递联系人", 50)
        postcode = str(values.get("archive_postcode") or "").strip()
        if not _POSTCODE.match(postcode):
            errors["archive_postcode"] = "档案转递邮编须为6位数字"
        clean["archive_postcode"] = postcode
        archive_phone = str(values.get("archive_phone") or "").strip()
        if not valid_phone(archive_phone):
            errors["archive_phone"] = "档案转递联系电话格式不正确"
        clean["archive_phone"] = archive_phone
    else:  # 单位不接收: no forwarding details are kept
        for name in ARCHIVE_DETAIL_FIELDS:
            clean[name] = None
    hukou_mode = _choice_field(values, errors, clean, "hukou_mode", labels.HUKOU_MODE, "户口接收类型")
    if hukou_mode in ("employer", "forward"):
        text_field("hukou_address", "户口接收地址", 200)
    else:
        clean["hukou_address"] = None


def terms_from_profile(employer, feedback_days=None):
    """The archive/hukou part of an offer, prefilled from the employer's signing profile."""
    return {
        "feedback_days": feedback_days or current_app.config["FEEDBACK_DAYS_DEFAULT"],
        "contact_name": employer.contact_name,
        "contact_phone": employer.contact_phone,
        "work_region": employer.region,
        "report_region": employer.region,
        **{f: getattr(employer, f) for f in ("archive_mode",) + ARCHIVE_DETAIL_FIELDS + ("hukou_mode", "hukou_address")},
    }


TERM_LABELS = {
    "job_category": "工作职位类别", "position": "拟聘用职位", "feedback_days": "反馈有效期",
    "probation_days": "试用期", "probation_salary": "试用起薪", "salary": "转正起薪", "penalty": "违约金",
    "report_region": "报到地点", "report_deadline": "报到期限", "work_region": "实际工作地点",
    "contact_name": "签约联系人", "contact_phone": "联系电话", "archive_mode": "档案接收",
    "archive_unit": "档案转寄单位名称", "archive_address": "档案转递地址", "archive_postcode": "档案转递邮编",
    "archive_contact": "档案转递联系人", "archive_phone": "档案转递联系电话", "hukou_mode": "户口接收类型",
    "hukou_address": "户口接收地址",
}



# ---------------------------------------------------------------- paper agreements (纸质签约)

PAPER_OPTIONAL_INTS = ("probation_days", "probation_salary", "salary", "penalty")


def validate_paper_terms(terms, now=None):
    """R15 for a paper agreement typed in by the student: the employer's name and credit code,
    and the offer terms (money fields may be left empty: 0). Raises WorkflowError with `fields`."""
    given = dict(terms)
    given["feedback_days"] = 1  # no answering period: the paper is already signed
    for name in PAPER_OPTIONAL_INTS:
        if str(given.get(name) or "").strip() == "":
            given[name] = 0
    errors = {}
    try:
        clean = validate_terms(given, now)
    except WorkflowError as exc:
        errors.update(exc.fields)
        clean = {}
    name = str(terms.get("employer_name") or "").strip()
    if not name:
        errors["employer_name"] = "请输入单位名称"
    elif len(name) > 200:
        errors["employer_name"] = "单位名称不能超过200个字"
    elif control_problem(name, "单位名称"):
        errors["employer_name"] = control_problem(name, "单位名称")
    code = str(terms.get("employer_credit_code") or "").strip().upper()
    if not uscc.is_valid(code):
        errors["employer_credit_code"] = "统一社会信用代码不正确（18位，含校验位）"
    if errors:
        raise WorkflowError("协议书信息填写有误，请按提示修改", "R15", errors)
    clean.pop("feedback_days", None)
    clean["employer_name"], clean["employer_credit_code"] = name, code
    return clean


# ---------------------------------------------------------------- other destinations (其他去向)

# Per kind: (field, label, type, required). Types: text, region, uscc, date.
DESTINATION_FIELDS = {
    "80": [("school", "升学院校", "text", True), ("major", "升学专业", "text", True),
           ("level", "升学层次", "text", True)],
    "85": [("country", "国家或地区", "text", True), ("institution", "学校或单位", "text", True),
           ("purpose", "出国（境）类型", "text", True)],
    "75": [("company", "企业名称", "text", True), ("credit_code", "统一社会信用代码", "uscc", True),
           ("region", "创业地点", "region", True)],
    "76": [("occupation", "职业内容", "text", True), ("region", "工作地点", "region", True)],
    "46": [("region", "入伍地", "region", True), ("enlisted_on", "入伍时间", "date", True)],
    "50": [("project", "项目名称", "text", True), ("region", "服务地", "region", True)],
    "51": [("project", "项目名称", "text", True), ("region", "服务地", "region", True)],
    "27": [("institution", "聘用单位", "text", True), ("project", "科研项目/课题组", "text", True),
           ("region", "工作地点", "region", True)],
    "11": [("company", "单位名称", "text", True), ("credit_code", "统一社会信用代码", "uscc", True),
           ("region", "工作地点", "region", True), ("contract_start", "合同起始日期", "date", True)],
    "12": [("company", "单位名称", "text", True), ("region", "工作地点", "region", True)],
}
# Proof each kind needs (录取通知书, 营业执照, 入伍通知书, 劳动合同 …); 自由职业 has none to show.
DESTINATION_PROOF = {
    "80": "录取通知书或拟录取证明", "85": "录取通知书或工作签证", "75": "营业执照", "46": "入伍通知书",
    "50": "项目录取通知", "51": "项目录取通知", "27": "聘用证明", "11": "劳动合同", "12": "录用证明",
}
def validate_destination(kind, details):
    """The details a destination kind needs; returns the clean dict or raises with `fields`."""
    if kind not in labels.DESTINATION_KIND:
        raise WorkflowError("请选择去向类别", "R15", {"kind": "请选择去向类别"})
    errors, clean = {}, {}
    for name, label, kind_of, required in DESTINATION_FIELDS[kind]:
        value = str((details or {}).get(name) or "").strip()
        if not value:
            if required:
                errors[name] = f"请输入{label}" if kind_of in ("text", "uscc") else f"请选择{label}"
            continue
        if kind_of == "text" and len(value) > 100:
            errors[name] = f"{label}不能超过100个字"
        elif kind_of == "text" and control_problem(value, label):
            errors[name] = control_problem(value, label)
        elif kind_of == "uscc":
            value = value.upper()
            if not uscc.is_valid(value):
                errors[name] = f"{label}不正确（18位，含校验位）"
        elif kind_of == "region" and not regions.is_valid(value):
            errors[name] = f"请选择{label}"
        elif kind_of == "date":
            try:
                value = as_date(value).isoformat()
            except (ValueError, TypeError):
                errors[name] = f"{label}格式应为 2026-07-01"
        clean[name] = value
    if errors:
        raise WorkflowError("去向信息填写有误，请按提示修改", "R15", errors)
    return json.dumps(clean, ensure_ascii=False, sort_keys=True)


# ---------------------------------------------------------------- employer profile

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{4,30}$")  # an employer's chosen login name
PROFILE_FIELDS = ("nature", "industry", "region", "contact_name", "contact_phone", "email", "address") + (
    "archive_mode",) + ARCHIVE_DETAIL_FIELDS + ("hukou_mode", "hukou_address")


def valid_email(value):
    return is_email(value)  # the one rule, shared with the roster import (imports.validate)


def contact_fields(values, errors, clean):
    """A student's 邮箱 and 通讯地址 (信息验证 and 基本信息管理): both required, one line each."""
    email = str(values.get("email") or "").strip()
    if not valid_email(email):
        errors["email"] = "请输入正确的邮箱"
    clean["email"] = email
    _text_field(values, errors, clean, "address", "通讯地址", 200)


def mobile_field(values, errors, clean, name="phone", label="手机号"):
    """An 11-digit mobile number (R15; the one rule of imports.validate.is_mobile)."""
    value = str(values.get(name) or "").strip()
    if not is_mobile(value):
        errors[name] = f"请输入正确的{label}（11位，1开头）"
    clean[name] = value


def profile_fields(values, errors, clean):
    """单位性质, 单位行业, 单位所在地 and the contact fields of an employer (registration and 基本信息维护)."""
    _choice_field(values, errors, clean, "nature", labels.EMPLOYER_NATURE, "单位性质")
    _choice_field(values, errors, clean, "industry", labels.INDUSTRY, "单位行业")
    region = str(values.get("region") or "").strip()
    if not regions.is_valid(region):
        errors["region"] = "请选择单位所在地（省/市/区县）"
    clean["region"] = region
    contact = str(values.get("contact_name") or "").strip()
    if not contact or len(contact) > 50:
        errors["contact_name"] = "请输入联系人（50字以内）"
    elif control_problem(contact, "联系人"):
        errors["contact_name"] = control_problem(contact, "联系人")
    clean["contact_name"] = contact
    phone = str(values.get("contact_phone") or "").strip()
    if not valid_phone(phone):
        errors["contact_phone"] = "联系电话格式不正确（手机号或带区号的固定电话）"
    clean["contact_phone"] = phone
    email = str(values.get("email") or "").strip()
    if not valid_email(email):
        errors["email"] = "请输入正确的邮箱"
    clean["email"] = email
    address = str(values.get("address") or "").strip()
    if len(address) > 200:
        errors["address"] = "通讯地址不能超过200个字"
    elif control_problem(address, "通讯地址"):
        errors["address"] = control_problem(address, "通讯地址")
    clean["address"] = address or None


"""Row validation: every column of every row, and duplicates inside the file.

`check(table, spec)` returns a `Checked`: the clean values of each row (year as int, 培养方式 as
its code, empty optional text as None) and, per row number, the list of reasons it is refused.
The app adds its own reasons (conflicts with existing data) with `refuse()` before writing, so a
row's 错误原因 lists everything wrong with it at once.
"""
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric

from .reader import LOST_DIGITS
from .spec import Spec

MOBILE = re.compile(r"^1[3-9]\d{9}$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
EMAIL_MAX = 120


def is_email(value):
    """The one e-mail rule of the system (roster import, registration, 信息验证, 基本信息维护): an
    ASCII address the outbox can send to, at most 120 characters."""
    return bool(value) and len(value) <= EMAIL_MAX and bool(EMAIL.match(value))


def is_mobile(value):
    """The one mobile-number rule (roster 手机, offer and profile phones, the R2 search key)."""
    return bool(value) and bool(MOBILE.match(value))


STUDENT_NO = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_\-]*$")
_DIGITS = re.compile(r"\d")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def year_range(today=None):
    """毕业年度 accepted: ten years back (late registrations) to six ahead (a doctorate started now)."""
    today = today or date.today()
    return today.year - 10, today.year + 6


@dataclass
class Checked:
    spec: Spec
    values: dict  # row number → {key: clean value}
    errors: dict = field(default_factory=dict)  # row number → [reason, ...]
    total: int = 0
    # row number → {column key: its reason}: where a one-row form (新增学生) shows each reason
    fields: dict = field(default_factory=dict)

    def refuse(self, row, reason, key=None):
        reasons = self.errors.setdefault(row, [])
        if reason not in reasons:
            reasons.append(reason)
        if key is not None:
            self.fields.setdefault(row, {}).setdefault(key, reason)

    @property
    def valid(self):
        """(row number, values) of the rows with no reason against them, in file order."""
        return [(row, v) for row, v in self.values.items() if row not in self.errors]

    def reason(self, row):
        return "；".join(self.errors.get(row, []))


@lru_cache(maxsize=65536)
def _birth_place_ok(region, year):
    """stdnum's region lookup (county codes valid in the birth year) is ~0.2 ms a call, most of a
    roster's validation time; it depends only on the first 6 digits and the year, so cache it."""
    try:
        ric.get_birth_place(f"{region}{year}01010000")
        return True
    except stdnum_errors.ValidationError:
        return False


def id_number_problem(value):
    """Chinese reason why `value` is not a valid 18-digit 居民身份证号, or None.

    The same checks as python-stdnum's `cn.ric.validate` (length, digits, check digit, birth date,
    region code valid in the birth year), in that order, with the region lookup cached;
    tests/test_imports_reader.py checks it agrees with `ric.is_valid`."""
    if len(value) != 18:
        return "身份证号应为18位"
    if not (value[:-1].isascii() and value[:-1].isdigit()) or value[-1] not in "0123456789X":
        return "身份证号格式不正确（17位数字加1位数字或X）"
    if value[-1] != ric.calc_check_digit(value):
        return "身份证号校验位不正确"
    try:
        ric.get_birth_date(value)
    except stdnum_errors.ValidationError:
        return "身份证号中的出生日期无效"
    if not _birth_place_ok(value[:6], value[6:10]):
        return "身份证号中的地区码无效"
    return None


def gender_of_id(value):
    """GB 11643: the 17th digit is odd for men, even for women."""
    return "男" if int(value[16]) % 2 else "女"


def _cell_problem(column, value, years):
    label = column.label
    if value.startswith(LOST_DIGITS):
        return f"{label}以数字格式保存，末几位数字已丢失，请将该列设置为文本格式后重新填写"
    if not value:
        return f"{label}不能为空" if column.required else None
    if len(value) > column.max_len and column.kind not in ("id_number", "phone", "year", "id_or_phone", "national"):
        return f"{label}不能超过{column.max_len}个字"
    if _CONTROL.search(value):
        return f"{label}含有不可见字符"
    kind = column.kind
    if kind == "code" and not STUDENT_NO.match(value):
        return f"{label}只能包含字母、数字、“-”和“_”"
    if kind == "name" and _DIGITS.search(value):
        return f"{label}不能包含数字"
    if kind == "id_number":
        return id_number_problem(value)
    if kind == "phone" and not MOBILE.match(value):
        return f"{label}应为11位手机号码（1开头）"
    if kind == "email" and not is_email(value):
        return f"{label}格式不正确"
    if kind == "year":
        lo, hi = years
        value = _year_text(value)
        if not (value.isdigit() and len(value) == 4 and lo <= int(value) <= hi):
            return f"{label}应为{lo}至{hi}之间的四位年份"
    if kind == "national" and _national(column, value) not in column.choices:
        return f"{label}：{value} 不是{column.code_name}代码"
    if kind == "choice" and value not in column.choices:
        return f"{label}只能填写：{'、'.join(column.choices)}"
    if kind == "id_or_phone" and not MOBILE.match(value) and id_number_problem(value):
        return f"{label}应为18位身份证号或11位手机号，请核对"
    return None


def _year_text(value):
    """毕业年份 as four digits; a graduation date (20260630, the national layout's byrq) gives its year."""
    return value[:4] if len(value) == 8 and value.isdigit() else value


def _national(column, value):
    """A code whose leading zeros a number cell dropped (民族 1 for 01) is read as the code."""
    if value not in column.choices and value.isdigit() and column.choices:
        width = len(next(iter(column.choices)))
        if len(value) < width:
            return value.zfill(width)
    return value


def _clean(column, value):
    if column.kind == "year":
        return int(_year_text(value))
    if column.kind == "choice":
        return column.choices[value]
    if column.kind == "national" and value:
        return column.choices[_national(column, value)]
    if not value and not column.required:
        return None
    return value


def check(table, spec: Spec, years=None, progress=None, every=1000):
    """Validate every row of a reader.Table against its spec.

    `progress(done, total)` (optional) is called every `every` rows and at the end."""
    years = years or year_range()
    frame = table.frame
    columns = [c for c in spec.columns if c.key in frame.columns]
    checked = Checked(spec=spec, values={}, total=len(frame))
    keys = [c.key for c in columns]
    total = len(frame)
    for done, (row, *cells) in enumerate(frame[keys].itertuples(index=True, name=None), start=1):
        if progress and done % every == 0:
            progress(done, total)
        clean, reasons = {}, []
        for column, value in zip(columns, cells):
            problem = _cell_problem(column, value, years)
            if problem:
                reasons.append((problem, column.key))
            else:
                clean[column.key] = _clean(column, value)
        # Cross-field: 性别 must agree with the ID number's 17th digit.
        if clean.get("gender") and clean.get("id_number") and gender_of_id(clean["id_number"]) != clean["gender"]:
            reasons.append(("性别与身份证号不一致", "gender"))
        checked.values[row] = clean
        for reason, key in reasons:
            checked.refuse(row, reason, key)
    _sample_rows(checked, frame, spec)
    _duplicates(checked, frame, spec)
    if progress:
        progress(total, total)
    return checked


def _sample_rows(checked, frame, spec):
    """The template's sample row left in the file would import a student called 张三."""
    sample = {c.key: c.sample for c in spec.columns if c.key in frame.columns and c.sample}
    if not sample:
        return
    hit = (frame[list(sample)] == list(sample.values())).all(axis=1)
    for row in frame.index[hit]:
        checked.refuse(row, "这是模板中的示例行，请删除后再导入")


def _duplicates(checked, frame, spec):
    """Every row of a duplicated key is refused (which copy is right is the user's call)."""
    for group in spec.unique:
        if not all(k in frame.columns for k in group):
            continue
        sub = frame[list(group)]
        filled = (sub != "").all(axis=1)
        dup = sub[filled & sub.duplicated(keep=False)]
        if dup.empty:
            continue
        labels = "、".join(spec.column(k).label for k in group)
        for _key, rows in dup.groupby(list(group), sort=False).groups.items():
            rows = list(rows)
            if len(rows) > 10:
                where = "、".join(str(r) for r in rows[:10]) + f" 等{len(rows)}"
            else:
                where = "、".join(str(r) for r in rows)
            for row in rows:
                checked.refuse(row, f"{labels}在文件中重复（第 {where} 行）")

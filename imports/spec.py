"""Column specs: one declaration per import, read by the reader, the validator and the template.

A column's `key` is the glossary's code name (DESIGN.md §2) and its `label` the Chinese header the
user sees; the same spec builds the downloadable template, so the template and the reader cannot
disagree about a header.

The allowed values of 学历 / 性别 / 培养方式 are declared here once for the spreadsheet layer
(`imports/` is Flask-free and cannot import `app`); `tests/test_imports_spec.py` asserts they equal
`app.labels`, so the two cannot drift apart silently.
"""
from dataclasses import dataclass, field

EDUCATION = ("博士生毕业", "硕士生毕业", "本科生毕业", "专科生毕业")
GENDER = ("男", "女")
# 培养方式: label on the sheet → code stored (DESIGN.md §2 training_mode).
TRAINING_MODE = {"非定向": "non_targeted", "定向": "targeted"}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str  # text | name | code | id_number | phone | email | year | choice | id_or_phone
    required: bool = True
    max_len: int = 100
    # choice columns: allowed labels → stored value
    choices: dict = field(default_factory=dict)
    # ID numbers, phones and 学号 are text: a number cell loses leading zeros, the X check digit
    # and (above 2^53) digits; the template formats these columns as text ("@").
    text_format: bool = False
    sample: str = ""
    note: str = ""


@dataclass(frozen=True)
class Spec:
    kind: str
    title: str  # sheet name and file name stem of the template
    columns: tuple
    # Groups of keys that must be unique inside one file (duplicate rows are refused).
    unique: tuple = ()
    notes: tuple = ()

    @property
    def labels(self):
        return [c.label for c in self.columns]

    def column(self, key):
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)


ROSTER = Spec(
    kind="roster",
    title="学生生源",
    columns=(
        Column("student_no", "学号", "code", max_len=32, text_format=True, sample="2022301010001",
               note="本校内唯一；再次导入同一学号时更新该生信息，不会重复创建"),
        Column("name", "姓名", "name", max_len=50, sample="张三"),
        Column("id_number", "身份证号", "id_number", max_len=18, text_format=True, sample="42011120030101000X",
               note="18位居民身份证号，校验位为X时填大写X；请保持文本格式"),
        Column("gender", "性别", "choice", max_len=1, choices={g: g for g in GENDER}, sample="女",
               note="男 或 女，须与身份证号一致"),
        Column("phone", "手机", "phone", max_len=11, text_format=True, sample="13800138000",
               note="11位手机号，学生首次登录时向此号码发送验证码"),
        Column("email", "邮箱", "email", required=False, max_len=120, sample="zhangsan@example.com",
               note="选填；学生首次登录时可补充"),
        Column("department", "院系", "text", max_len=100, sample="计算机学院"),
        Column("major", "专业", "text", max_len=100, sample="软件工程"),
        Column("education", "学历", "choice", max_len=10, choices={e: e for e in EDUCATION}, sample="本科生毕业",
               note="、".join(EDUCATION)),
        Column("graduation_year", "毕业年度", "year", max_len=4, sample="2026", note="四位年份，如 2026"),
        Column("training_mode", "培养方式", "choice", max_len=3, choices=dict(TRAINING_MODE), sample="非定向",
               note="非定向 或 定向（定向生不能网上签约）"),
    ),
    unique=(("student_no",), ("id_number",), ("email",)),
    notes=(
        "每行一名学生，第一行为列名，请勿修改列名；示例行请删除后再导入。",
        "学号、身份证号、手机列已设置为文本格式，请勿改为数字格式（否则会丢失开头的0、末位X或后几位数字）。",
        "按“学校 + 学号”识别学生：已存在的学号更新信息，新学号新建学生并开通登录账号。",
        "新账号的登录名为“院校代码-学号”，初始密码见导入页面说明，学生首次登录须修改密码并完成信息验证。",
        "默认整个文件全部正确才导入；勾选“只导入正确的行”则导入正确的行，错误的行可下载错误报告修改后重新导入。",
        "支持 .xlsx 与 .csv（UTF-8 或 GBK 编码）文件。",
    ),
)

CANDIDATES = Spec(
    kind="candidates",
    title="拟签约名单",
    columns=(
        Column("school", "毕业院校", "text", max_len=100, sample="武汉大学", note="学校名称或5位院校代码"),
        Column("graduation_year", "毕业年度", "year", max_len=4, sample="2026", note="四位年份，如 2026"),
        Column("name", "姓名", "name", max_len=50, sample="张三"),
        Column("key", "身份证号或手机号", "id_or_phone", max_len=18, text_format=True, sample="42011120030101000X",
               note="填写学生的身份证号或手机号之一"),
    ),
    unique=(("school", "graduation_year", "name", "key"),),
    notes=(
        "每行一名拟签约学生，第一行为列名，请勿修改列名；示例行请删除后再导入。",
        "毕业院校、毕业年度、姓名和身份证号/手机号四项全部正确，才能匹配到学生（与签约搜索相同）。",
        "匹配到的学生加入“签约发送列表”，之后在列表中勾选学生发送签约邀请。",
        "身份证号或手机号列已设置为文本格式，请勿改为数字格式。",
        "支持 .xlsx 与 .csv（UTF-8 或 GBK 编码）文件。",
    ),
)

SPECS = {ROSTER.kind: ROSTER, CANDIDATES.kind: CANDIDATES}

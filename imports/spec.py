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
    # Other headers that mean this column (the national layout's upper-case codes match anyway:
    # headers are compared case-insensitively).
    aliases: tuple = ()
    # national code columns (kind "national"): what a code of its table is called ("3 不是性别代码")
    code_name: str = ""


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


# ---------------------------------------------------------------- the national 生源 layout

def national_roster(tables, names, region_codes):
    """The national 毕业生生源信息 layout (columns named by pinyin codes, values as national codes;
    docs/national-formats.md): the same keys as ROSTER plus the codes the system keeps (考生号,
    民族, 政治面貌, 专业代码, 生源所在地). `tables`: {table name: {code: label}} and `names`: {table
    name: what its codes are called} from app.codes (this package reads no app data);
    `region_codes`: the GB/T 2260 codes in force.

    The 学历 and 性别 codes map to the labels ROSTER stores, 培养方式 to its stored code, the other
    code columns keep their codes."""
    def coded(key, label, table, required=True, keep_code=False, stored=None, sample="", note=""):
        codes = tables[table]
        choices = {code: code if keep_code else (stored or {}).get(value, value) for code, value in codes.items()}
        return Column(key, label, "national", required=required, max_len=12, choices=choices, text_format=True,
                      code_name=names[table], sample=sample,
                      note=note or "、".join(f"{code} {value}" for code, value in codes.items()))

    return Spec(
        kind="roster_national",
        title="毕业生生源信息",
        columns=(
            Column("school_code", "yxdm", "code", max_len=5, text_format=True, sample="10486",
                   note="院校代码：须为本校的5位院校代码"),
            Column("school_name", "yxmc", "text", required=False, max_len=100, sample="武汉大学", note="院校名称（不导入）"),
            Column("student_no", "xh", "code", max_len=32, text_format=True, sample="2022301010001",
                   note="学号：本校内唯一；再次导入同一学号时更新该生信息"),
            Column("exam_no", "ksh", "code", required=False, max_len=20, text_format=True, sample="22420111150001",
                   note="考生号（选填）"),
            Column("name", "xm", "name", max_len=50, sample="张三", note="姓名"),
            Column("id_number", "sfzh", "id_number", max_len=18, text_format=True, sample="42011120030101000X",
                   note="身份证号：18位，校验位为X时填大写X"),
            coded("gender", "xbdm", "gender", sample="2"),
            coded("ethnicity", "mzdm", "ethnicity", required=False, keep_code=True, sample="01",
                  note="民族代码（选填）：GB/T 3304，两位数字，如 01 汉族"),
            coded("political", "zzmmdm", "political", required=False, keep_code=True, sample="03",
                  note="政治面貌代码（选填）：GB/T 4762，两位数字，如 01 中国共产党党员、03 中国共产主义青年团团员、13 群众"),
            coded("education", "xldm", "education", sample="31"),
            Column("major_code", "zydm", "code", required=False, max_len=12, text_format=True, sample="080902",
                   note="专业代码（选填）"),
            Column("major", "zymc", "text", max_len=100, sample="软件工程", note="专业名称"),
            Column("department", "fy", "text", max_len=100, sample="计算机学院", aliases=("xymc", "yxsmc"),
                   note="院系（分院）名称"),
            coded("training_mode", "pyfsdm", "training_mode", stored=TRAINING_MODE, sample="1"),
            Column("origin_region", "syszddm", "national", required=False, max_len=6, text_format=True,
                   choices={code: code for code in region_codes}, code_name="生源所在地（GB/T 2260 行政区划）",
                   sample="420111", note="生源所在地代码（选填）：GB/T 2260 六位行政区划代码"),
            Column("phone", "sjhm", "phone", max_len=11, text_format=True, sample="13800138000", note="手机号码"),
            Column("email", "dzyx", "email", required=False, max_len=120, sample="zhangsan@example.com",
                   note="电子邮箱（选填）"),
            Column("graduation_year", "bynf", "year", max_len=8, sample="2026", aliases=("byrq", "byny"),
                   note="毕业年份，如 2026（也可填毕业日期，如 20260630）"),
        ),
        unique=(("student_no",), ("id_number",), ("email",)),
        notes=(
            "全国高校毕业生就业管理系统的生源信息格式：第一行为字段代码（大小写均可），其后每行一名学生；示例行请删除后再导入。",
            "代码列填写代码而非名称（如 xbdm 填 1 或 2），各列的代码见上表“填写要求”；生源所在地代码为 GB/T 2260 六位行政区划代码。",
            "按“学校 + 学号”识别学生：已存在的学号更新信息，新学号新建学生并开通登录账号。",
            "默认整个文件全部正确才导入；勾选“只导入正确的行”则导入正确的行，错误的行可下载错误报告修改后重新导入。",
            "支持 .xlsx 与 .csv（UTF-8 或 GBK 编码）文件。",
        ),
    )


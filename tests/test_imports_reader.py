"""imports/: specs, safe readers, validation, error report and template (no database writes)."""
import io
import zipfile

import openpyxl
import pytest

import imports
from imports import reader
from tests.support.spreadsheets import CANDIDATE_HEADER, ROSTER_HEADER, csv_bytes, female_id, male_id, roster_row, xlsx


class CountingStream(io.BytesIO):
    """Records how many bytes the reader pulled out of the upload."""

    def __init__(self, data):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, n=-1):
        chunk = super().read(n)
        self.bytes_read += len(chunk)
        return chunk


def read_roster(data, **limits):
    return imports.read(data, imports.ROSTER, imports.Limits(**limits))


def check_roster(rows, **kw):
    return imports.check(read_roster(xlsx(rows)), imports.ROSTER, **kw)


# ---------------------------------------------------------------- spec and template

def test_spec_allowed_values_agree_with_app_labels():
    from app import labels

    assert list(imports.EDUCATION) == labels.EDUCATION
    assert list(imports.GENDER) == labels.GENDER
    assert {v: k for k, v in imports.TRAINING_MODE.items()} == labels.TRAINING_MODE


def test_template_has_chinese_header_sample_text_columns_and_notes():
    wb = openpyxl.load_workbook(io.BytesIO(imports.template(imports.ROSTER)))
    ws = wb[imports.ROSTER.title]
    assert [c.value for c in ws[1]] == ROSTER_HEADER
    sample = {h: c for h, c in zip(ROSTER_HEADER, ws[2])}
    assert sample["身份证号"].value.endswith("X") and sample["身份证号"].number_format == "@"
    assert sample["手机"].number_format == "@" and sample["学号"].number_format == "@"
    assert ws["C3"].number_format == "@"  # cells the user types into later are text too
    assert sample["姓名"].number_format != "@"
    assert ws.data_validations.dataValidation  # drop-downs for 学历/性别/培养方式
    notes = wb["填写说明"]
    text = "\n".join(str(c.value) for row in notes.iter_rows() for c in row if c.value)
    for label in ROSTER_HEADER:
        assert label in text
    assert "本科生毕业" in text and "文本格式" in text


def test_template_sample_row_is_valid_but_refused_as_the_sample():
    for spec in (imports.ROSTER, imports.CANDIDATES):
        table = imports.read(imports.template(spec), spec)
        assert len(table) == 1
        checked = imports.check(table, spec)
        assert checked.errors == {2: ["这是模板中的示例行，请删除后再导入"]}


# ---------------------------------------------------------------- formats and encodings

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_utf8_and_gbk_is_read(encoding):
    row = roster_row(1, name="欧阳娜娜", department="经济与管理学院")
    table = read_roster(csv_bytes([row], encoding=encoding))
    assert table.frame.loc[2, "name"] == "欧阳娜娜"
    assert table.frame.loc[2, "department"] == "经济与管理学院"
    assert imports.check(table, imports.ROSTER).errors == {}


def test_fullwidth_spaces_and_characters_are_cleaned():
    row = roster_row(2, student_no="２０２２０００００２\u3000", name="王\u3000伟", phone=" １３８０００００００２ ",
                     department="\u3000计算机学院\u3000", education="本科生毕业\u3000", email="Ｓ2@Example.EDU.cn")
    table = read_roster(xlsx([row]))
    f = table.frame.loc[2]
    assert (f.student_no, f["name"], f.phone, f.department, f.education, f.email) == (
        "2022000002", "王伟", "13800000002", "计算机学院", "本科生毕业", "s2@example.edu.cn")
    assert imports.check(table, imports.ROSTER).errors == {}


def test_non_chinese_names_keep_single_spaces():
    table = read_roster(xlsx([roster_row(3, name="  John\u3000\u3000Smith ")]))
    assert table.frame.loc[2, "name"] == "John Smith"


def test_leading_zeros_and_x_check_digit_survive_as_text():
    number = female_id(7)
    x_id = "42011120030101000X"
    rows = [roster_row(4, student_no="0012345", id_number=x_id, gender="女", phone="13800000004"),
            roster_row(5, student_no="0012346", id_number=number.lower(), gender="女")]
    for data in (xlsx(rows), csv_bytes(rows), csv_bytes(rows, encoding="gbk")):
        table = read_roster(data)
        assert list(table.frame.student_no) == ["0012345", "0012346"]
        assert list(table.frame.id_number) == [x_id, number.upper()]  # a typed x becomes X
        assert imports.check(table, imports.ROSTER).errors == {}


def test_every_column_is_read_as_text_and_exact_numbers_are_recovered():
    # A phone typed into a number cell (13800000005.0 inside the file) comes back as its digits.
    row = roster_row(5)
    row[4] = 13800000005
    row[9] = 2026
    table = read_roster(xlsx([row], as_text=False))
    assert table.frame.loc[2, "phone"] == "13800000005"
    assert table.frame.loc[2, "graduation_year"] == "2026"
    assert all(isinstance(v, str) for v in table.frame.loc[2])


def test_id_number_typed_as_a_number_is_refused_with_a_text_format_hint():
    row = roster_row(6)
    row[2] = int(male_id(6))  # Excel keeps 15 significant digits: the last ones are gone
    checked = imports.check(read_roster(xlsx([row], as_text=False)), imports.ROSTER)
    assert "身份证号以数字格式保存" in checked.reason(2) and "文本格式" in checked.reason(2)


# ---------------------------------------------------------------- hostile files

def test_exe_named_xlsx_is_refused_after_reading_only_its_first_bytes():
    exe = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 5_000_000
    stream = CountingStream(exe)
    with pytest.raises(imports.ImportRefused, match="按文件内容识别"):
        imports.receive(stream)
    assert stream.bytes_read <= 16


@pytest.mark.parametrize("head, message", [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
    (b"%PDF-1.4\n" + b"x" * 100, "按文件内容识别"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "按文件内容识别"),
    (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 100, "按文件内容识别"),
    (b"", "空"),
])
def test_non_spreadsheet_content_is_refused(head, message):
    with pytest.raises(imports.ImportRefused, match=message):
        imports.receive(head)


def test_xlsx_content_is_accepted_whatever_the_file_is_called():
    # The name never matters: the view passes only the stream, the format comes from the bytes.
    assert imports.receive(xlsx([roster_row(8)])).fmt == "xlsx"


def test_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("word/document.xml", "<w/>")
        z.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(imports.ImportRefused, match="不是 Excel"):
        imports.receive(out.getvalue())


def _bomb(inflated):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\x00" * inflated)
    return out.getvalue()


def test_zip_bomb_is_refused_before_any_parser_opens_it(monkeypatch):
    from python_calamine import CalamineWorkbook

    def parser_must_not_run(*a, **k):
        raise AssertionError("the parser opened a zip bomb")

    monkeypatch.setattr(CalamineWorkbook, "from_filelike", parser_must_not_run)
    bomb = _bomb(30 * 1024 * 1024)  # 30 MiB of zeros in ~30 KB
    assert len(bomb) < 100_000
    with pytest.raises(imports.ImportRefused, match="压缩炸弹"):
        imports.read(bomb, imports.ROSTER, imports.Limits(max_unzipped_bytes=10 * 1024 * 1024))
    with pytest.raises(imports.ImportRefused, match="压缩比异常"):
        imports.read(bomb, imports.ROSTER, imports.Limits(max_unzipped_bytes=100 * 1024 * 1024, max_zip_ratio=100))


def test_zip_directory_lying_about_sizes_is_caught_while_inflating(monkeypatch):
    bomb = _bomb(12 * 1024 * 1024)
    real = zipfile.ZipFile.infolist

    def lying_infolist(self):
        infos = real(self)
        for info in infos:
            info.file_size = min(info.file_size, 1000)  # the directory claims tiny entries
        return infos

    monkeypatch.setattr(zipfile.ZipFile, "infolist", lying_infolist)
    with pytest.raises(imports.ImportRefused):
        imports.receive(bomb, imports.Limits(max_unzipped_bytes=10 * 1024 * 1024))


def test_file_size_cap_reads_at_most_one_byte_over():
    data = csv_bytes([roster_row(n) for n in range(200)])
    stream = CountingStream(data)
    with pytest.raises(imports.ImportRefused, match="不能超过"):
        imports.receive(stream, imports.Limits(max_bytes=5000))
    assert stream.bytes_read == 5001


def test_row_cap_is_enforced_for_csv_and_xlsx():
    rows = [roster_row(n) for n in range(1, 13)]
    for data in (csv_bytes(rows), xlsx(rows)):
        with pytest.raises(imports.ImportRefused, match="超过 10 行"):
            read_roster(data, max_rows=10)
        assert len(read_roster(data, max_rows=12)) == 12


def test_missing_columns_and_empty_files_are_refused():
    with pytest.raises(imports.ImportRefused, match="缺少列：身份证号"):
        read_roster(csv_bytes([["1", "张三"]], header=["学号", "姓名"]))
    with pytest.raises(imports.ImportRefused, match="没有数据行"):
        read_roster(csv_bytes([]))
    with pytest.raises(imports.ImportRefused, match="没有数据"):
        read_roster(b"\r\n\r\n")


def test_headers_tolerate_required_marks_and_extra_columns():
    header = [h + "*" for h in ROSTER_HEADER] + ["错误原因", "备注"]
    table = read_roster(csv_bytes([roster_row(9) + ["旧原因", "x"]], header=header))
    assert table.extra == ["错误原因", "备注"]
    assert imports.check(table, imports.ROSTER).errors == {}


def test_defusedxml_stays_active_for_openpyxl():
    assert imports.defusedxml_active()


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize("key, value, message", [
    ("student_no", "", "学号不能为空"),
    ("student_no", "2022 01/3", "学号只能包含"),
    ("student_no", "1" * 33, "学号不能超过32个字"),
    ("name", "", "姓名不能为空"),
    ("name", "张3", "姓名不能包含数字"),
    ("id_number", "42011120030101001", "身份证号应为18位"),
    ("id_number", "420111200301010019", "身份证号校验位不正确"),
    ("id_number", "420111200302300017", "出生日期"),
    ("gender", "m", "性别只能填写：男、女"),
    ("phone", "1380000000", "手机应为11位手机号码"),
    ("phone", "02787654321", "手机应为11位手机号码"),
    ("email", "not-an-email", "邮箱格式不正确"),
    ("department", "", "院系不能为空"),
    ("major", "专" * 101, "专业不能超过100个字"),
    ("education", "本科", "学历只能填写：博士生毕业、硕士生毕业、本科生毕业、专科生毕业"),
    ("graduation_year", "26", "毕业年度应为"),
    ("graduation_year", "1990", "毕业年度应为"),
    ("training_mode", "委培", "培养方式只能填写：非定向、定向"),
])
def test_each_roster_column_is_validated(key, value, message):
    checked = check_roster([roster_row(10, **{key: value})])
    assert message in checked.reason(2), checked.reason(2)
    assert checked.valid == []


def test_valid_row_gives_clean_values():
    checked = check_roster([roster_row(11, email="", training_mode="定向")])
    (row, values), = checked.valid
    assert row == 2 and values["graduation_year"] == 2026 and isinstance(values["graduation_year"], int)
    assert values["training_mode"] == "targeted" and values["email"] is None


def test_gender_must_agree_with_the_id_number():
    checked = check_roster([roster_row(12, id_number=female_id(12), gender="男")])
    assert checked.reason(2) == "性别与身份证号不一致"


def test_duplicate_rows_in_the_file_are_all_refused():
    rows = [roster_row(13), roster_row(14), roster_row(13, name="另一人"), roster_row(15, id_number=male_id(14))]
    checked = check_roster(rows)
    assert "学号在文件中重复（第 2、4 行）" in checked.reason(2)
    assert "学号在文件中重复（第 2、4 行）" in checked.reason(4)
    assert "身份证号在文件中重复（第 3、5 行）" in checked.reason(5)
    assert [r for r, _v in checked.valid] == []  # rows 3 and 5 share an ID number too
    assert set(checked.errors) == {2, 3, 4, 5}


def test_candidate_key_accepts_id_number_or_phone_only():
    header = CANDIDATE_HEADER
    rows = [["武汉大学", "2026", "张三", male_id(20)], ["10486", "2026", "李四", "13800000020"],
            ["武汉大学", "2026", "王五", "12345"]]
    checked = imports.check(imports.read(csv_bytes(rows, header=header), imports.CANDIDATES), imports.CANDIDATES)
    assert [r for r, _v in checked.valid] == [2, 3]
    assert "身份证号或手机号应为18位身份证号或11位手机号" in checked.reason(4)


# ---------------------------------------------------------------- error report

def test_error_report_has_reason_column_writes_no_formulas_and_can_be_uploaded_again():
    rows = [roster_row(30), roster_row(31, name="=HYPERLINK(\"http://x\",\"点我\")", phone="123")]
    table = read_roster(xlsx(rows))
    checked = imports.check(table, imports.ROSTER)
    report = imports.error_report(table, checked, imports.ROSTER)
    ws = openpyxl.load_workbook(io.BytesIO(report)).active
    assert [c.value for c in ws[1]] == ROSTER_HEADER + ["错误原因"]
    assert ws.max_row == 2  # only the refused row
    name_cell = ws.cell(row=2, column=2)
    assert name_cell.data_type == "s" and name_cell.value.startswith("=HYPERLINK")
    assert ws.cell(row=2, column=3).number_format == "@"
    assert ws.cell(row=2, column=12).value.startswith("第3行：")
    assert "手机应为11位手机号码" in ws.cell(row=2, column=12).value
    # Fixed by the user and uploaded again: the 错误原因 column is ignored.
    ws.cell(row=2, column=2).value = "李明"
    ws.cell(row=2, column=5).value = "13800000031"
    out = io.BytesIO()
    ws.parent.save(out)
    again = imports.check(read_roster(out.getvalue()), imports.ROSTER)
    assert again.errors == {} and len(again.valid) == 1


def test_id_number_check_agrees_with_stdnum():
    import random

    from stdnum.cn import ric

    rng = random.Random(11)
    samples = [male_id(n) for n in range(50)] + ["42011120030101000X", "420111200302300017", "990111200301010018"]
    for _ in range(3000):
        body = rng.choice(["420111", "110101", "999999", "420100", "510107"]) + \
            f"{rng.randint(1900, 2030)}{rng.randint(0, 13):02d}{rng.randint(0, 32):02d}{rng.randint(0, 999):03d}"
        samples.append(body + (ric.calc_check_digit(body + "0") if rng.random() < 0.8 else rng.choice("0123456789X")))
    for number in samples:
        assert (imports.id_number_problem(number) is None) == ric.is_valid(number), number


@pytest.mark.parametrize("address, ok", [
    ("zhang.san+job@mail.whu.edu.cn", True), ("hr@xingguang-tech.com", True), ("a@b.cn", True),
    ("张三@whu.edu.cn", False), ("a b@x.cn", False), ("a@x", False), ("a@@x.cn", False),
    ("x" * 65 + "@whu.edu.cn", False), ("a@" + "b" * 116 + ".cn", False), ("a@" + "b" * 115 + ".cn", True),
])
def test_one_email_rule_for_import_registration_and_profile(address, ok):
    """The roster import's column check and the forms (workflow.valid_email) use the same rule."""
    from app import workflow
    from imports import validate

    assert validate.is_email(address) is ok
    assert workflow.fields.valid_email(address) is ok

"""导入学生生源 in the national 毕业生生源信息 layout (issue 26): pinyin column codes in any case,
code values mapped to our fields, the national codes kept, Chinese row errors, the same
all-or-nothing rule and frozen fields, and the template of both layouts."""
import io
from datetime import datetime

from openpyxl import load_workbook
from sqlalchemy import select

import imports
from app import codes, importing
from app.extensions import db
from app.models import Student
from tests.support import factories as f
from tests.support.spreadsheets import csv_bytes, female_id, male_id, roster_row, xlsx

NATIONAL = importing.NATIONAL_ROSTER
HEADER = NATIONAL.labels


def national_row(n, **kw):
    """One valid national-layout row (text cells) in NATIONAL's column order."""
    values = dict(school_code="10486", school_name="武汉大学", student_no=f"2023{n:06d}", exam_no=f"23420111150{n:03d}",
                  name=f"学生{chr(0x4e00 + n % 500)}", id_number=female_id(n), gender="2", ethnicity="01",
                  political="03", education="31", major_code="080902", major="软件工程", department="计算机学院",
                  training_mode="1", origin_region="420111", phone=f"139{n:08d}", email=f"n{n}@example.edu.cn",
                  graduation_year="2026")
    values.update(kw)
    return [values[c.key] for c in NATIONAL.columns]


def read(rows, header=HEADER, fmt="xlsx"):
    data = xlsx(rows, header=header) if fmt == "xlsx" else csv_bytes(rows, header=header, encoding="gbk")
    return imports.read(data, importing.ROSTER_LAYOUTS)


def test_the_header_row_picks_the_layout():
    assert read([national_row(1)]).spec is NATIONAL
    assert read([national_row(1)], header=[h.upper() for h in HEADER]).spec is NATIONAL
    assert read([roster_row(1)], header=imports.ROSTER.labels).spec is imports.ROSTER


def test_a_national_file_imports_as_it_is_with_codes_mapped_and_kept():
    school = f.make_school()  # 10486
    rows = [national_row(1), national_row(2, gender="1", id_number=male_id(2), education="11", training_mode="2",
                                          ethnicity="8", political="13", graduation_year="20260630")]
    outcome, checked = importing.import_roster(school, read(rows, header=[h.upper() for h in HEADER], fmt="csv"))
    assert (outcome.created, outcome.refused, outcome.written) == (2, 0, True), checked.errors
    s1, s2 = db.session.scalars(select(Student).where(Student.school_id == school.id).order_by(Student.student_no)).all()
    assert (s1.gender, s1.education, s1.training_mode, s1.graduation_year) == ("女", "本科生毕业", "non_targeted", 2026)
    assert (s1.exam_no, s1.ethnicity, s1.political, s1.major_code, s1.origin_region) == (
        "23420111150001", "01", "03", "080902", "420111")
    assert (s1.department, s1.major) == ("计算机学院", "软件工程")
    # 民族 8 (a number cell dropped the 0) is 08; a graduation date gives its year
    assert (s2.gender, s2.education, s2.training_mode, s2.ethnicity, s2.political, s2.graduation_year) == (
        "男", "硕士生毕业", "targeted", "08", "13", 2026)


def test_wrong_codes_get_row_numbered_chinese_reasons_and_nothing_is_written():
    school = f.make_school()
    rows = [national_row(1), national_row(2, gender="3"), national_row(3, education="21", training_mode="9"),
            national_row(4, school_code="10487"), national_row(5, origin_region="999999"), national_row(6, ethnicity="60")]
    outcome, checked = importing.import_roster(school, read(rows))
    assert outcome.written is False and db.session.scalar(select(Student.id).where(Student.school_id == school.id)) is None
    assert checked.reason(3) == "xbdm：3 不是性别代码"
    assert "xldm：21 不是学历代码" in checked.reason(4) and "pyfsdm：9 不是培养方式代码" in checked.reason(4)
    assert checked.reason(5) == "yxdm：10487 不是本校院校代码（10486）"
    assert checked.reason(6).startswith("syszddm：999999 不是生源所在地")
    assert checked.reason(7) == "mzdm：60 不是民族代码"
    assert 2 not in checked.errors
    # 只导入正确的行 writes the good one
    outcome, _ = importing.import_roster(school, read(rows), valid_only=True)
    assert (outcome.created, outcome.refused) == (1, 5)


def test_missing_national_columns_are_named():
    header = [h for h in HEADER if h not in ("xbdm", "sfzh")]
    rows = [[v for h, v in zip(HEADER, national_row(1)) if h in header]]
    try:
        read(rows, header=header)
    except imports.ImportRefused as exc:
        assert "缺少列：sfzh、xbdm" in str(exc)
    else:
        raise AssertionError("a file without sfzh and xbdm was read")


def test_reimport_keeps_the_frozen_fields_of_a_signed_student():
    school = f.make_school()
    importing.import_roster(school, read([national_row(60)]))
    student = db.session.scalar(select(Student).where(Student.student_no == "2023000060"))
    student.verified_at = datetime(2026, 3, 1)
    db.session.commit()
    f.accepted_offer(f.make_employer(approved_by=school), student)
    _outcome, checked = importing.import_roster(school, read([national_row(60, name="改名")]))
    assert "姓名不能修改" in checked.reason(2)
    outcome, _ = importing.import_roster(school, read([national_row(60, political="01")]))
    assert outcome.updated == 1
    db.session.expire_all()
    assert db.session.get(Student, student.id).political == "01"


def test_our_template_import_leaves_the_national_codes_alone():
    school = f.make_school()
    importing.import_roster(school, read([national_row(7)]))
    row = roster_row(7, student_no="2023000007", id_number=female_id(7), gender="女", phone="13900000007",
                     email="n7@example.edu.cn", major="软件工程")
    outcome, checked = importing.import_roster(school, read([row], header=imports.ROSTER.labels))
    assert outcome.refused == 0, checked.errors
    student = db.session.scalar(select(Student).where(Student.student_no == "2023000007"))
    assert (student.ethnicity, student.exam_no) == ("01", "23420111150007")


def test_code_tables_name_their_source_and_match_the_labels():
    from app import labels

    for name in codes.TABLES:
        table = codes.table(name)
        assert table and len(table) == len(set(table.values())), name
        assert any(word in codes.source(name) for word in ("GB/T", "教育部")), name
    assert labels.EDUCATION == list(codes.table("education").values())
    assert labels.EMPLOYER_NATURE == codes.table("employer_nature")
    assert set(labels.OUTCOME_CODE) <= set(codes.table("outcome"))
    assert len(codes.table("ethnicity")) == 58 and codes.label("ethnicity", "08") == "壮族"
    assert codes.code_of("job_category", "工程技术人员") == "13"


def test_the_school_downloads_both_templates_and_uploads_a_national_file(w, client, login):
    login(client, w.logins["school"].username)
    ours = load_workbook(io.BytesIO(client.get("/school/import/template").data))
    national = load_workbook(io.BytesIO(client.get("/school/import/template?layout=national").data))
    assert [c.value for c in ours.worksheets[0][1]] == imports.ROSTER.labels
    assert [c.value for c in national.worksheets[0][1]] == HEADER
    assert "下载全国格式模板" in client.get("/school/import/").get_data(as_text=True)
    school = w.student.school
    data = xlsx([national_row(90, school_code=school.code)], header=[h.upper() for h in HEADER])
    r = client.post("/school/import/upload", data={"file": (io.BytesIO(data), "生源信息.xlsx")},
                    content_type="multipart/form-data")
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "1 条导入，0 条更新，0 条未通过" in page
    student = db.session.scalar(select(Student).where(Student.student_no == "2023000090"))
    assert student is not None and student.school_id == school.id and student.origin_region == "420111"


def test_the_school_sees_the_national_codes_by_their_labels(w, client, login):
    school = w.student.school
    importing.import_roster(school, read([national_row(91, school_code=school.code, ethnicity="08", political="01",
                                                       origin_region="429004")]))
    student = db.session.scalar(select(Student).where(Student.student_no == "2023000091"))
    login(client, w.logins["school"].username)
    html = client.get(f"/school/students/show/{student.id}").get_data(as_text=True)
    for text in ("考生号", "23420111150091", "壮族", "中国共产党党员", "湖北省仙桃市", "080902"):
        assert text in html, text

"""Spreadsheet exports: sheets and headers, formula injection, audit, scoping, owner-only downloads."""
import csv
import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.support.factories import make_user


def xlsx(response):
    assert response.status_code == 200, response.status_code
    return load_workbook(io.BytesIO(response.data))


def audits():
    from app.extensions import db
    from app.models import ExportAudit

    return db.session.scalars(select(ExportAudit).order_by(ExportAudit.id)).all()


# ---------------------------------------------------------------- statistics workbook

def test_statistics_workbook_has_the_sheets_headers_and_numbers(stats_world, client, login):
    make_user("province", username="prov")
    login(client, "prov")
    wb = xlsx(client.get("/stats/province/workbook?year=2026"))
    assert wb.sheetnames[:1] == ["汇总"]
    for name in ("按学校", "按专业", "按单位性质", "按地区", "按去向", "每日签约"):
        assert name in wb.sheetnames
    ws = wb["按学校"]
    assert [c.value for c in ws[1]] == ["院校代码", "学校名称", "毕业生人数", "已落实(审核通过)", "待审核", "电子签约",
                                        "纸质签约", "其他去向", "未就业", "就业率"]
    assert ws.freeze_panes == "A2"
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["10486"][2:9] == (7, 3, 2, 2, 1, 2, 2)
    assert rows["10486"][9] == pytest.approx(3 / 7)
    assert ws.cell(2, 10).number_format == "0.0%"
    assert ws.column_dimensions["B"].width >= 20
    summary = {r[0]: r[1] for r in wb["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["毕业生人数"] == 9 and summary["就业率"] == pytest.approx(4 / 9)
    assert "审核通过" in summary["口径说明"]
    daily = list(wb["每日签约"].iter_rows(values_only=True))
    assert daily[0] == ("日期", "发出邀约", "应约/录入", "签约审核通过", "解约审核通过")
    assert daily[1] == ("2026-05-11", 4, 3, 2, 0)


def test_school_workbook_has_only_its_own_school(stats_world, client, login):
    make_user("school", stats_world["b"], username="rev-b")
    login(client, "rev-b")
    wb = xlsx(client.get(f"/stats/school/workbook?year=2026&school_id={stats_world['a'].id}"))
    codes = [r[0] for r in wb["按学校"].iter_rows(min_row=2, values_only=True)]
    assert codes == ["10487"]
    names = {r[0] for r in wb["按专业"].iter_rows(min_row=2, values_only=True)}
    assert names == {"华中科技大学"}


# ---------------------------------------------------------------- detailed lists (jobs)

def _export(client, base, **form):
    r = client.post(f"{base}/export", data=form)
    assert r.status_code == 302, r.status_code
    job_url = r.headers["Location"]
    page = client.get(job_url).get_data(as_text=True)
    assert "导出完成" in page, page
    return job_url


def test_province_certified_list_layout_audit_and_formula_injection(stats_world, client, login):
    prov = make_user("province", username="prov")
    login(client, "prov")
    job_url = _export(client, "/stats/province", year="2026", format="xlsx")
    wb = xlsx(client.get(job_url + "/download"))
    ws = wb.active
    header = [c.value for c in ws[1]]
    assert header[:6] == ["毕业年度", "院校代码", "学校名称", "学号", "姓名", "身份证号"]
    assert "协议书编号" in header and "协议书状态" in header and "统一社会信用代码" in header
    assert ws.freeze_panes == "A2"
    rows = [dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True)]
    # Certified agreements of 2026: s1, s3 (paper), t1; s7's was terminated, s2's only accepted.
    assert sorted(r["姓名"] for r in rows) == ["张一", "王三", "郑一"]
    assert {r["身份证号"] for r in rows} == {stats_world["s"][0].id_number, stats_world["s"][2].id_number, stats_world["t1"].id_number}
    assert all(r["协议书状态"] == "签约审核通过" for r in rows)
    paper = next(r for r in rows if r["姓名"] == "王三")
    assert paper["单位性质"] == "国有企业" and paper["签约类型"] == "纸质签约"
    # The employer name starts with "=": a string cell, never a formula.
    idx = header.index("单位名称") + 1
    cell = next(c for c in ws.iter_rows(min_row=2, min_col=idx, max_col=idx) if c[0].value.startswith("="))[0]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    [audit] = audits()
    assert (audit.user_id, audit.what, audit.row_count) == (prov.id, "certified_list", 3)
    assert json.loads(audit.filters)["year"] == 2026


def test_certified_list_as_csv_prefixes_formula_text(stats_world, client, login):
    make_user("province", username="prov")
    login(client, "prov")
    job_url = _export(client, "/stats/province", year="2026", format="csv")
    r = client.get(job_url + "/download")
    text = r.data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "毕业年度" and len(rows) == 4
    names = [row[rows[0].index("单位名称")] for row in rows[1:]]
    assert "'=HYPERLINK(\"http://x\")国企" in names and not any(n.startswith("=") for n in names)


def _run_certified(fmt, user_id):
    from types import SimpleNamespace

    from app.jobs import exports

    seen = []
    result = exports.certified_list(SimpleNamespace(user_id=user_id), {"year": 2026, "format": fmt},
                                    lambda done, total=None: seen.append((done, total)))
    with open(exports.export_path(user_id, result["file"]), "rb") as fh:
        return result, fh.read(), seen


def _expected_certified(guard):
    """The list as Python formats it, row by row, from the ORM: what COPY must reproduce."""
    from app import labels, regions
    from app.extensions import db
    from app.models import Agreement, Employer
    from app.spreadsheets import csv_safe

    out = []
    for a in db.session.scalars(select(Agreement).where(Agreement.status == "certified")):
        s = a.student
        employer = db.session.scalar(select(Employer).where(Employer.credit_code == a.employer_credit_code))
        day = labels.fmt_date(a.certified_at)
        row = [s.graduation_year, s.school.code, s.school.name, s.student_no, s.name, s.id_number, s.gender,
               s.education, s.department, s.major, "10", labels.OUTCOME_CODE["10"], a.employer_name,
               a.employer_credit_code, labels.EMPLOYER_NATURE.get(employer.nature, ""),
               regions.full_name(employer.region), a.job_category, a.position, regions.full_name(a.work_region),
               labels.AGREEMENT_KIND[a.kind], a.number, labels.AGREEMENT_STATUS[a.status], day]
        out.append([csv_safe(v) if guard else v for v in row])
    return sorted(out, key=lambda r: (r[1], r[20]))


def test_certified_list_csv_and_xlsx_equal_the_row_by_row_formatting(stats_world):
    """On PostgreSQL the list comes out of COPY (formatted in SQL); on SQLite row by row: both must
    give exactly what Python's own formatting gives — labels, full region names, dates, guard."""
    from app.extensions import db

    prov = make_user("province", username="prov")
    db.session.commit()
    expected = _expected_certified(guard=True)
    assert any(r[12].startswith("'=") for r in expected)  # the stats_world has a "=…" employer name
    assert {r[15] for r in expected} >= {"湖北省武汉市洪山区"}
    result, body, seen = _run_certified("csv", prov.id)
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:2] == ["毕业年度", "院校代码"] and result["rows"] == len(rows) - 1 == 3
    assert rows[1:] == [[str(v) for v in r] for r in expected]
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)

    result, body, _ = _run_certified("xlsx", prov.id)
    ws = load_workbook(io.BytesIO(body)).active
    got = [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]
    plain = _expected_certified(guard=False)
    assert got == plain
    cell = next(c for row in ws.iter_rows(min_row=2) for c in row if str(c.value).startswith("="))
    assert cell.data_type == "s" and cell.quotePrefix


def test_certified_list_needs_a_year(stats_world, client, login):
    make_user("province", username="prov")
    login(client, "prov")
    r = client.post("/stats/province/export", data={"format": "xlsx"}, follow_redirects=True)
    assert "请先选择毕业年度" in r.get_data(as_text=True)
    assert audits() == []


def test_school_students_list_is_own_school_with_outcomes(stats_world, client, login):
    rev = make_user("school", stats_world["a"], username="rev-a")
    login(client, "rev-a")
    # A school_id for school B in the form is ignored: the reviewer's own school is forced.
    job_url = _export(client, "/stats/school", year="2026", school_id=str(stats_world["b"].id), format="xlsx")
    ws = xlsx(client.get(job_url + "/download")).active
    header = [c.value for c in ws[1]]
    rows = {r[header.index("姓名")]: dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"张一", "李二", "王三", "赵四", "钱五", "孙六", "周七"}  # no 郑一/冯二 (school B)
    assert rows["张一"]["身份证号"] == stats_world["s"][0].id_number
    assert rows["张一"]["就业状态"] == "已就业" and rows["张一"]["协议书编号"]
    assert rows["李二"]["就业状态"] == "已签约，待学校审核"
    assert rows["赵四"]["毕业去向代码"] == "80" and rows["赵四"]["就业状态"] == "已落实去向"
    assert rows["钱五"]["就业状态"] == "去向待学校审核"
    assert rows["周七"]["就业状态"] == "未就业" and rows["周七"]["毕业去向代码"] == "70"
    [audit] = audits()
    assert (audit.user_id, audit.what, audit.row_count) == (rev.id, "school_students", 7)
    assert json.loads(audit.filters)["school_id"] == stats_world["a"].id


def test_export_download_only_by_its_owner(stats_world, client, app, login):
    make_user("school", stats_world["a"], username="rev-a")
    make_user("school", stats_world["a"], username="rev-a2")
    make_user("province", username="prov")
    login(client, "rev-a")
    job_url = _export(client, "/stats/school", year="2026")
    other = app.test_client()
    login(other, "rev-a2")  # same school, another login: not the owner
    assert other.get(job_url).status_code == 404
    assert other.get(job_url + "/download").status_code == 404
    prov = app.test_client()
    login(prov, "prov")
    run_id = job_url.rstrip("/").split("/")[-1]
    assert prov.get(f"/stats/province/job/{run_id}/download").status_code == 404  # another kind, another user


# ---------------------------------------------------------------- employers' 导出列表

def test_employer_export_has_only_its_own_rows_with_masked_ids(stats_world, client, login):
    make_user("employer", stats_world["e2"], username="emp2")
    login(client, "emp2")
    ws = xlsx(client.get("/employer/export/?tab=accepted")).active
    header = [c.value for c in ws[1]]
    assert header[:3] == ["院校名称", "姓名", "身份证号"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [r[1] for r in rows] == ["李二"]  # E2's accepted offer; E1's students never appear
    assert rows[0][2] != stats_world["s"][1].id_number and "*" in rows[0][2]
    # s6's offer is 待应约 or 已过期 depending on today's date (R4): in exactly one of the two tabs.
    found = [r[1] for tab in ("pending", "expired")
             for r in xlsx(client.get(f"/employer/export/?tab={tab}")).active.iter_rows(min_row=2, values_only=True)]
    assert found == ["孙六"]
    assert audits()[-1].what == "employer_offers"


def test_employer_export_name_filter(stats_world, client, login):
    make_user("employer", stats_world["e1"], username="emp1")
    login(client, "emp1")
    rows = list(xlsx(client.get("/employer/export/?tab=certified")).active.iter_rows(min_row=2, values_only=True))
    assert sorted(r[1] for r in rows) == ["周七", "张一", "郑一"]
    rows = list(xlsx(client.get("/employer/export/?tab=certified&name=张一")).active.iter_rows(min_row=2,
                                                                                                values_only=True))
    assert [r[1] for r in rows] == ["张一"]


@pytest.mark.parametrize("role", ["student", "school", "province"])
def test_employer_export_refused_to_other_roles(stats_world, client, login, role):
    party = {"student": stats_world["s"][0], "school": stats_world["a"], "province": None}[role]
    make_user(role, party, username=f"u-{role}")
    login(client, f"u-{role}")
    assert client.get("/employer/export/?tab=certified").status_code == 403


def test_sheet_writer_stores_every_formula_prefix_as_text():
    from app import spreadsheets

    wb = spreadsheets.new_workbook()
    sheet = spreadsheets.SheetWriter(wb, "t", ["a", "b", "c", "d", "e"])
    sheet.append(["=1+1", "+1", "-1", "@SUM(A1)", -5])
    buf = io.BytesIO()
    wb.save(buf)
    ws = load_workbook(io.BytesIO(buf.getvalue()))["t"]
    cells = ws[2]
    assert [c.value for c in cells] == ["=1+1", "+1", "-1", "@SUM(A1)", -5]
    assert [c.data_type for c in cells[:4]] == ["s"] * 4
    assert cells[4].data_type == "n"  # a real negative number stays a number
    assert spreadsheets.csv_safe("=1+1") == "'=1+1" and spreadsheets.csv_safe("abc") == "abc" and spreadsheets.csv_safe(-5) == -5


@pytest.mark.parametrize("kind", ["school_students", "national_outcomes", "certified_list"])
def test_a_list_longer_than_one_progress_step_streams_to_the_end(stats_world, monkeypatch, kind):
    """progress() commits the job's session every PROGRESS_EVERY rows; on PostgreSQL that closed the
    server-side cursor of a list streamed on the session's connection ("cursor … does not exist"
    after 5,000 rows of a big school's 学生就业去向名单)."""
    from types import SimpleNamespace

    from app.extensions import db
    from app.jobs import exports

    monkeypatch.setattr(exports, "PROGRESS_EVERY", 2)
    rev = make_user("school", stats_world["a"], username="rev-a")

    def progress(done, total=None):
        db.session.commit()

    params = {"year": 2026, "school_id": stats_world["a"].id, "format": "csv"}
    result = getattr(exports, kind)(SimpleNamespace(user_id=rev.id), params, progress)
    assert result["rows"] == {"school_students": 7, "national_outcomes": 7, "certified_list": 2}[kind]

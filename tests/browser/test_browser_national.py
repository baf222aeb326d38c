"""National formats in a real browser (issue 26): a school uploads the national 生源 file as the
national system gives it (pinyin column codes, code values), and the province checks and exports
the national 毕业去向 file as GB18030 CSV."""
import csv
import io

import openpyxl
from playwright.sync_api import expect

from app import codes, national
from tests.support.spreadsheets import female_id, male_id


def test_school_uploads_a_national_layout_roster(server, actors, tmp_path):
    sch = actors("school-national")
    sch.login("school-10486")
    sch.nav("导入学生生源")
    data = sch.download(lambda: sch.page.locator("a.btn", has_text="下载全国格式模板").click())
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[:6] == ["yxdm", "yxmc", "xh", "ksh", "xm", "sfzh"]
    ws.delete_rows(2)  # the sample row
    rows = [
        {"yxdm": "10486", "yxmc": "武汉大学", "xh": "2023990001", "ksh": "23420111159001", "xm": "国标一",
         "sfzh": female_id(9001), "xbdm": "2", "mzdm": "01", "zzmmdm": "03", "xldm": "31", "zydm": "080902",
         "zymc": "软件工程", "fy": "计算机学院", "pyfsdm": "1", "syszddm": "429004", "sjhm": "13912399001",
         "dzyx": "gb1@example.edu.cn", "bynf": "2027"},
        {"yxdm": "10486", "yxmc": "武汉大学", "xh": "2023990002", "ksh": "23420111159002", "xm": "国标二",
         "sfzh": male_id(9002), "xbdm": "1", "mzdm": "08", "zzmmdm": "13", "xldm": "11", "zydm": "070101",
         "zymc": "数学", "fy": "数学学院", "pyfsdm": "1", "syszddm": "500229", "sjhm": "13912399002",
         "dzyx": "gb2@example.edu.cn", "bynf": "2027"},
    ]
    for row in rows:
        ws.append([row[h] for h in header])
    for r in range(2, 4):  # ID numbers and codes are text, as the national system writes them
        for c in range(1, len(header) + 1):
            ws.cell(r, c).number_format = "@"
    ws.cell(1, 1).value = "YXDM"  # upper-case codes are read too
    path = tmp_path / "生源信息.xlsx"
    wb.save(path)

    sch.page.set_input_files("#import-file", str(path))
    sch.submit(sch.page.get_by_role("button", name="上传并导入"))
    expect(sch.page.locator("h3")).to_contain_text("导入结果")
    expect(sch.page.locator("#run-progress")).to_have_count(0, timeout=30_000)
    expect(sch.page.locator("#import-summary")).to_contain_text("2 条导入")
    sch.shot("school-import-national")
    assert server.query("SELECT gender, education, ethnicity, origin_region FROM student WHERE student_no = ?",
                        "2023990002") == [("男", "硕士生毕业", "08", "500229")]


def test_province_checks_and_exports_the_national_outcomes(server, actors):
    prov = actors("province-national")
    prov.login("province")
    prov.nav("统计总览")
    prov.submit(prov.page.get_by_role("link", name="导出前检查"))
    expect(prov.page.locator("h3")).to_contain_text("导出前检查")
    prov.shot("province-national-check")
    listed = prov.page.locator("tbody tr td:nth-child(2)").all_inner_texts()  # 学号 of each listed graduate
    prov.page.get_by_role("link", name="返回统计总览").click()
    form = prov.page.locator("form", has=prov.page.get_by_role("button", name="导出毕业去向数据（全国格式）"))
    form.locator("select[name=format]").select_option("csv-gb18030")
    prov.submit(form.get_by_role("button", name="导出毕业去向数据（全国格式）"))
    expect(prov.page.locator("#export-summary")).to_be_visible(timeout=60_000)
    prov.shot("province-national-export")
    data = prov.download(lambda: prov.page.get_by_role("link", name="下载").first.click())
    rows = list(csv.reader(io.StringIO(data.decode("gb18030"))))
    header = rows[0]
    assert header == [code for code, _ in national.COLUMNS]
    body = [dict(zip(header, r)) for r in rows[1:]]
    [(graduates,)] = server.query("SELECT count(*) FROM student WHERE graduation_year = "
                                  "(SELECT max(graduation_year) FROM student)")
    assert len(body) == graduates
    certified = [r for r in body if r["byqxdm"] == "10"]
    coded = [r for r in certified if r["dwxzdm"] in codes.table("employer_nature") and r["dwhydm"]]
    # every certified row is coded, or 导出前检查 listed it (a 纸质签约 with an employer not registered)
    assert coded and sorted(r["xh"] for r in certified if r not in coded) == sorted(
        no for no in listed if no in {r["xh"] for r in certified})
    assert all(r["byqxdm"] in codes.table("outcome") and r["xbdm"] in codes.table("gender") for r in body)

"""毕业去向数据 in the national layout (issue 26): one row per graduate with national codes from the
live, confirmed outcome; .xlsx, CSV in UTF-8 or GB18030; 导出前检查; scoped to the school; and the
round trip from a national 生源 file through the flows to the national 毕业去向 file."""
import csv
import io

from openpyxl import load_workbook

from app import codes, importing, national, regions, workflow
from app.extensions import db
from app.models import Employer, ExportAudit
from tests.support.factories import at, certified_offer, make_employer, make_reviewer, make_school, make_user, proof
from tests.support.spreadsheets import xlsx as xlsx_bytes

HEADER = [code for code, _ in national.COLUMNS]


def _export(client, base, **form):
    r = client.post(f"{base}/export", data={"kind": "national_outcomes", **form})
    assert r.status_code == 302, r.status_code
    job_url = r.headers["Location"]
    page = client.get(job_url).get_data(as_text=True)
    assert "导出完成" in page, page
    return job_url, page


def _rows(client, job_url, fmt="xlsx", encoding="utf-8-sig"):
    data = client.get(job_url + "/download").data
    if fmt == "xlsx":
        ws = load_workbook(io.BytesIO(data)).active
        rows = [[("" if v is None else str(v)) for v in r] for r in ws.iter_rows(values_only=True)]
    else:
        rows = list(csv.reader(io.StringIO(data.decode(encoding))))
    assert rows[0] == HEADER
    return {r[HEADER.index("xm")]: dict(zip(HEADER, r)) for r in rows[1:]}


def test_province_exports_every_graduate_with_national_codes(stats_world, client, login):
    make_user("province", username="prov")
    login(client, "prov")
    job_url, _page = _export(client, "/stats/province", year="2026", format="xlsx")
    rows = _rows(client, job_url)
    assert set(rows) == {"张一", "李二", "王三", "赵四", "钱五", "孙六", "周七", "郑一", "冯二"}
    e1 = stats_world["e1"]
    s1 = rows["张一"]
    assert (s1["yxdm"], s1["xbdm"], s1["xldm"], s1["pyfsdm"], s1["byqxdm"]) == ("10486", "1", "31", "1", "10")
    assert (s1["dwmc"], s1["tyshxydm"], s1["dwxzdm"], s1["dwhydm"], s1["dwszddm"]) == (
        e1.name, e1.credit_code, "39", "I", e1.region)
    assert s1["gzzwlbdm"] == codes.code_of("job_category", stats_world["ag1"].job_category)
    assert rows["王三"]["byqxdm"] == "10" and rows["王三"]["xbdm"] == "2" and rows["王三"]["xldm"] == "11"  # paper
    assert rows["赵四"]["byqxdm"] == "80" and rows["赵四"]["dwmc"] == "武汉大学"
    assert rows["李二"]["byqxdm"] == "70"  # accepted, not yet certified: not an outcome to report
    assert rows["钱五"]["byqxdm"] == "70"  # destination submitted, not approved
    assert rows["周七"]["byqxdm"] == "70" and rows["周七"]["dwmc"] == ""  # terminated
    assert rows["冯二"]["xldm"] == "41"
    for row in rows.values():  # every code is in its table
        assert row["byqxdm"] in codes.table("outcome") and row["byqx"] == codes.label("outcome", row["byqxdm"])
        assert row["xbdm"] in codes.table("gender") and row["xldm"] in codes.table("education")
        assert row["pyfsdm"] in codes.table("training_mode")
        if row["byqxdm"] == "10":
            assert row["dwxzdm"] in codes.table("employer_nature") and row["dwhydm"] in codes.table("industry")
            assert row["gzzwlbdm"] in codes.table("job_category") and regions.is_valid(row["dwszddm"])
    audit = db.session.query(ExportAudit).one()
    assert (audit.what, audit.row_count) == ("national_outcomes", 9)


def test_gb18030_csv_for_older_tools(stats_world, client, login):
    make_user("province", username="prov")
    login(client, "prov")
    job_url, _ = _export(client, "/stats/province", year="2026", format="csv-gb18030")
    data = client.get(job_url + "/download").data
    assert not data.startswith(b"\xef\xbb\xbf")  # no UTF-8 BOM
    rows = _rows(client, job_url, fmt="csv", encoding="gb18030")
    assert rows["张一"]["yxmc"] == "武汉大学"
    utf8 = _rows(client, _export(client, "/stats/province", year="2026", format="csv")[0], fmt="csv")
    assert utf8["张一"] == rows["张一"]


def test_a_school_exports_only_its_own_graduates(stats_world, client, login):
    make_user("school", stats_world["b"], username="rev-b")
    login(client, "rev-b")
    job_url, _ = _export(client, "/stats/school", year="2026", school_id=str(stats_world["a"].id), format="xlsx")
    assert set(_rows(client, job_url)) == {"郑一", "冯二"}


def test_the_check_lists_rows_that_cannot_be_coded(stats_world, client, login):
    e1 = db.session.get(Employer, stats_world["e1"].id)
    e1.industry = None
    db.session.commit()
    make_user("province", username="prov")
    login(client, "prov")
    page = client.get("/stats/province/national-check?year=2026").get_data(as_text=True)
    assert "签约单位缺少单位行业" in page and "张一" in page and "郑一" in page
    assert f"/console/agreements/details/?id={stats_world['ag1'].id}" in page
    count, rows = national.problems(national_filters(year=2026))
    assert count == 2 and {r[2] for r in rows} == {"张一", "郑一"}
    _job, run_page = _export(client, "/stats/province", year="2026", format="xlsx")
    assert "其中 2 行的单位代码不完整" in run_page


def test_a_school_checks_its_own_graduates_only(stats_world, client, login):
    """… each linked to the school's own 签约审核 page."""
    e1 = db.session.get(Employer, stats_world["e1"].id)
    e1.industry = None
    db.session.commit()
    make_user("school", stats_world["b"], username="rev-b")
    login(client, "rev-b")
    page = client.get("/stats/school/national-check").get_data(as_text=True)
    assert "郑一" in page and "张一" not in page and f"/school/review/{stats_world['agt1'].id}" in page


def national_filters(**kw):
    from app.stats import Filters

    return Filters(**kw)


def test_round_trip_from_the_national_roster_to_the_national_outcomes(client, login):
    """A national-layout 生源 file for two schools → import → offers, certification, a destination →
    the national 毕业去向 file: every code checks against its table and the 生源 codes come back."""
    from tests.test_imports_national import HEADER as ROSTER_HEADER, national_row

    a, b = make_school("10486", "武汉大学"), make_school("10487", "华中科技大学")
    for school, first in ((a, 1), (b, 20)):
        rows = [national_row(n, school_code=school.code, ethnicity=f"{n % 56 + 1:02d}",
                             political=("01", "03", "13")[n % 3], education=("31", "11", "01", "41")[n % 4],
                             origin_region=("420111", "429004", "500229")[n % 3]) for n in range(first, first + 6)]
        outcome, checked = importing.import_roster(school, importing.imports.read(
            xlsx_bytes(rows, header=ROSTER_HEADER), importing.ROSTER_LAYOUTS))
        assert outcome.created == 6, checked.errors
    from app.models import Student
    students = {s.student_no: s for s in db.session.query(Student).all()}
    for s in students.values():
        s.verified_at = at(days=-30).replace(tzinfo=None)
    db.session.commit()
    ra, rb = make_reviewer(a), make_reviewer(b)
    employer = make_employer(approved_by=a, nature="31", industry="C")
    certified_offer(employer, students["2023000001"], ra, work_region="420111")
    certified_offer(employer, students["2023000020"], rb, work_region="420111")
    d = workflow.submit_destination(students["2023000002"], "11",
                                    {"company": "武汉某某科技有限公司", "credit_code": employer.credit_code,
                                     "region": "420106", "contract_start": "2026-07-01"}, proof(), now=at(days=1))
    workflow.review_destination(ra, d, True, now=at(days=2))

    make_user("province", username="prov")
    login(client, "prov")
    rows = _rows(client, _export(client, "/stats/province", year="2026", format="csv")[0], fmt="csv")
    assert len(rows) == 12
    by_no = {r["xh"]: r for r in rows.values()}
    for no, row in by_no.items():
        s = students[no]
        assert (row["ksh"], row["mzdm"], row["zzmmdm"], row["syszddm"]) == (s.exam_no, s.ethnicity, s.political,
                                                                           s.origin_region)
        assert codes.label("gender", row["xbdm"]) == s.gender and codes.label("education", row["xldm"]) == s.education
        assert row["mzdm"] in codes.table("ethnicity") and row["zzmmdm"] in codes.table("political")
        assert regions.is_valid(row["syszddm"]) and row["byqxdm"] in codes.table("outcome")
    assert by_no["2023000001"]["byqxdm"] == "10" and by_no["2023000001"]["dwxzdm"] == "31"
    assert by_no["2023000001"]["dwhydm"] == "C" and by_no["2023000020"]["yxdm"] == "10487"
    assert (by_no["2023000002"]["byqxdm"], by_no["2023000002"]["dwmc"], by_no["2023000002"]["dwszddm"]) == (
        "11", "武汉某某科技有限公司", "420106")
    assert by_no["2023000003"]["byqxdm"] == "70"

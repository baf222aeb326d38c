"""Import pages: template download, upload, result counts, progress JSON, error report scoping."""
import io
import json
import os

import openpyxl
from sqlalchemy import select

from app.extensions import db
from app.models import InviteListEntry, JobRun, Student
from tests.support import factories as f
from tests.support.spreadsheets import CANDIDATE_HEADER, csv_bytes, roster_row, xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(client, url, data, name="名单.xlsx", valid_only=False):
    form = {"file": (io.BytesIO(data), name)}
    if valid_only:
        form["valid_only"] = "1"
    return client.post(url, data=form, content_type="multipart/form-data", follow_redirects=True)


def school_login(client):
    school = f.make_school()
    user = f.make_reviewer(school)
    f.login(client, user.username)
    return school, user


def test_school_import_page_and_template_download(client):
    school_login(client)
    page = client.get("/school/import/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "下载模板" in html and "只导入正确的行" in html and "没有初始密码" in html
    response = client.get("/school/import/template")
    assert response.status_code == 200 and response.mimetype == XLSX
    ws = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert ws["A1"].value == "学号"


def test_roster_upload_shows_counts_and_offers_the_error_report(client, app):
    school, user = school_login(client)
    folder = os.path.join(app.config["UPLOAD_DIR"], "imports")
    before = set(os.listdir(folder)) if os.path.isdir(folder) else set()
    rows = [roster_row(1), roster_row(2, phone="123"), roster_row(3)]
    page = upload(client, "/school/import/upload", xlsx(rows), valid_only=True)
    html = page.get_data(as_text=True)
    assert "2 条导入，0 条更新，1 条未通过" in html
    assert "下载错误报告" in html and "手机应为11位手机号码" in html
    run = db.session.scalar(select(JobRun).where(JobRun.user_id == user.id))
    report = client.get(f"/school/import/run/{run.id}/errors")
    assert report.status_code == 200 and report.mimetype == XLSX
    ws = openpyxl.load_workbook(io.BytesIO(report.data)).active
    assert ws.cell(row=1, column=12).value == "错误原因" and ws.max_row == 2
    # The uploaded file itself is not kept once the run finished.
    report_name = os.path.basename(json.loads(run.result)["errors_key"])
    assert set(os.listdir(folder)) - before == {report_name}
    # Uploading the same file again (all-or-nothing): nothing written, counts say so.
    page = upload(client, "/school/import/upload", xlsx(rows))
    assert "未导入任何数据" in page.get_data(as_text=True)
    assert len(db.session.scalars(select(Student)).all()) == 2


def test_refused_file_flashes_the_reason_and_stores_nothing(client, app):
    school_login(client)
    folder = os.path.join(app.config["UPLOAD_DIR"], "imports")
    before = set(os.listdir(folder)) if os.path.isdir(folder) else set()
    page = upload(client, "/school/import/upload", b"MZ\x90\x00" + b"\x00" * 1000, name="名单.xlsx")
    assert "按文件内容识别" in page.get_data(as_text=True)
    assert db.session.scalar(select(JobRun.id)) is None
    after = set(os.listdir(folder)) if os.path.isdir(folder) else set()
    assert after == before


def test_runs_and_reports_are_served_only_to_their_owner(client, app):
    school, user = school_login(client)
    upload(client, "/school/import/upload", xlsx([roster_row(1, phone="1")]))
    run = db.session.scalar(select(JobRun).where(JobRun.user_id == user.id))
    other = f.make_reviewer(school)
    other_client = app.test_client()
    f.login(other_client, other.username)
    for path in (f"/school/import/run/{run.id}", f"/school/import/run/{run.id}/status",
                 f"/school/import/run/{run.id}/errors"):
        assert client.get(path).status_code == 200, path
        assert other_client.get(path).status_code == 404, path
    # An employer cannot reach the school's import at all.
    employer_client = app.test_client()
    f.login(employer_client, f.make_user("employer", f.make_employer()).username)
    assert employer_client.get("/school/import/").status_code == 403
    assert employer_client.get(f"/employer/import/run/{run.id}").status_code == 404


def test_big_files_go_through_the_job_runner_and_report_progress(client, app, monkeypatch):
    from app.jobs import runs

    school, user = school_login(client)
    started = []
    real_start = runs.start

    def spy(kind, user_id, func_path, params=None, **kw):
        started.append((kind, user_id, func_path))
        return real_start(kind, user_id, func_path, params, **kw)

    monkeypatch.setattr(runs, "start", spy)
    monkeypatch.setitem(app.config, "IMPORT_ASYNC_ROWS", 3)
    rows = [roster_row(n) for n in range(1, 6)]
    page = upload(client, "/school/import/upload", csv_bytes(rows), name="big.csv")
    assert started == [("roster_import", user.id, "app.jobs.imports.roster")]
    assert "5 条导入" in page.get_data(as_text=True)
    run = db.session.scalar(select(JobRun).where(JobRun.user_id == user.id))
    status = client.get(f"/school/import/run/{run.id}/status").get_json()
    assert status["status"] == "done" and status["done"] == status["total"] == 5
    assert status["result"]["created"] == 5


def test_running_import_page_shows_a_progress_bar(client):
    _school, user = school_login(client)
    run = JobRun(kind="roster_import", user_id=user.id, status="running", total=8000, done=2000, params="{}")
    db.session.add(run)
    db.session.commit()
    html = client.get(f"/school/import/run/{run.id}").get_data(as_text=True)
    assert "progress-bar" in html and "2000 / 8000" in html and "25%" in html


def test_employer_candidate_import_fills_the_invite_list(client):
    school = f.make_school()
    student = f.make_student(school, name="陈晨", phone="13800000077")
    employer = f.make_employer(approved_by=school)
    f.login(client, f.make_user("employer", employer).username)
    assert client.get("/employer/import/").status_code == 200
    template = client.get("/employer/import/template")
    assert openpyxl.load_workbook(io.BytesIO(template.data)).active["D1"].value == "身份证号或手机号"
    data = csv_bytes([["武汉大学", "2026", "陈晨", "13800000077"]], header=CANDIDATE_HEADER, encoding="gbk")
    page = upload(client, "/employer/import/upload", data, name="名单.csv")
    html = page.get_data(as_text=True)
    assert "1 条导入签约发送列表" in html and "查看签约发送列表" in html
    assert db.session.scalar(select(InviteListEntry.student_id).where(InviteListEntry.employer_id == employer.id)) \
        == student.id
    assert "陈晨" in client.get("/employer/list/").get_data(as_text=True)


def test_candidate_import_needs_an_approved_employer_and_a_daily_quota(client, app):
    school = f.make_school()
    f.make_student(school, name="陈晨", phone="13800000077")
    waiting = f.make_employer()  # no school approval yet (R1)
    f.login(client, f.make_user("employer", waiting).username)
    data = csv_bytes([["武汉大学", "2026", "陈晨", "13800000077"]], header=CANDIDATE_HEADER)
    html = upload(client, "/employer/import/upload", data, name="名单.csv").get_data(as_text=True)
    assert "审核" in html and db.session.scalar(select(InviteListEntry.id)) is None
    f.logout(client)
    employer = f.make_employer(approved_by=school)
    f.login(client, f.make_user("employer", employer).username)
    app.config["CANDIDATE_IMPORT_DAILY_ROWS"] = 1
    try:
        assert "1 条导入签约发送列表" in upload(client, "/employer/import/upload", data, name="名单.csv").get_data(as_text=True)
        html = upload(client, "/employer/import/upload", data, name="名单.csv").get_data(as_text=True)
        assert "每个单位每天最多导入1行" in html
        assert db.session.query(JobRun).count() == 1
    finally:
        app.config["CANDIDATE_IMPORT_DAILY_ROWS"] = 20_000

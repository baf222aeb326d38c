"""JobRun runner (app.jobs.runs) and the two pages: JobRunView (owner only) and QueueAdminView
(province/admin: queues, failed jobs with traceback, retry; outbox; failed runs)."""
import json
import os
import signal

import pytest

from app.extensions import db
from app.jobs import runs
from app.models import JobRun, Notification
from tests.support.checks import reload
from tests.support.factories import make_employer, make_school, make_user
from tests.support.jobs import REDIS_URL, free_port


# Work functions (dotted paths, as imports/exports pass them).
def work_ok(run, params, progress):
    for i in range(1, params["n"] + 1):
        progress(i, params["n"])
    return {"写入": params["n"]}


def work_fails(run, params, progress):
    from app.importing import ImportFailed

    progress(1, 3)
    raise ImportFailed("第3行：身份证号格式不正确")


def work_breaks(run, params, progress):
    """A database error mid-run, as PostgreSQL tells it (SQL and personal data in the text)."""
    raise RuntimeError("(psycopg.errors.AdminShutdown) [SQL: INSERT INTO student (id_number) VALUES "
                       "('420111200301010011')]")


def work_dies(run, params, progress):
    progress(1, 2)
    os.kill(os.getpid(), signal.SIGKILL)  # the work-horse dies mid-run


def job_fails():
    raise ValueError("身份证号格式不正确")


@pytest.fixture
def users():
    school = make_school()
    employer = make_employer(approved_by=school)
    return make_user("employer", employer), make_user("employer", make_employer()), make_user("province")


# ---------------------------------------------------------------- runner

def test_inline_run_done_with_progress_and_result(users):
    owner = users[0]
    run = runs.start("export", owner.id, "tests.test_jobs_runs.work_ok", {"n": 4})
    run = reload(run)
    assert (run.status, run.done, run.total) == ("done", 4, 4)
    assert json.loads(run.result) == {"写入": 4} and run.rq_job_id is None
    assert run.started_at and run.finished_at


def test_failing_run_records_reason(users):
    run = runs.start("export", users[0].id, "tests.test_jobs_runs.work_fails", {})
    run = reload(run)
    assert run.status == "failed" and run.message == "第3行：身份证号格式不正确" and run.done == 1


def test_failing_run_shows_no_sql_but_a_reference_the_log_carries(users, caplog):
    """Issue "faults" finding 6: a failed import showed the school raw SQL."""
    run = reload(runs.start("import", users[0].id, "tests.test_jobs_runs.work_breaks", {}))
    assert run.status == "failed" and "SQL" not in run.message and "4201" not in run.message
    ref = run.message.split("参考编号 ")[1].split("）")[0]
    assert len(ref) == 8 and any(ref in r.getMessage() for r in caplog.records)


def test_execute_twice_does_nothing_the_second_time(users):
    run = runs.start("export", users[0].id, "tests.test_jobs_runs.work_ok", {"n": 2})
    assert runs.execute(run.id, "tests.test_jobs_runs.work_fails") is None  # already done: no re-run
    assert reload(run).status == "done"


def test_redis_down_runs_inline(app, users, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    run = runs.start("export", users[0].id, "tests.test_jobs_runs.work_ok", {"n": 1})
    assert reload(run).status == "done"


def test_queued_run_done_by_real_worker(app, users, redis_queue):
    from redis import Redis
    from rq import Queue, SimpleWorker

    run = runs.start("export", users[0].id, "tests.test_jobs_runs.work_ok", {"n": 3})
    run = reload(run)
    assert run.status == "queued" and run.rq_job_id
    conn = Redis.from_url(REDIS_URL)
    SimpleWorker([Queue(redis_queue, connection=conn)], connection=conn).work(burst=True)
    run = reload(run)
    assert (run.status, run.done, json.loads(run.result)) == ("done", 3, {"写入": 3})


def test_killed_work_horse_marks_run_failed(app, users, redis_queue):
    from redis import Redis
    from rq import Queue

    from app.jobs.worker import AppWorker

    run = runs.start("export", users[0].id, "tests.test_jobs_runs.work_dies", {})
    conn = Redis.from_url(REDIS_URL)
    queue = Queue(redis_queue, connection=conn)
    AppWorker([queue], connection=conn).work(burst=True)  # forking worker: the horse is SIGKILLed
    run = reload(run)
    assert run.status == "failed" and run.message == runs.INTERRUPTED and run.done == 1
    assert queue.failed_job_registry.count == 1


def test_sweep_resubmits_a_queued_run_whose_rq_job_is_gone(app, users, redis_queue):
    """Redis lost its data (it keeps nothing on disk): the queued run is submitted again."""
    from datetime import timedelta

    from redis import Redis
    from rq import Queue, SimpleWorker
    from rq.job import Job

    from app.models import utcnow

    run = runs.start("export", users[0].id, "tests.test_jobs_runs.work_ok", {"n": 1})
    conn = Redis.from_url(REDIS_URL)
    lost = reload(run).rq_job_id
    Job.fetch(lost, connection=conn).delete()
    assert runs.sweep_stale(now=utcnow()) == {"failed": 0, "resubmitted": 0}  # young: left alone
    assert runs.sweep_stale(now=utcnow() + timedelta(minutes=2)) == {"failed": 0, "resubmitted": 1}
    run = reload(run)
    assert run.status == "queued" and run.rq_job_id != lost
    SimpleWorker([Queue(redis_queue, connection=conn)], connection=conn).work(burst=True)
    assert reload(run).status == "done"


def _running(users, redis_queue, beat_seconds_ago):
    """A run in progress whose rq job last heard from its worker `beat_seconds_ago`."""
    from datetime import timedelta, timezone

    from redis import Redis
    from rq.job import Job, JobStatus

    from app.models import utcnow

    run = runs.start("export", users[0].id, "tests.test_jobs_runs.work_ok", {"n": 1})
    assert runs._claim(run.id)  # a worker started it
    job = Job.fetch(reload(run).rq_job_id, connection=Redis.from_url(REDIS_URL))
    job.set_status(JobStatus.STARTED)
    job.heartbeat(utcnow().replace(tzinfo=timezone.utc) - timedelta(seconds=beat_seconds_ago), 60)
    return run


def test_sweep_fails_a_run_whose_worker_went_silent(app, users, redis_queue):
    """Finding 5: a whole worker killed mid-import showed 进行中 for minutes. Its job stops
    beating (every 10 s while alive): silent for RUN_STALE_SECONDS (40) → failed."""
    alive = _running(users, redis_queue, beat_seconds_ago=5)
    dead = _running(users, redis_queue, beat_seconds_ago=45)
    assert runs.sweep_stale() == {"failed": 1, "resubmitted": 0}
    assert reload(alive).status == "running"
    dead = reload(dead)
    assert dead.status == "failed" and dead.message == runs.INTERRUPTED


def test_sweep_fails_a_running_run_whose_rq_job_is_gone(app, users, redis_queue):
    from redis import Redis
    from rq.job import Job

    run = runs.start("export", users[0].id, "tests.test_jobs_runs.work_ok", {"n": 1})
    assert runs._claim(run.id)
    Job.fetch(reload(run).rq_job_id, connection=Redis.from_url(REDIS_URL)).delete()
    assert runs.sweep_stale() == {"failed": 1, "resubmitted": 0}
    assert reload(run).status == "failed"


# ---------------------------------------------------------------- 重新执行

def test_rerun_really_runs_a_failed_export_again(app, users, redis_queue, monkeypatch):
    """Finding 5: 重试 showed 已重新排队 while rq ran a job that found the run failed and stopped."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    run = runs.start("export", users[0].id, "tests.test_jobs_runs.work_ok", {"n": 2})
    runs._fail(run.id, runs.INTERRUPTED)
    assert runs.rerun(run.id) is None
    run = reload(run)
    assert run.status == "queued" and run.message is None
    conn = Redis.from_url(REDIS_URL)
    SimpleWorker([Queue(redis_queue, connection=conn)], connection=conn).work(burst=True)
    run = reload(run)
    assert (run.status, run.done) == ("done", 2)
    assert runs.rerun(run.id) == "只有失败的任务可以重新执行"


def test_rerun_of_an_import_whose_file_is_gone_is_refused(app, users):
    run = runs.start("roster_import", users[0].id, "tests.test_jobs_runs.work_fails", {"file": "imports/gone.xlsx"})
    assert reload(run).status == "failed"
    assert "重新上传" in runs.rerun_refusal(reload(run))
    assert "重新上传" in runs.rerun(run.id)
    assert reload(run).status == "failed"


# ---------------------------------------------------------------- JobRunView

def test_owner_sees_status_json_and_page(client, login, users):
    owner, other, _ = users
    run = runs.start("export", owner.id, "tests.test_jobs_runs.work_fails", {})
    login(client, owner.username)
    data = client.get(f"/jobs/run/{run.id}.json").get_json()
    assert data["status"] == "failed" and data["status_label"] == "失败"
    assert data["message"] == "第3行：身份证号格式不正确" and data["finished"] is True
    page = client.get(f"/jobs/run/{run.id}").get_data(as_text=True)
    assert "失败原因" in page and "第3行：身份证号格式不正确" in page
    assert 'http-equiv="refresh"' not in page


def test_running_page_refreshes_and_shows_progress(client, login, users):
    owner = users[0]
    run = JobRun(kind="export", user_id=owner.id, status="running", done=50, total=200)
    db.session.add(run)
    db.session.commit()
    login(client, owner.username)
    page = client.get(f"/jobs/run/{run.id}").get_data(as_text=True)
    assert "进行中" in page and "25%" in page and 'http-equiv="refresh"' in page
    assert client.get(f"/jobs/run/{run.id}.json").get_json()["percent"] == 25


def test_other_users_run_is_404(client, login, users):
    owner, other, _ = users
    run = runs.start("export", owner.id, "tests.test_jobs_runs.work_ok", {"n": 1})
    login(client, other.username)
    assert client.get(f"/jobs/run/{run.id}.json").status_code == 404
    assert client.get(f"/jobs/run/{run.id}").status_code == 404


# ---------------------------------------------------------------- QueueAdminView

def test_queue_page_for_province_without_redis(client, login, users):
    _, _, province = users
    login(client, province.username)
    response = client.get("/jobs/queue/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "任务队列" in page and "未配置 REDIS_URL" in page


def test_queue_page_refused_to_employer(client, login, users):
    login(client, users[0].username)
    response = client.get("/jobs/queue/")
    assert response.status_code == 403 and "任务队列" not in response.get_data(as_text=True)


def test_queue_page_with_redis_down_still_shows_outbox(app, client, login, users, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    login(client, users[2].username)
    page = client.get("/jobs/queue/").get_data(as_text=True)
    assert "无法连接 Redis" in page and "邮件发送" in page


def test_queue_page_lists_failed_job_with_traceback_and_retries_it(app, client, login, users, redis_queue):
    from redis import Redis
    from rq import Queue, SimpleWorker

    conn = Redis.from_url(REDIS_URL)
    queue = Queue(redis_queue, connection=conn)
    job = queue.enqueue("tests.test_jobs_runs.job_fails")
    SimpleWorker([queue], connection=conn).work(burst=True)
    assert queue.failed_job_registry.count == 1
    login(client, users[2].username)
    page = client.get("/jobs/queue/").get_data(as_text=True)
    assert redis_queue in page and job.id in page and "身份证号格式不正确" in page and "Traceback" in page
    response = client.post(f"/jobs/queue/retry/{job.id}", follow_redirects=True)
    assert "已重新排队" in response.get_data(as_text=True)
    assert queue.failed_job_registry.count == 0 and queue.count == 1
    response = client.post("/jobs/queue/retry/no-such-job", follow_redirects=True)
    assert "该任务不存在" in response.get_data(as_text=True)


def test_failed_mail_listed_and_resent(app, client, login, users):
    province = users[2]
    note = Notification(user_id=province.id, email="x@example.org", subject="测试邮件", body="b",
                        email_status="failed", attempts=5, last_error="550 mailbox unavailable")
    db.session.add(note)
    db.session.commit()
    login(client, province.username)
    page = client.get("/jobs/queue/").get_data(as_text=True)
    assert "550 mailbox unavailable" in page and "重新发送" in page
    response = client.post(f"/jobs/queue/mail/{note.id}/retry", follow_redirects=True)
    assert "已重新加入发送队列" in response.get_data(as_text=True)
    db.session.expire_all()
    row = db.session.get(Notification, note.id)
    assert (row.email_status, row.attempts) == ("pending", 0)
    response = client.post(f"/jobs/queue/mail/{note.id}/retry", follow_redirects=True)
    assert "不是发送失败状态" in response.get_data(as_text=True)


def test_queue_page_resends_every_failed_mail_a_filter_matches(app, client, login, users):
    province = users[2]
    rows = [Notification(user_id=province.id, email=f"x{i}@example.org", subject="测试邮件", body="b",
                         email_status="failed", attempts=3, last_error=error)
            for i, error in enumerate(["TimeoutError: timed out"] * 3 + ["550 mailbox unavailable"] * 2)]
    db.session.add_all(rows)
    db.session.commit()
    login(client, province.username)
    page = client.get("/jobs/queue/?error=Timeout").get_data(as_text=True)
    assert "重新发送符合条件的 3 封邮件" in page
    assert "日期格式" in client.get("/jobs/queue/?since=yesterday").get_data(as_text=True)
    response = client.post("/jobs/queue/mail/retry", data={"error": "Timeout", "since": "", "until": "", "email": ""},
                           follow_redirects=True)
    assert "已将 3 封发送失败的邮件重新加入发送队列" in response.get_data(as_text=True)
    db.session.expire_all()
    states = [db.session.get(Notification, r.id).email_status for r in rows]
    assert states == ["pending"] * 3 + ["failed"] * 2
    response = client.post("/jobs/queue/mail/retry", data={"since": "2026-13-01"}, follow_redirects=True)
    assert "日期格式" in response.get_data(as_text=True)
    assert [db.session.get(Notification, r.id).email_status for r in rows][3:] == ["failed"] * 2


def test_failed_run_offers_rerun_to_its_owner_only(app, client, login, users):
    owner, other, province = users
    run = runs.start("export", owner.id, "tests.test_jobs_runs.work_fails", {})
    assert reload(run).status == "failed"
    login(client, owner.username)
    page = client.get(f"/jobs/run/{run.id}").get_data(as_text=True)
    assert "重新执行" in page
    response = client.post(f"/jobs/run/{run.id}/rerun", follow_redirects=True)
    assert "已重新执行" in response.get_data(as_text=True)
    assert reload(run).status == "failed"  # inline: it ran again and failed again (same reason)
    stranger = app.test_client()
    login(stranger, other.username)
    assert stranger.get(f"/jobs/run/{run.id}").status_code == 404
    assert stranger.post(f"/jobs/run/{run.id}/rerun").status_code == 404


def test_queue_page_retry_of_a_failed_run_job_reruns_the_run(app, client, login, users, redis_queue):
    """Finding 5: 重试 of a failed import said 已重新排队 and rq ran a job that did nothing."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    from app.jobs.worker import AppWorker

    owner, _, province = users
    run = runs.start("export", owner.id, "tests.test_jobs_runs.work_dies", {})
    conn = Redis.from_url(REDIS_URL)
    queue = Queue(redis_queue, connection=conn)
    AppWorker([queue], connection=conn).work(burst=True)  # the work-horse is killed
    assert reload(run).status == "failed"
    (job_id,) = queue.failed_job_registry.get_job_ids()
    db.session.execute(JobRun.__table__.update().where(JobRun.id == run.id)
                       .values(job_func="tests.test_jobs_runs.work_ok", params='{"n": 2}'))
    db.session.commit()
    login(client, province.username)
    response = client.post(f"/jobs/queue/retry/{job_id}", follow_redirects=True)
    assert "已重新执行" in response.get_data(as_text=True)
    assert queue.failed_job_registry.count == 0
    SimpleWorker([queue], connection=conn).work(burst=True)
    assert (reload(run).status, reload(run).done) == ("done", 2)


def test_queue_page_says_why_a_failed_import_cannot_rerun(app, client, login, users):
    owner, _, province = users
    run = runs.start("roster_import", owner.id, "tests.test_jobs_runs.work_fails", {"file": "imports/gone.xlsx"})
    login(client, province.username)
    page = client.get("/jobs/queue/").get_data(as_text=True)
    assert "请重新上传后导入" in page
    response = client.post(f"/jobs/queue/run/{run.id}/rerun", follow_redirects=True)
    assert "未重新执行" in response.get_data(as_text=True)
    assert reload(run).status == "failed"

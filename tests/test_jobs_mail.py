"""The outbox sender (app.jobs.mail) against a local SMTP stub: claim, no double send, retry,
failure recorded, worker deaths, Redis down, and a real rq worker against real Redis."""
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import workflow
from app.extensions import db
from app.jobs import mail
from app.models import Agreement, AppUser, utcnow
from tests.support.concurrency import at_once
from tests.support.database import is_postgres
from tests.support.factories import NOW, make_employer, make_school, make_student, make_user, offer, valid_terms
from tests.support.jobs import REDIS_URL, add_rows, free_port, outbox, subprocess_env


def world():
    school = make_school()
    employer = make_employer(approved_by=school)
    student = make_student(school)
    make_user("student", student, email="stu@example.org")
    make_user("employer", employer, email="hr@example.org")
    return school, employer, student


# ---------------------------------------------------------------- the SMTP stub itself

def test_smtp_stub_records_and_refuses(smtp):
    import smtplib

    smtp.refuse["bad@example.org"] = 550
    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=5) as client:
        client.sendmail("a@example.org", ["b@example.org"], "Subject: x\r\nMessage-ID: <1@x>\r\n\r\n.hello")
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("a@example.org", ["bad@example.org"], "Subject: y\r\n\r\nno")
    assert smtp.message_ids() == ["<1@x>"]
    assert smtp.messages[0][2].get_content().strip() == ".hello"


# ---------------------------------------------------------------- inline (no REDIS_URL)

def test_action_sends_mail_after_commit_inline(smtp):
    _, employer, student = world()
    offer(employer, student)
    rows = outbox()
    sent = [r for r in rows if r.email == "stu@example.org"]
    assert len(sent) == 1 and sent[0].email_status == "sent" and sent[0].attempts == 1
    assert sent[0].sent_at is not None and sent[0].last_error is None
    assert len(smtp.messages) == 1
    _, rcpts, msg = smtp.messages[0]
    assert rcpts == ["stu@example.org"]
    assert msg["Subject"] == f"{employer.name}向你发出签约邀请"
    assert msg["Message-ID"] == mail.message_id(sent[0].id)
    assert "/student/offers/" in msg.get_content()


def test_rolled_back_action_sends_nothing(smtp):
    _, employer, student = world()
    offer(employer, student)
    smtp.messages.clear()
    agreement = db.session.scalars(select(Agreement)).one()
    with pytest.raises(workflow.WorkflowError):  # a second pending offer: R3 refuses, rolls back
        workflow.invite(employer, [student], valid_terms(), now=NOW)
    db.session.commit()
    assert smtp.messages == []
    assert agreement.status == "pending"


def test_without_mail_server_rows_stay_pending(app):
    assert not app.config.get("MAIL_SERVER")
    _, employer, student = world()
    offer(employer, student)
    assert [r.email_status for r in outbox()] == ["pending"]
    assert mail.deliver() == 0


# ---------------------------------------------------------------- claim and no double send

def test_claim_is_won_once(smtp):
    (nid,) = add_rows(1)
    assert mail.claim(nid) is True
    assert mail.claim(nid) is False
    row = outbox()[0]
    assert row.email_status == "sending" and row.attempts == 1 and row.claimed_at is not None


def test_claimed_row_is_not_sent_by_another_sender(smtp):
    a, b = add_rows(2)
    mail.claim(a)  # another worker holds it
    assert mail.deliver() == 1
    assert smtp.message_ids() == [mail.message_id(b)]
    assert outbox(id=a)[0].email_status == "sending"


def test_deliver_twice_sends_each_once(smtp):
    ids = add_rows(5)
    assert mail.deliver() == 5
    assert mail.deliver() == 0
    assert sorted(smtp.message_ids()) == sorted(mail.message_id(i) for i in ids)
    assert {r.email_status for r in outbox()} == {"sent"}


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="row claims race only on PostgreSQL")
def test_concurrent_senders_send_each_once(app, smtp):
    ids = add_rows(40)
    assert sum(at_once(app, mail.deliver)) == 40
    assert sorted(smtp.message_ids()) == sorted(mail.message_id(i) for i in ids)


# ---------------------------------------------------------------- failures and retries

def test_temporary_failure_waits_then_succeeds(smtp):
    smtp.refuse["to@example.org"] = 451
    smtp.fail_times["to@example.org"] = 1
    (nid,) = add_rows(1)
    with pytest.raises(mail.TemporaryMailError):
        mail.deliver()
    row = outbox()[0]
    assert (row.email_status, row.attempts, row.sent_at) == ("pending", 1, None)
    assert "451" in row.last_error
    assert mail.deliver() == 1
    row = outbox()[0]
    assert (row.email_status, row.attempts, row.last_error) == ("sent", 2, None)
    assert smtp.message_ids() == [mail.message_id(nid)]


def test_permanent_failure_is_recorded_at_once(smtp):
    smtp.refuse["nobody@example.org"] = 550
    add_rows(1, email="nobody@example.org")
    assert mail.deliver() == 0  # nothing to retry: no exception
    row = outbox()[0]
    assert row.email_status == "failed" and row.attempts == 1 and "550" in row.last_error
    assert smtp.messages == []


def test_failed_after_max_attempts(smtp):
    smtp.refuse["to@example.org"] = 421  # always
    add_rows(1)
    for _ in range(2):
        with pytest.raises(mail.TemporaryMailError):
            mail.deliver()
    assert mail.deliver() == 0  # third attempt = MAIL_MAX_ATTEMPTS: failed, no more retries
    row = outbox()[0]
    assert (row.email_status, row.attempts) == ("failed", 3)
    assert mail.deliver() == 0 and smtp.messages == []


def test_server_down_keeps_rows_pending(app, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nothing listens there
    add_rows(2)
    with pytest.raises(mail.TemporaryMailError):
        mail.deliver()
    assert {(r.email_status, r.attempts) for r in outbox()} == {("pending", 1)}
    monkeypatch.setitem(app.config, "MAIL_PORT", smtp.port)
    assert mail.deliver() == 2


def test_retry_failed_row_sends_again(smtp):
    (nid,) = add_rows(1, status="failed", last_error="x")
    assert mail.retry_failed(nid) is True  # inline: sent right after the commit
    assert outbox()[0].email_status == "sent"
    assert mail.retry_failed(nid) is False
    assert smtp.message_ids() == [mail.message_id(nid)]


# ---------------------------------------------------------------- a worker died mid-send

def test_dead_claim_before_handover_is_sent_later(smtp):
    (nid,) = add_rows(1, status="sending", claimed_at=utcnow() - timedelta(hours=1), attempts=1)
    assert mail.deliver() == 1
    row = outbox()[0]
    assert row.email_status == "sent" and row.attempts == 2
    assert smtp.message_ids() == [mail.message_id(nid)]


def test_dead_claim_after_handover_is_not_sent_twice(smtp):
    old = utcnow() - timedelta(hours=1)
    add_rows(1, status="sending", claimed_at=old, sent_at=old, attempts=1)
    assert mail.deliver() == 0
    row = outbox()[0]
    assert row.email_status == "failed" and row.last_error == mail.UNCERTAIN
    assert smtp.messages == []


def test_fresh_claim_is_left_alone(smtp):
    add_rows(1, status="sending", claimed_at=utcnow(), attempts=1)
    assert mail.deliver() == 0
    assert outbox()[0].email_status == "sending"


# ---------------------------------------------------------------- Redis down

def test_redis_down_action_commits_and_mail_waits(app, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    _, employer, student = world()
    agreement = offer(employer, student)  # enqueue fails after the commit: logged, not raised
    db.session.expire_all()
    assert db.session.get(Agreement, agreement.id).status == "pending"
    assert [r.email_status for r in outbox()] == ["pending"]
    assert smtp.messages == []
    # Redis is back: the cron sweep sends what waited.
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    assert mail.deliver() == 1
    assert len(smtp.messages) == 1


def test_redis_down_web_action_commits(app, client, login, smtp, monkeypatch):
    """Through the web: a student accepts an offer while Redis is down."""
    from datetime import datetime, timezone

    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    _, employer, student = world()
    agreement = offer(employer, student, now=datetime.now(timezone.utc) - timedelta(hours=2))  # cooled off
    user = db.session.scalars(select(AppUser).where(AppUser.student_id == student.id)).one()
    login(client, user.username)
    response = client.get("/student/")
    assert response.status_code == 200
    response = client.post(f"/student/offers/{agreement.id}/accept",
                           data={"version": workflow.version_of(agreement), "agree": "1"},
                           follow_redirects=True)
    assert "签约成功" in response.get_data(as_text=True)
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Agreement, agreement.id).status == "accepted"
    waiting = outbox(email="hr@example.org")
    assert waiting and {r.email_status for r in waiting} == {"pending"}


# ---------------------------------------------------------------- real Redis, real worker

def test_real_worker_sends_after_commit_and_retries(app, smtp, redis_queue, monkeypatch):
    from redis import Redis
    from rq import Queue, SimpleWorker

    monkeypatch.setitem(app.config, "MAIL_RETRY_INTERVALS", [0])
    smtp.refuse["stu@example.org"] = 451
    smtp.fail_times["stu@example.org"] = 1
    _, employer, student = world()
    offer(employer, student)
    conn = Redis.from_url(REDIS_URL)
    queue = Queue(redis_queue, connection=conn)
    assert queue.count == 1  # enqueued after the commit, not run inline
    assert [r.email_status for r in outbox()] == ["pending"]
    SimpleWorker([queue], connection=conn).work(burst=True)
    row = outbox()[0]
    assert (row.email_status, row.attempts) == ("sent", 2)  # failed once, rq retried, sent
    assert len(smtp.messages) == 1
    assert queue.failed_job_registry.count == 0


def test_real_worker_failure_recorded(app, smtp, redis_queue, monkeypatch):
    from redis import Redis
    from rq import Queue, SimpleWorker

    monkeypatch.setitem(app.config, "MAIL_RETRY_INTERVALS", [0])
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 10)
    smtp.refuse["stu@example.org"] = 451  # always
    _, employer, student = world()
    offer(employer, student)
    conn = Redis.from_url(REDIS_URL)
    queue = Queue(redis_queue, connection=conn)
    SimpleWorker([queue], connection=conn).work(burst=True)
    row = outbox()[0]
    assert row.email_status == "pending" and row.attempts == 4  # first try + 3 rq retries
    failed = queue.failed_job_registry.get_job_ids()
    assert len(failed) == 1
    job = queue.fetch_job(failed[0])
    assert "TemporaryMailError" in (job.latest_result().exc_string or "")


def test_rq_worker_burst_process_sends_outbox(app, smtp, redis_queue):
    """`rq worker --burst` as a separate process (forking worker, builds its own app)."""
    _, employer, student = world()
    offer(employer, student)
    rq = os.path.join(os.path.dirname(sys.executable), "rq")
    result = subprocess.run([rq, "worker", "--burst", "--url", REDIS_URL, redis_queue],
                            env=subprocess_env(app, redis_queue), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [r.email_status for r in outbox()] == ["sent"]
    assert len(smtp.messages) == 1

"""The outbox sender (app.jobs.mail) against a local SMTP stub: claim, no double send, retry,
failure recorded, worker deaths, Redis down, and a real rq worker against real Redis."""
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app import workflow
from app.extensions import db
from app.jobs import mail
from app.models import Agreement, AppUser, Notification, utcnow
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
    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=5) as client:
        client.mail("a@example.org")
        client.rcpt("b@example.org")
        assert client.data(b"Subject: z\nMessage-ID: <2@x>\n\nbare LF")[0] == 500  # bytes: not converted
    assert smtp.message_ids() == ["<1@x>"]


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

def due_now(**where):
    """Move every waiting row's retry time to the past (the clock moved on)."""
    db.session.execute(update(Notification).where(Notification.email_status == "pending")
                       .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def test_claim_is_won_once(smtp):
    (nid,) = add_rows(1)
    assert mail.claim(nid) is True
    assert mail.claim(nid) is False
    row = outbox()[0]
    # An attempt is counted when the row is tried, not when it is claimed.
    assert row.email_status == "sending" and row.attempts == 0 and row.claimed_at is not None


def test_claimed_row_is_not_sent_by_another_sender(smtp):
    a, b = add_rows(2)
    mail.claim(a)  # another worker holds it
    assert mail.deliver() == 1
    assert smtp.message_ids() == [mail.message_id(b)]
    assert outbox(id=a)[0].email_status == "sending"


def test_deliver_twice_sends_each_once_over_one_connection(smtp):
    ids = add_rows(5)
    assert mail.deliver() == 5
    assert mail.deliver() == 0
    assert sorted(smtp.message_ids()) == sorted(mail.message_id(i) for i in ids)
    assert {r.email_status for r in outbox()} == {"sent"}
    assert smtp.connections == 1


def test_sender_loops_until_nothing_is_due(app, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BATCH", 7)
    add_rows(30)
    assert mail.deliver() == 30  # five batches in one run, not one batch per run
    assert smtp.connections == 5


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="row claims race only on PostgreSQL")
def test_concurrent_senders_send_each_once(app, smtp):
    ids = add_rows(40)
    assert sum(at_once(app, mail.deliver)) == 40
    assert sorted(smtp.message_ids()) == sorted(mail.message_id(i) for i in ids)


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="pg_stat_activity is PostgreSQL's")
def test_no_transaction_is_open_while_talking_smtp(app, smtp):
    """pgbouncer's transaction pooling: the sender holds no transaction during SMTP (finding 4)."""
    import psycopg

    url = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://")
    seen = []

    def look(count):
        with psycopg.connect(url) as conn:
            seen.append(conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()").fetchone()[0])

    add_rows(3)
    smtp.on_data = look
    assert mail.deliver() == 3
    assert seen == [0, 0, 0]


# ---------------------------------------------------------------- failures: retries by time

def test_temporary_failure_waits_its_backoff_then_succeeds(smtp):
    smtp.refuse["to@example.org"] = 451
    smtp.fail_times["to@example.org"] = 1
    (nid,) = add_rows(1)
    before = utcnow()
    assert mail.deliver() == 0  # no exception: the row waits for its time
    row = outbox()[0]
    assert (row.email_status, row.attempts, row.sent_at) == ("pending", 1, None)
    assert "451" in row.last_error
    assert timedelta(seconds=55) < row.next_attempt_at - before < timedelta(seconds=65)  # 1st step: 1 min
    assert row.retry_until - before > timedelta(hours=23)
    assert mail.deliver() == 0  # not due yet: nothing tried
    assert outbox()[0].attempts == 1
    due_now()
    assert mail.deliver() == 1
    row = outbox()[0]
    assert (row.email_status, row.attempts, row.last_error, row.next_attempt_at) == ("sent", 2, None, None)
    assert smtp.message_ids() == [mail.message_id(nid)]


def test_backoff_grows_and_gives_up_after_its_hours(app, smtp):
    smtp.refuse["to@example.org"] = 421  # always
    add_rows(1)
    waits = []
    for _ in range(3):
        before = utcnow()
        mail.deliver()
        row = outbox()[0]
        if row.email_status != "pending":
            break
        waits.append(round((row.next_attempt_at - before).total_seconds() / 60))
        due_now()
    assert waits[:2] == [1, 5]  # MAIL_RETRY_BACKOFF (tests: 60, 300), the last step repeating
    # The 24 hours since the first failure are over: the next failure gives up.
    db.session.execute(update(Notification).values(retry_until=utcnow() + timedelta(seconds=30)))
    db.session.commit()
    due_now()
    assert mail.deliver() == 0
    row = outbox()[0]
    assert row.email_status == "failed" and "24 小时" in row.last_error and "421" in row.last_error
    assert smtp.messages == []


def test_permanent_failure_is_recorded_at_once(smtp):
    smtp.refuse["nobody@example.org"] = 550
    add_rows(1, email="nobody@example.org")
    assert mail.deliver() == 0
    row = outbox()[0]
    assert row.email_status == "failed" and row.attempts == 1 and "550" in row.last_error
    assert smtp.messages == []


def test_refused_recipient_does_not_stop_the_batch(smtp):
    smtp.refuse["to1@example.org"] = 550
    ids = add_rows(3)
    assert mail.deliver() == 2
    assert sorted(smtp.message_ids()) == sorted(mail.message_id(i) for i in (ids[0], ids[2]))
    assert smtp.connections == 1  # RSET after the refusal, same connection


def test_server_down_stops_the_batch_and_counts_one_attempt(app, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nothing listens there
    add_rows(5)
    assert mail.deliver() == 0
    rows = outbox()
    assert {r.email_status for r in rows} == {"pending"}
    assert [r.attempts for r in rows] == [1, 0, 0, 0, 0]  # the rest were not tried
    assert all(r.next_attempt_at > utcnow() for r in rows)  # and wait as long
    monkeypatch.setitem(app.config, "MAIL_PORT", smtp.port)
    due_now()
    assert mail.deliver() == 5


def test_an_smtp_outage_fails_nothing_and_everything_arrives_once(app, smtp, monkeypatch):
    """Finding 3: 24 rows, a server down while the sweep runs again and again (as the cron and
    every commit's kick would); when it is back every row arrives exactly once, none failed."""
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())
    ids = add_rows(24)
    for _ in range(10):
        mail.deliver()
        due_now()  # even if the clock raced ahead between sweeps
    rows = outbox()
    assert {r.email_status for r in rows} == {"pending"}
    assert max(r.attempts for r in rows) <= 10 and sum(r.attempts for r in rows) == 10
    monkeypatch.setitem(app.config, "MAIL_PORT", smtp.port)
    due_now()
    assert mail.deliver() == 24
    assert sorted(smtp.message_ids()) == sorted(mail.message_id(i) for i in ids)


def test_a_server_that_never_answers_costs_one_timeout_per_batch(app, monkeypatch):
    """Finding 4: a server that accepts and never speaks held the worker MAIL_TIMEOUT per row."""
    import socket
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(50)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", silent.getsockname()[1])
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 1)
    try:
        add_rows(5)
        started = time.monotonic()
        assert mail.deliver() == 0
        assert time.monotonic() - started < 4  # one timeout, not one per row (5 s and more)
        assert [r.attempts for r in outbox()] == [1, 0, 0, 0, 0]
    finally:
        silent.close()


def test_retry_failed_row_sends_again(smtp):
    (nid,) = add_rows(1, status="failed", last_error="x")
    assert mail.retry_failed(nid) == 1  # inline: sent right after the commit
    assert outbox()[0].email_status == "sent"
    assert mail.retry_failed(nid) == 0
    assert smtp.message_ids() == [mail.message_id(nid)]


def test_retry_failed_by_filter(smtp):
    timeout = add_rows(3, status="failed", last_error="TimeoutError: timed out")
    refused = add_rows(2, status="failed", last_error="550 no such user")
    assert mail.retry_failed(error="Timeout") == 3
    rows = {r.id: r for r in outbox()}
    assert {rows[i].email_status for i in timeout} == {"sent"}
    assert {rows[i].email_status for i in refused} == {"failed"}
    assert mail.retry_failed(since=utcnow() + timedelta(days=1)) == 0
    assert mail.retry_failed() == 2


def test_long_mail_goes_out_with_crlf_line_ends(smtp):
    """The fault drill: as_bytes() ended lines with a bare LF, which smtplib does not convert for
    bytes; a strict server refuses it, aiosmtpd read a digest as one over-long line (500)."""
    ids = add_rows(40, email="hr@example.org")  # one digest of 40 subjects: some 3 KB of text
    db.session.execute(update(Notification).values(subject="湖北某某科技有限公司向你发出签约邀请"))
    db.session.commit()
    assert mail.deliver() == 40
    (msg,) = [m for _, _, m in smtp.messages]
    assert len(msg.get_content().encode()) > 1000 and mail.digest_message_id(ids[0]) == msg["Message-ID"]


def test_mail_waiting_for_the_server_goes_out_as_soon_as_it_is_back(app, smtp, monkeypatch):
    """The fault drill: rows deferred during a 120 s outage waited out the 300 s step (≈ 5 min
    after the server's return). Now each sweep tests the server while such rows wait."""
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())
    ids = add_rows(6)
    mail.deliver()
    due_now()
    mail.deliver()  # the first row failed twice: its next try is 5 minutes away
    rows = outbox()
    assert all(r.next_attempt_at > utcnow() + timedelta(seconds=30) for r in rows)
    assert {r.waits_for_server for r in rows} == {True}
    assert mail.deliver() == 0  # still down: nothing due, the probe fails quietly
    monkeypatch.setitem(app.config, "MAIL_PORT", smtp.port)
    assert mail.deliver() == 6  # the next sweep: the server answers, everything goes
    assert sorted(smtp.message_ids()) == sorted(mail.message_id(i) for i in ids)
    assert {r.waits_for_server for r in outbox()} == {False}


def test_a_recipients_temporary_refusal_keeps_its_backoff(smtp):
    """Only rows that waited for the server come back early: a 4xx for one address (greylisting)
    keeps its retry time."""
    smtp.refuse["to@example.org"] = 451
    smtp.fail_times["to@example.org"] = 1
    add_rows(1)
    mail.deliver()
    row = outbox()[0]
    assert row.waits_for_server is False and row.next_attempt_at > utcnow()
    assert mail.deliver() == 0


# ---------------------------------------------------------------- digests

def test_many_notices_to_one_address_become_one_digest(app, smtp):
    many = add_rows(12, email="hr@example.org")
    single = add_rows(2)
    assert mail.deliver() == 14
    ids = smtp.message_ids()
    assert sorted(ids) == sorted([mail.digest_message_id(many[0])] + [mail.message_id(i) for i in single])
    digest = next(m for _, rcpts, m in smtp.messages if rcpts == ["hr@example.org"])
    assert "12 条新消息" in digest["Subject"]
    body = digest.get_content()
    assert "通知0" in body and "通知11" in body
    rows = {r.id: r for r in outbox()}
    assert {(rows[i].email_status, rows[i].sent_in) for i in many} == {("sent", many[0])}
    assert {rows[i].sent_in for i in single} == {None}


def test_digest_gathers_rows_beyond_the_batch(app, smtp, monkeypatch):
    """2,000 expiry notices to one employer: one mail, not one per batch (finding 4)."""
    monkeypatch.setitem(app.config, "MAIL_BATCH", 10)
    add_rows(45, email="hr@example.org")
    assert mail.deliver() == 45
    assert len(smtp.messages) == 1


def test_few_notices_to_one_address_stay_separate(app, smtp):
    ids = add_rows(3, email="hr@example.org")  # MAIL_DIGEST_THRESHOLD is 3: more than 3 digest
    assert mail.deliver() == 3
    assert sorted(smtp.message_ids()) == sorted(mail.message_id(i) for i in ids)


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

def test_real_worker_sends_after_commit_and_the_sweep_retries(app, smtp, redis_queue):
    from redis import Redis
    from rq import Queue, SimpleWorker

    smtp.refuse["stu@example.org"] = 451
    smtp.fail_times["stu@example.org"] = 1
    _, employer, student = world()
    offer(employer, student)
    conn = Redis.from_url(REDIS_URL)
    queue = Queue(redis_queue, connection=conn)
    assert queue.count == 1  # kicked after the commit, not run inline
    assert [r.email_status for r in outbox()] == ["pending"]
    SimpleWorker([queue], connection=conn).work(burst=True)
    row = outbox()[0]
    assert (row.email_status, row.attempts) == ("pending", 1)  # waits for its retry time
    assert queue.failed_job_registry.count == 0  # a temporary failure is not a failed job
    due_now()
    queue.enqueue("app.jobs.send_outbox")  # the cron sweep
    SimpleWorker([queue], connection=conn).work(burst=True)
    row = outbox()[0]
    assert (row.email_status, row.attempts) == ("sent", 2)
    assert len(smtp.messages) == 1


def test_many_commits_kick_one_sender(app, smtp, redis_queue):
    """Finding 4: each notifying commit queued its own outbox run (60 invitations → 60 runs)."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    school = make_school()
    employer = make_employer(approved_by=school)
    for i in range(20):
        student = make_student(school)
        make_user("student", student, email=f"s{i}@example.org")
        offer(employer, student)  # one commit each
    conn = Redis.from_url(REDIS_URL)
    queue = Queue(redis_queue, connection=conn)
    assert queue.count == 1
    SimpleWorker([queue], connection=conn).work(burst=True)
    assert len(smtp.messages) == 20
    student = make_student(school)
    make_user("student", student, email="late@example.org")
    offer(employer, student)  # after the sender started: kicks again
    assert queue.count == 1


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


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="EXPLAIN is PostgreSQL's here")
def test_the_senders_due_rows_come_from_an_index(app):
    """Finding 4: email_status had no index (three full scans of the outbox per run)."""
    from sqlalchemy import text

    add_rows(3)
    from sqlalchemy import func

    query = select(func.count()).select_from(Notification).where(mail.due())
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    with db.engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(row[0] for row in conn.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_notification_outbox" in plan, plan

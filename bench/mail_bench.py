"""Mail at province scale: one employer invites N graduates in one commit; how long until every
invitation mail is in an SMTP sink, each exactly once — against the raw SMTP limit measured in
the same run (the same N messages built in memory and sent over one connection, no database).
Target: 3,000 invitations' mails delivered within 60 s of the commit.

    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/<scratch db> \\
        .venv/bin/python bench/mail_bench.py [N] [--workers 1]

WARNING: drops and re-creates every table of that database. Never point it at real data.

What runs: a local SMTP sink (aiosmtpd, bench/requirements.txt) in a process of its own that
appends each received Message-ID to a file; `--workers` real `rq worker` processes
(app.jobs.worker.AppWorker) on a private queue of the machine's Redis (db 12, its keys removed
afterwards); the app with MAIL_SERVER at the sink. The invitation is `workflow.invite` of N
students in one transaction, as the 签约发送列表 sends it; its commit kicks the outbox sender.
Checked: every outbox row sent, N distinct Message-IDs received, 0 duplicates, and the number of
sender jobs the commit caused (1: one sweeper, not one run per commit).
"""
import argparse
import os
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from email.message import EmailMessage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")

SINK = r'''
import asyncio, sys
from aiosmtpd.controller import Controller
from email.parser import BytesHeaderParser

class Record:
    def __init__(self, path):
        self.out = open(path, "a", buffering=1)
    async def handle_DATA(self, server, session, envelope):
        headers = BytesHeaderParser().parsebytes(envelope.original_content or envelope.content)
        self.out.write((headers.get("Message-ID") or "-") + "\n")
        return "250 OK"

controller = Controller(Record(sys.argv[2]), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
try:
    asyncio.get_event_loop().run_forever()
except KeyboardInterrupt:
    pass
'''


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink(port, path):
    proc = subprocess.Popen([sys.executable, "-c", SINK, str(port), path], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def received(path):
    with open(path) as fh:
        return [line.strip() for line in fh if line.strip()]


def raw_limit(port, n):
    """N messages like the invitation mail, built in memory, over one SMTP connection: seconds."""
    body = "某某有限公司向你发出签约邀请，请在应约过期日期前登录系统查看。\n\nhttp://127.0.0.1/student/offers/1" * 2
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for i in range(n):
            msg = EmailMessage()
            msg["Subject"], msg["From"], msg["To"] = "某某有限公司向你发出签约邀请", "noreply@bench.example", f"s{i}@bench.example"
            msg["Message-ID"] = f"<raw-{i}@bench.example>"
            msg.set_content(body)
            smtp.send_message(msg)
    return time.perf_counter() - started


def make_app(url, port, queue):
    from flask_appbuilder import Model

    from app import create_app
    from app.extensions import db
    from app.security import sync_roles

    overrides = {"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "REDIS_URL": REDIS_URL, "RATELIMIT_ENABLED": False,
                 "SECRET_KEY": "bench-mail", "FAB_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                 "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_FROM": "noreply@bench.example",
                 "RQ_QUEUE": queue, "RQ_MAIL_QUEUE": queue, "RQ_BULK_QUEUE": queue}
    app = create_app(overrides)
    with app.app_context():
        Model.metadata.drop_all(db.engine)
        Model.metadata.create_all(db.engine)
        sync_roles(app.appbuilder)
        db.session.remove()
    return app


def seed(n):
    """One approved employer and n students of one school, each with a login and an address."""
    from tests.support.factories import make_employer, make_school, make_student, make_user

    school = make_school()
    employer = make_employer(approved_by=school)
    make_user("employer", employer, email="hr@bench.example")
    students = []
    for i in range(n):
        student = make_student(school)
        make_user("student", student, email=f"s{i}@bench.example")
        students.append(student)
    return employer, students


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, nargs="?", default=3000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("set TEST_DATABASE_URL to a scratch PostgreSQL database")

    from redis import Redis
    from sqlalchemy import func, select

    queue = f"bench-mail-{uuid.uuid4().hex[:8]}"
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="mail-bench-")
    sink_file = os.path.join(workdir, "received")
    raw_file = os.path.join(workdir, "raw")
    open(sink_file, "w").close()
    open(raw_file, "w").close()
    conn = Redis.from_url(REDIS_URL)

    raw_sink = start_sink(free_port(), raw_file)
    try:
        raw_port = int(raw_sink.args[3])
        limit = raw_limit(raw_port, args.n)
        assert len(set(received(raw_file))) == args.n
    finally:
        raw_sink.terminate()
        raw_sink.wait()

    sink = start_sink(port, sink_file)
    app = make_app(url, port, queue)
    workers = []
    try:
        from app import workflow
        from app.extensions import db
        from app.models import Notification
        from tests.support.factories import NOW, valid_terms

        with app.app_context():
            employer, students = seed(args.n)
            env = dict(os.environ, DATABASE_URL=url, REDIS_URL=REDIS_URL, RQ_QUEUE=queue, RQ_MAIL_QUEUE=queue,
                       RQ_BULK_QUEUE=queue, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(port),
                       MAIL_FROM="noreply@bench.example", SECRET_KEY="bench-mail", LOG_FORMAT="text",
                       PYTHONPATH=ROOT)
            rq = os.path.join(os.path.dirname(sys.executable), "rq")
            for _ in range(args.workers):
                workers.append(subprocess.Popen(
                    [rq, "worker", "--worker-class", "app.jobs.worker.AppWorker", "--url", REDIS_URL, queue],
                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
            time.sleep(3)  # the workers have built their app
            workflow.invite(employer, students, valid_terms(), now=NOW)  # commits; the commit kicks
            committed = time.perf_counter()
            jobs_kicked = len(conn.lrange(f"rq:queue:{queue}", 0, -1)) + 1  # waiting + the one taken
            deadline = committed + 300
            while time.perf_counter() < deadline and len(received(sink_file)) < args.n:
                time.sleep(0.1)
            elapsed = time.perf_counter() - committed
            got = received(sink_file)
            dupes = sum(c - 1 for c in Counter(got).values() if c > 1)
            db.session.expire_all()
            states = dict(db.session.execute(
                select(Notification.email_status, func.count()).group_by(Notification.email_status)).all())
    finally:
        for w in workers:
            os.killpg(w.pid, signal.SIGTERM)
        for w in workers:
            w.wait(60)
        sink.terminate()
        sink.wait()
        keys = conn.keys(f"rq:*{queue}*") + conn.keys(f"outbox:kick:{queue}")
        if keys:
            conn.delete(*keys)

    print(f"invitations: {args.n} in one commit; workers: {args.workers}")
    print(f"delivered to the sink: {len(set(got))} distinct, {dupes} duplicates, in {elapsed:.1f} s "
          f"after the commit ({len(set(got)) / elapsed:.0f} mails/s)")
    print(f"outbox rows by state: {states}")
    print(f"sender jobs waiting right after the commit: {jobs_kicked - 1} (+ the one running)")
    print(f"raw SMTP limit (same messages, one connection, no database): {limit:.1f} s "
          f"({args.n / limit:.0f} mails/s); pipeline / limit = {elapsed / limit:.1f}x")
    ok = len(set(got)) == args.n and dupes == 0 and elapsed <= 60
    print("target (all within 60 s, each once):", "met" if ok else "MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

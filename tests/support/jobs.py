"""Helpers for the jobs tests: a tiny local SMTP server, a private Redis database, outbox rows.

`SmtpStub` speaks just enough SMTP for smtplib (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) on
127.0.0.1 and records every accepted message; like a strict server it refuses message data with a
bare LF line end (500). It can refuse recipients (`refuse` = {address: code})
for a number of attempts (`fail_times`), stall in RCPT (`rcpt_delay`) and signal when the n-th
RCPT arrives (`on_rcpt`), which the worker-kill test uses to SIGKILL a worker mid-batch.

Redis: TEST_REDIS_URL (default redis://127.0.0.1:6379/13). Each test uses its own queue name, so
runs never see each other's jobs; only this test's keys are deleted. When Redis does not answer the
tests skip — except under CI=true, where a missing Redis is a failure.

conftest.py turns these into the `smtp` and `redis_queue` fixtures.
"""
import email
import os
import socket
import socketserver
import threading
import time
import uuid
from email import policy

import pytest

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


class SmtpStub:
    def __init__(self):
        self.messages = []  # (mail_from, [rcpt], EmailMessage)
        self.refuse = {}  # address → SMTP code for RCPT
        self.fail_times = {}  # address → how many more times to refuse (absent: always)
        self.rcpt_delay = 0.0
        self.on_rcpt = None  # callable(count) after each RCPT
        self.on_data = None  # callable(count) when a message's data is complete, before the 250
        self.rcpt_count = 0
        self.connections = 0  # SMTP sessions opened (the sender reuses one per batch)
        self.lock = threading.Lock()
        stub = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line):
                self.wfile.write(line.encode() + b"\r\n")
                self.wfile.flush()

            def handle(self):
                with stub.lock:
                    stub.connections += 1
                self.reply("220 stub ESMTP")
                mail_from, rcpts = None, []
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        return
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    verb = line[:4].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 stub")
                    elif verb == "MAIL":
                        mail_from, rcpts = line.split(":", 1)[1].strip(" <>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        address = line.split(":", 1)[1].strip().split()[0].strip("<>")
                        with stub.lock:
                            stub.rcpt_count += 1
                            count = stub.rcpt_count
                        if stub.on_rcpt:
                            stub.on_rcpt(count)
                        if stub.rcpt_delay:
                            time.sleep(stub.rcpt_delay)
                        code = stub._refusal(address)
                        if code:
                            self.reply(f"{code} refused")
                        else:
                            rcpts.append(address)
                            self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 go ahead")
                        chunks, bare_lf = [], False
                        while True:
                            data = self.rfile.readline()
                            if not data:
                                return  # client vanished mid-DATA: not accepted
                            if data == b".\r\n":
                                break
                            bare_lf = bare_lf or not data.endswith(b"\r\n")
                            chunks.append(data[1:] if data.startswith(b"..") else data)
                        if bare_lf:  # as strict servers do (RFC 5321 2.3.8; SMTP smuggling)
                            self.reply("500 bare LF in message data")
                            continue
                        msg = email.message_from_bytes(b"".join(chunks), policy=policy.default)
                        with stub.lock:
                            stub.messages.append((mail_from, rcpts, msg))
                            count = len(stub.messages)
                        if stub.on_data:
                            stub.on_data(count)
                        self.reply("250 queued")
                    elif verb == "RSET":
                        mail_from, rcpts = None, []
                        self.reply("250 OK")
                    elif verb == "NOOP":
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 not implemented")

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _refusal(self, address):
        code = self.refuse.get(address)
        if not code:
            return None
        left = self.fail_times.get(address)
        if left is not None:
            if left <= 0:
                return None
            self.fail_times[address] = left - 1
        return code

    def message_ids(self):
        with self.lock:
            return [m["Message-ID"] for _, _, m in self.messages]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def point_mail_at(app, monkeypatch, stub):
    """The app's MAIL_* settings pointing at `stub` for this test (conftest's `smtp` fixture)."""
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", stub.port)
    monkeypatch.setitem(app.config, "MAIL_USE_TLS", False)
    monkeypatch.setitem(app.config, "MAIL_USE_SSL", False)
    monkeypatch.setitem(app.config, "MAIL_USERNAME", None)
    monkeypatch.setitem(app.config, "MAIL_RETRY_BACKOFF", [60, 300])
    monkeypatch.setitem(app.config, "MAIL_GIVE_UP_HOURS", 24)


def redis_or_skip():
    from redis import Redis
    from redis.exceptions import RedisError

    conn = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        conn.ping()
    except RedisError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis not answering on {REDIS_URL}: {exc}")
    return conn


def new_queue_name():
    return f"test-{uuid.uuid4().hex[:12]}"


def delete_queue(conn, name):
    """Every key of queue `name` and of its jobs (conftest's `redis_queue` fixture, at the end)."""
    from rq import Queue

    queue = Queue(name, connection=conn)
    keys = set()
    for registry in (queue.failed_job_registry, queue.finished_job_registry, queue.started_job_registry,
                     queue.scheduled_job_registry, queue.deferred_job_registry, queue.canceled_job_registry):
        keys.update(f"rq:job:{job_id}" for job_id in registry.get_job_ids())
        keys.add(registry.key)
    keys.update(f"rq:job:{job_id}" for job_id in queue.get_job_ids())
    keys.add(queue.key)
    keys.add(f"outbox:kick:{name}")  # app.jobs.mail.KICK_KEY
    conn.delete(*keys)
    conn.srem("rq:queues", queue.key)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the outbox (app.jobs.mail)

def outbox(**where):
    """Notification rows (the e-mail outbox), oldest first, filtered by column == value."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Notification

    q = select(Notification).order_by(Notification.id)
    for key, value in where.items():
        q = q.where(getattr(Notification, key) == value)
    db.session.expire_all()
    return db.session.scalars(q).all()


def add_rows(n, email=None, status="pending", **kw):
    """`n` outbox rows for one new student login; returns their ids. Each row goes to an address of
    its own (to0@…, to1@…; one row: to@example.org) unless `email` names one for all (a digest)."""
    from app.extensions import db
    from app.models import Notification
    from tests.support.factories import make_school, make_student, make_user

    user = make_user("student", make_student(make_school(code=f"{10000 + n % 89999:05d}")))
    kw.setdefault("attempts", 0)
    def address(i):
        return email or ("to@example.org" if n == 1 else f"to{i}@example.org")

    rows = [Notification(user_id=user.id, email=address(i), subject=f"通知{i}", body="正文", link="/x",
                         email_status=status, **kw) for i in range(n)]
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in rows]


def subprocess_env(app, queue_name, **extra):
    """The environment of an `rq worker` process that builds its own app on the test database."""
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": REDIS_URL,
        "RQ_QUEUE": queue_name, "RQ_MAIL_QUEUE": queue_name, "RQ_BULK_QUEUE": queue_name,
        "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(app.config["MAIL_PORT"]),
        "SECRET_KEY": "test-secret-key-0123456789abcdef", "RATELIMIT_ENABLED": "false",
        "PYTHONPATH": os.getcwd(),
    })
    env.update(extra)
    return env

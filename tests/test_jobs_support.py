"""Helpers for the jobs tests: a tiny local SMTP server and a private Redis database.

`SmtpStub` speaks just enough SMTP for smtplib (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) on
127.0.0.1 and records every accepted message. It can refuse recipients (`refuse` = {address: code})
for a number of attempts (`fail_times`), stall in RCPT (`rcpt_delay`) and signal when the n-th
RCPT arrives (`on_rcpt`), which the worker-kill test uses to SIGKILL a worker mid-batch.

Redis: TEST_REDIS_URL (default redis://127.0.0.1:6379/13). Each test uses its own queue name, so
runs never see each other's jobs; only this test's keys are deleted. When Redis does not answer the
tests skip — except under CI=true, where a missing Redis is a failure.
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
        self.lock = threading.Lock()
        stub = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line):
                self.wfile.write(line.encode() + b"\r\n")
                self.wfile.flush()

            def handle(self):
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
                        chunks = []
                        while True:
                            data = self.rfile.readline()
                            if not data:
                                return  # client vanished mid-DATA: not accepted
                            if data in (b".\r\n", b".\n"):
                                break
                            chunks.append(data[1:] if data.startswith(b"..") else data)
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


@pytest.fixture
def smtp(app, monkeypatch):
    """A running SmtpStub, with the app's MAIL_* settings pointing at it for this test."""
    stub = SmtpStub()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", stub.port)
    monkeypatch.setitem(app.config, "MAIL_USE_TLS", False)
    monkeypatch.setitem(app.config, "MAIL_USE_SSL", False)
    monkeypatch.setitem(app.config, "MAIL_USERNAME", None)
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 3)
    yield stub
    stub.close()


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


@pytest.fixture
def redis_queue(app, monkeypatch):
    """Real Redis (private db), the app's REDIS_URL pointing at it, and a queue name of its own."""
    conn = redis_or_skip()
    name = f"test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "RQ_QUEUE", name)
    yield name
    from rq import Queue

    queue = Queue(name, connection=conn)
    keys = set()
    for registry in (queue.failed_job_registry, queue.finished_job_registry, queue.started_job_registry,
                     queue.scheduled_job_registry, queue.deferred_job_registry, queue.canceled_job_registry):
        keys.update(f"rq:job:{job_id}" for job_id in registry.get_job_ids())
        keys.add(registry.key)
    keys.update(f"rq:job:{job_id}" for job_id in queue.get_job_ids())
    keys.add(queue.key)
    conn.delete(*keys)
    conn.srem("rq:queues", queue.key)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_smtp_stub_records_and_refuses(smtp):
    import smtplib

    smtp.refuse["bad@example.org"] = 550
    with smtplib.SMTP("127.0.0.1", smtp.port, timeout=5) as client:
        client.sendmail("a@example.org", ["b@example.org"], "Subject: x\r\nMessage-ID: <1@x>\r\n\r\n.hello")
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("a@example.org", ["bad@example.org"], "Subject: y\r\n\r\nno")
    assert smtp.message_ids() == ["<1@x>"]
    assert smtp.messages[0][2].get_content().strip() == ".hello"

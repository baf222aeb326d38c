"""Fault drill (issue 17): the load mix against the whole system while its parts fail on a schedule.

    .venv/bin/python bench/chaos.py [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/chaos]
        [--users 20] [--think 0.5,1.5] [--faults redis,smtp,worker,database] [--keep]

WARNING: `generate.py --reset` drops the public schema of that database (default `chaos`).

What runs, all started by this script in a scratch directory on free ports and stopped by it at
the end (also on Ctrl-C, an exception or SIGTERM): its own `redis-server` (`--save ''
--appendonly no`: a restart comes back empty; the machine's Redis on 6379 is never touched); the
aiosmtpd sink of bench/mail_bench.py, which appends every Message-ID it receives to a file;
gunicorn with deploy/gunicorn.conf.py; two workers and the cron, each under deploy/supervise.sh as
in production (`worker-fast`: queues mail and default; `worker-bulk`: bulk; `rq cron
app/jobs/cron.py`). The app's database connections carry `application_name=jiuye-chaos`.

1. `bench/generate.py --reset --scale 0.01` (5,000 graduates) builds the province; bench/load.py's
   `choose_accounts` picks the logins and fills the employers' 签约发送列表.
2. locust runs the mix of bench/load.py (its users, LOAD_REQUEST_LOG: one line per request) for the
   whole schedule; offers, accepts and certifications write mail to the outbox (app/notify.py).
   A prober thread logs in every second as a student and as a school reviewer (new session each
   time) and reads /student/ and /school/review/, and polls /readyz.
3. The schedule (defaults): warm-up 45 s; Redis stopped 60 s, then started again (empty); SMTP
   sink stopped 120 s, then started on the same port; the fast worker SIGKILLed (its pid from rq's
   worker registry; supervise.sh starts a new one); `pg_terminate_backend` of every connection
   with application_name jiuye-chaos (web and workers); cool-down 45 s. After each fault the
   script waits for full service (at most --recover-timeout) and then --gap seconds.
4. locust stops; the outbox drains (at most --drain seconds, until nothing is pending or sending);
   the checks below run.

Measured:
- per fault window, the share of logins (POST /login/, locust's and the prober's) and of page views
  (every GET) that succeeded, and of the other actions (POSTs). A window is stop → start for Redis
  and SMTP, and --instant-window seconds (30) from the action for the worker kill and the
  connection termination;
- time to full service: from the fault's end (Redis or sink started again, the SIGKILL sent, the
  backends terminated) until all of: /readyz answered 200; a prober login and page view succeeded;
  a probe mail delivered — a pending outbox row to its own address inserted after the fault's end
  (one every 5 s until one arrives) plus `send_outbox` enqueued on the mail queue, found in the
  sink. Plus, after the SMTP outage: every row that was pending or sending at its end is `sent`
  (the backlog drained); after the worker kill: a worker with a new pid on the mail queue in rq's
  registry, beating after the kill;
- after the drain: every outbox row with an address is `sent` (none pending, sending or failed),
  every sent row's Message-ID (app/jobs/mail.py: `<notification-ID@…>`, `<digest-LEAD@…>` for a
  digest) is in the sink, the sink holds no Message-ID twice; the invariants of bench/generate.py
  (R3, R6, R9, R11, R12) are 0.

Targets: 100% of logins and page views while Redis is down; every mail delivered exactly once, 0
failed because of an outage; invariants 0; each fault back to full service within 60 s with no
manual step; every fault applied. The exit status is 1 when one is missed.
"""
import argparse
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
sys.path.insert(0, HERE)
# bench/load.py is the locustfile and imports locust when it can; locust's import monkey-patches
# threads and sockets (gevent), which this driver must not get: load.py then skips its users.
sys.modules.setdefault("locust", None)
import generate  # noqa: E402
import load  # noqa: E402
import mail_bench  # noqa: E402

APP_NAME = "jiuye-chaos"
MAIL_DOMAIN = "chaos.example"
TARGET_RECOVERY_S = 60


def plain(url):
    return url.split("?", 1)[0]


def wait_for(check, timeout, interval=0.5):
    """Poll `check` until it returns something true; that value, or None after `timeout` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(interval)
    return None


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


# ====================================================================== processes

class Processes:
    """Every process the drill starts, each in a process group of its own, stopped by pid/group."""

    def __init__(self, scratch):
        self.scratch = scratch
        self.procs = {}

    def start(self, name, cmd, env):
        log = open(os.path.join(self.scratch, f"{name}.log"), "a")
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    def descendants(self, name):
        import psutil

        try:
            return psutil.Process(self.procs[name].pid).children(recursive=True)
        except (KeyError, psutil.Error):
            return []

    def stop(self, name, sig=signal.SIGTERM, timeout=30):
        """Signal the group; SIGKILL it (and whatever it started in groups of their own, e.g.
        supervise.sh's child) when it has not exited within `timeout`."""
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        left = self.descendants_of(proc)
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
        for child in left:  # ours: descendants of a process we started
            try:
                child.kill()
            except Exception:  # noqa: BLE001 - already gone
                pass

    @staticmethod
    def descendants_of(proc):
        import psutil

        try:
            return psutil.Process(proc.pid).children(recursive=True)
        except psutil.Error:
            return []

    def stop_all(self):
        for name in list(self.procs)[::-1]:
            try:
                self.stop(name)
            except Exception as exc:  # noqa: BLE001 - keep stopping the others
                print(f"stopping {name}: {exc}", file=sys.stderr)


def login(session, host, username):
    """Log in through /login/ (CSRF token from the form); True when the app let us in."""
    form = session.get(host + "/login/", timeout=10)
    token = load.CSRF.search(form.text)
    r = session.post(host + "/login/", data={"username": username, "password": load.PASSWORD,
                                             "csrf_token": token.group(1) if token else ""},
                     allow_redirects=False, timeout=10)
    return r.status_code == 302 and "/login" not in r.headers.get("Location", "")


# ====================================================================== the prober

class Prober(threading.Thread):
    """Every second: log in as a student and as a reviewer (new session) and read a page; /readyz."""

    def __init__(self, host, student, reviewer):
        super().__init__(daemon=True)
        self.host, self.student, self.reviewer = host, student, reviewer
        self.events = []  # (time, kind: login | read | readyz, ok, detail)
        self.halt = threading.Event()

    def record(self, t, kind, ok, detail=""):
        self.events.append((t, kind, ok, detail))

    def cycle(self, username, page):
        import requests

        session = requests.Session()
        t = time.time()
        try:
            ok = login(session, self.host, username)
            self.record(t, "login", ok, "" if ok else "refused")
        except Exception as exc:  # noqa: BLE001
            self.record(t, "login", False, exc.__class__.__name__)
            return False
        if not ok:
            return False
        t = time.time()
        try:
            r = session.get(self.host + page, timeout=10)
            ok = r.status_code == 200 and "/login" not in r.url
            self.record(t, "read", ok, "" if ok else f"{page} {r.status_code}")
        except Exception as exc:  # noqa: BLE001
            ok = False
            self.record(t, "read", False, exc.__class__.__name__)
        return ok

    def readyz(self):
        import requests

        t = time.time()
        try:
            r = requests.get(self.host + "/readyz", timeout=10)
            self.record(t, "readyz", r.status_code == 200, r.text[:300] if r.status_code != 200 else "")
        except Exception as exc:  # noqa: BLE001
            self.record(t, "readyz", False, exc.__class__.__name__)

    def run(self):
        while not self.halt.is_set():
            started = time.time()
            t = time.time()
            both = self.cycle(self.student, "/student/") & self.cycle(self.reviewer, "/school/review/")
            self.record(t, "web", both)
            self.readyz()
            self.halt.wait(max(0.0, 1.0 - (time.time() - started)))

    def first(self, kind, since):
        return next((t for t, k, ok, _ in list(self.events) if k == kind and ok and t >= since), None)


class Burst(threading.Thread):
    """Every `every` s one employer invites the next `size` students of its 签约发送列表 through the
    web (邀请函 → 确认发送), students with a login: each invitation is a mail to send. The mix alone
    writes little mail on a 5,000-graduate province (few of its invitees have a login)."""

    def __init__(self, host, employer, student_ids, every, size):
        super().__init__(daemon=True)
        self.host, self.employer, self.student_ids, self.every, self.size = host, employer, student_ids, every, size
        self.halt = threading.Event()
        self.results = Counter()

    def run(self):
        import requests

        session = requests.Session()
        while not self.halt.wait(self.every) and self.student_ids:
            ids, self.student_ids = self.student_ids[:self.size], self.student_ids[self.size:]
            try:
                if not login(session, self.host, self.employer):
                    self.results["login refused"] += 1
                    continue
                query = "&".join(f"ids={i}" for i in ids)
                form = session.get(f"{self.host}/employer/invite?{query}", timeout=30)
                r = session.post(self.host + "/employer/invite", data=load.invite_values(form.text, ids),
                                 allow_redirects=False, timeout=30)
                self.results[f"invite {r.status_code}"] += 1
            except Exception as exc:  # noqa: BLE001
                self.results[exc.__class__.__name__] += 1


# ====================================================================== the drill

class Drill:
    def __init__(self, args, scratch):
        self.args = args
        self.scratch = scratch
        self.procs = Processes(scratch)
        self.url = plain(args.database_url)
        self.app_url = f"{self.url}?application_name={APP_NAME}"
        self.redis_port, self.smtp_port, self.web_port = self.free_ports(3)
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.host = f"http://127.0.0.1:{self.web_port}"
        self.sink_file = os.path.join(scratch, "received")
        self.request_log = os.path.join(scratch, "requests.tsv")
        open(self.sink_file, "w").close()
        self.faults = []  # one dict a fault: name, applied, note, window, recovery
        self.probe_seq = 0
        self.prober = None
        self.burst = None
        self._db = None

    @staticmethod
    def free_ports(n):
        socks = []
        try:
            for _ in range(n):
                s = socket.socket()
                s.bind(("127.0.0.1", 0))
                socks.append(s)
            return [s.getsockname()[1] for s in socks]
        finally:
            for s in socks:
                s.close()

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "LOAD_"))}
        env.update(PATH=VENV_BIN + os.pathsep + env.get("PATH", ""), PYTHONPATH=ROOT, DATABASE_URL=self.app_url,
                   REDIS_URL=self.redis_url, SECRET_KEY="chaos-drill-secret-key-0123456789abcdef",
                   APP_ENV="production", MAIL_SERVER="127.0.0.1", MAIL_PORT=str(self.smtp_port),
                   MAIL_FROM=f"noreply@{MAIL_DOMAIN}", RATELIMIT_ENABLED="false", FAB_UPDATE_PERMS="false",
                   LOG_FORMAT="text", PROMETHEUS_MULTIPROC_DIR=os.path.join(self.scratch, "metrics"),
                   GUNICORN_BIND=f"127.0.0.1:{self.web_port}", WEB_CONCURRENCY=str(self.args.workers),
                   UPLOAD_DIR=os.path.join(self.scratch, "uploads"), PUBLIC_BASE_URL=self.host)
        return env

    # ------------------------------------------------------------ connections of the driver itself

    def db(self):
        import psycopg

        if self._db is None or self._db.closed:
            self._db = psycopg.connect(generate.pg_url(self.url), autocommit=True, application_name="chaos-driver")
        return self._db

    def sql(self, query, params=None):
        return self.db().execute(query, params).fetchall()

    def redis(self):
        from redis import Redis

        return Redis.from_url(self.redis_url, socket_connect_timeout=1, socket_timeout=3)

    def received(self):
        return mail_bench.received(self.sink_file)

    # ------------------------------------------------------------ the parts

    def start_redis(self):
        self.procs.start("redis", ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no", "--dir", self.scratch], self.env())
        if not wait_for(lambda: self.redis().ping(), 20):
            raise RuntimeError("redis-server did not answer")

    def start_sink(self):
        proc = self.procs.start("sink", [sys.executable, "-c", mail_bench.SINK, str(self.smtp_port), self.sink_file],
                                self.env())
        if not wait_for(lambda: port_open(self.smtp_port), 20):
            raise RuntimeError(f"SMTP sink did not start (exit {proc.poll()})")

    def start_app(self):
        env = self.env()
        os.makedirs(env["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
        os.makedirs(env["UPLOAD_DIR"], exist_ok=True)
        self.procs.start("gunicorn", [os.path.join(VENV_BIN, "gunicorn"), "-c", "deploy/gunicorn.conf.py",
                                      "app:create_app()"], env)
        worker = ["rq", "worker", "--worker-class", "app.jobs.worker.AppWorker", "--url", self.redis_url]
        supervise = os.path.join(ROOT, "deploy", "supervise.sh")
        self.procs.start("worker-fast", [supervise, "worker-fast", *worker, "mail", "default"], env)
        self.procs.start("worker-bulk", [supervise, "worker-bulk", *worker, "bulk"], env)
        self.procs.start("cron", [supervise, "cron", "rq", "cron", "--url", self.redis_url, "app/jobs/cron.py"], env)
        if not wait_for(lambda: self.get("/readyz")[0] == 200, 90):
            raise RuntimeError(f"/readyz not 200 after 90 s: {self.get('/readyz')}")

    def get(self, path):
        import requests

        try:
            r = requests.get(self.host + path, timeout=10)
            return r.status_code, r.text
        except Exception as exc:  # noqa: BLE001
            return None, exc.__class__.__name__

    def build(self):
        started = time.time()
        subprocess.run([sys.executable, os.path.join(HERE, "generate.py"), "--database-url", self.url, "--reset",
                        "--scale", str(self.args.scale), "--baseline", "0"], cwd=ROOT, check=True,
                       env=dict(self.env(), DATABASE_URL=self.url),  # its `flask db upgrade` needs SECRET_KEY
                       stdout=open(os.path.join(self.scratch, "generate.log"), "w"), stderr=subprocess.STDOUT)
        chosen = load.choose_accounts(self.url, n_students=400, n_employers=60, n_schools=5)
        self.accounts_path = os.path.join(self.scratch, "accounts.json")
        with open(self.accounts_path, "w", encoding="utf-8") as fh:
            json.dump(chosen, fh)
        self.accounts = chosen
        self.probe_user = self.sql("SELECT min(id) FROM ab_user")[0][0]
        # The burst's employer (not one of the mix's) and students with a login on its list.
        self.burst_employer, employer_id = self.sql(
            "SELECT username, employer_id FROM ab_user WHERE employer_id IS NOT NULL AND NOT username = ANY(%s) "
            "ORDER BY id LIMIT 1", (chosen["employer"],))[0]
        self.burst_students = [r[0] for r in self.sql(
            """INSERT INTO invite_list_entry (employer_id, student_id, created_at)
               SELECT %s, s.id, now() AT TIME ZONE 'UTC' FROM student s JOIN ab_user u ON u.student_id = s.id
               WHERE s.verified_at IS NOT NULL AND NOT s.signing_restricted AND NOT s.plan_submitted
                 AND s.training_mode = 'non_targeted'
                 AND NOT EXISTS (SELECT 1 FROM invite_list_entry e WHERE e.employer_id = %s AND e.student_id = s.id)
                 AND NOT EXISTS (SELECT 1 FROM agreement a WHERE a.student_id = s.id
                                 AND a.status IN ('pending', 'accepted', 'certified'))
               ORDER BY s.id LIMIT 400 RETURNING student_id""", (employer_id, employer_id))]
        print(f"province built in {time.time() - started:.0f} s: {len(chosen['student'])} students, "
              f"{len(chosen['employer'])} employers, {len(chosen['school'])} reviewers for the mix", flush=True)

    def start_load(self):
        env = dict(self.env(), LOAD_ACCOUNTS=self.accounts_path, LOAD_THINK=self.args.think,
                   LOAD_REQUEST_LOG=self.request_log)
        self.procs.start("locust", [os.path.join(VENV_BIN, "locust"), "-f", os.path.join(HERE, "load.py"),
                                    "--headless", "-u", str(self.args.users), "-r", "5", "--host", self.host,
                                    "--only-summary", "--stop-timeout", "5", "--exit-code-on-error", "0"], env)
        self.prober = Prober(self.host, self.accounts["student"][0], self.accounts["school"][0])
        self.prober.start()
        if self.args.burst_every:
            self.burst = Burst(self.host, self.burst_employer, self.burst_students, self.args.burst_every,
                               self.args.burst_size)
            self.burst.start()

    # ------------------------------------------------------------ probes

    def probe_mail(self):
        """A pending outbox row to an address of its own, and the sender enqueued for it (when Redis
        answers; otherwise the cron sweep finds it). Returns its Message-ID."""
        self.probe_seq += 1
        row_id = self.sql(
            "INSERT INTO notification (user_id, email, subject, body, created_at, email_status, attempts) "
            "VALUES (%s, %s, 'chaos probe', 'probe', now() AT TIME ZONE 'UTC', 'pending', 0) RETURNING id",
            (self.probe_user, f"probe-{self.probe_seq}@{MAIL_DOMAIN}"))[0][0]
        try:
            from rq import Queue

            Queue("mail", connection=self.redis()).enqueue("app.jobs.send_outbox", kwargs={"kicked": False},
                                                           job_timeout=600, description="chaos probe")
        except Exception:  # noqa: BLE001 - Redis not back yet
            pass
        return f"<notification-{row_id}@{MAIL_DOMAIN}>"

    def new_worker(self, killed_pid, since):
        from rq import Worker

        for w in Worker.all(connection=self.redis()):
            beat = w.last_heartbeat
            beat = beat.replace(tzinfo=beat.tzinfo or timezone.utc).timestamp() if beat else 0
            if w.pid != killed_pid and "mail" in w.queue_names() and beat >= since - 1:
                return True
        return False

    def wait_recovered(self, fault, since, extra=None):
        """Time from `since` (the fault's end) until full service (see the module doc)."""
        marks = {"readyz": None, "web": None, "mail": None}
        if extra:
            marks[extra[0]] = None
        probes, last_probe = [], 0.0
        deadline = since + self.args.recover_timeout
        while time.time() < deadline and not all(marks.values()):
            now = time.time()
            for kind in ("readyz", "web"):
                if marks[kind] is None:
                    marks[kind] = self.prober.first(kind, since)
            if marks["mail"] is None:
                if probes and set(probes) & set(self.received()):
                    marks["mail"] = now
                elif now - last_probe >= 5:
                    try:
                        probes.append(self.probe_mail())
                        last_probe = now
                    except Exception:  # noqa: BLE001 - the database refused: try again
                        pass
            if extra and marks[extra[0]] is None:
                try:
                    if extra[1]():
                        marks[extra[0]] = now
                except Exception:  # noqa: BLE001
                    pass
            time.sleep(1)
        fault["recovery"] = {k: (round(v - since, 1) if v else None) for k, v in marks.items()}
        fault["full_service_s"] = (round(max(marks.values()) - since, 1) if all(marks.values()) else None)
        print(f"  {fault['name']}: full service after "
              f"{fault['full_service_s'] if fault['full_service_s'] is not None else '> ' + str(self.args.recover_timeout)}"
              f" s {fault['recovery']}", flush=True)

    # ------------------------------------------------------------ the faults

    def fault(self, name):
        fault = {"name": name, "applied": False, "note": ""}
        self.faults.append(fault)
        print(f"{time.strftime('%H:%M:%S')} fault: {name}", flush=True)
        return fault

    def outage(self, label, name, seconds, port, restart, before_restart=None):
        """Stop the process `name` (listening on `port`) for `seconds`, then `restart` it. Returns
        the fault and its end."""
        fault = self.fault(f"{label} stopped {seconds} s")
        start = time.time()
        self.procs.stop(name)
        fault["applied"] = not port_open(port)
        if not fault["applied"]:
            fault["note"] = f"port {port} still answers after SIGTERM; "
        time.sleep(max(0.0, seconds - (time.time() - start)))
        if before_restart:
            before_restart(fault, start)
        restart()
        end = time.time()
        fault["window"] = (start, end)
        return fault, end

    def redis_outage(self):
        fault, end = self.outage("Redis", "redis", self.args.redis_down, self.redis_port, self.start_redis)
        self.wait_recovered(fault, end)

    def smtp_outage(self):
        backlog = []

        def count(fault, start):
            backlog.extend(r[0] for r in self.sql(
                "SELECT id FROM notification WHERE email_status IN ('pending', 'sending')"))
            written = self.sql("SELECT count(*) FROM notification WHERE email_status <> 'none' AND created_at >= "
                               "to_timestamp(%s) AT TIME ZONE 'UTC'", (start,))[0][0]
            fault["note"] += f"mail written during the outage: {written}; pending or sending at its end: {len(backlog)}"

        fault, end = self.outage("SMTP sink", "sink", self.args.smtp_down, self.smtp_port, self.start_sink, count)

        def drained():
            return not self.sql("SELECT 1 FROM notification WHERE id = ANY(%s) AND email_status IN ('pending', "
                                "'sending') LIMIT 1", (backlog,))
        self.wait_recovered(fault, end, ("backlog drained", drained))

    def worker_kill(self):
        fault = self.fault("fast worker SIGKILLed")
        from rq import Worker

        ours = {p.pid for p in self.procs.descendants("worker-fast")}
        workers = [w for w in Worker.all(connection=self.redis()) if "mail" in w.queue_names() and w.pid in ours]
        if workers:
            killed, busy = workers[0].pid, workers[0].get_current_job_id()
            how = "from rq's registry, " + (f"busy with job {busy}" if busy else "idle")
        else:
            # Not in the registry (it can lose its workers: see the report): supervise.sh's child,
            # the leader of the rq worker's own process group.
            leaders = [p.pid for p in self.procs.descendants("worker-fast") if os.getpgid(p.pid) == p.pid]
            killed = leaders[0] if leaders else None
            how = "NOT in rq's registry; the leader of supervise.sh's child group"
        start = time.time()
        if killed is None:
            fault["note"] = "no worker process of ours found"
        else:
            try:
                os.kill(killed, signal.SIGKILL)
                fault["applied"] = True
                fault["note"] = f"pid {killed}, {how}"
            except ProcessLookupError:
                fault["note"] = f"pid {killed} already gone"
        fault["window"] = (start, start + self.args.instant_window)
        self.wait_recovered(fault, start, ("new worker beating", lambda: self.new_worker(killed, start)))

    def database_termination(self):
        fault = self.fault("app's database connections terminated")
        start = time.time()
        rows = self.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                        (APP_NAME,))
        killed = sum(1 for (ok,) in rows if ok)
        fault["applied"] = killed > 0
        fault["note"] = f"{killed} backends terminated"
        fault["window"] = (start, start + self.args.instant_window)
        self.wait_recovered(fault, start)

    # ------------------------------------------------------------ the run

    def run(self):
        a = self.args
        steps = {"redis": self.redis_outage, "smtp": self.smtp_outage, "worker": self.worker_kill,
                 "database": self.database_termination}
        self.build()
        self.start_redis()
        self.start_sink()
        self.start_app()
        self.start_load()
        self.load_started = time.time()
        print(f"{time.strftime('%H:%M:%S')} load: {a.users} users; warm-up {a.warmup} s", flush=True)
        time.sleep(a.warmup)
        for name in a.faults.split(","):
            steps[name]()
            time.sleep(a.gap)
        time.sleep(max(0, a.cooldown - a.gap))
        self.procs.stop("locust")
        self.prober.halt.set()
        if self.burst is not None:
            self.burst.halt.set()
            self.burst.join(60)
        self.prober.join(15)
        self.load_ended = time.time()
        print(f"{time.strftime('%H:%M:%S')} load stopped; draining the outbox (at most {a.drain} s)", flush=True)
        started = time.time()
        wait_for(lambda: not self.sql("SELECT 1 FROM notification WHERE email_status IN ('pending', 'sending') "
                                      "LIMIT 1"), a.drain, interval=2)
        self.drain_s = time.time() - started
        return self.report()

    # ------------------------------------------------------------ the report

    def requests_in(self, start, end):
        """{login|read|action: [ok, total, Counter of errors]} from locust's log and the prober."""
        out = {k: [0, 0, Counter()] for k in ("login", "read", "action")}

        def add(kind, ok, detail):
            out[kind][1] += 1
            if ok:
                out[kind][0] += 1
            else:
                out[kind][2][detail[:80]] += 1
        if os.path.exists(self.request_log):
            with open(self.request_log, encoding="utf-8") as fh:
                for line in fh:
                    t, method, name, ok, error = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
                    if start <= float(t) < end:
                        kind = "login" if name == "/login/ (post)" else "read" if method == "GET" else "action"
                        add(kind, ok == "1", f"{name}: {error}")
        for t, kind, ok, detail in self.prober.events:
            if kind in ("login", "read") and start <= t < end:
                add(kind, ok, f"prober {detail}")
        return out

    def mail_check(self):
        rows = self.sql("SELECT id, email_status, sent_in, last_error FROM notification WHERE email_status <> 'none'")
        states = Counter(r[1] for r in rows)
        expected = {f"<digest-{r[2]}@{MAIL_DOMAIN}>" if r[2] else f"<notification-{r[0]}@{MAIL_DOMAIN}>"
                    for r in rows if r[1] == "sent"}
        got = self.received()
        counts = Counter(got)
        return {"rows": len(rows), "states": dict(states), "messages_expected": len(expected),
                "received": len(got), "distinct": len(counts),
                "duplicates": sum(c - 1 for c in counts.values() if c > 1),
                "sent_not_received": len(expected - set(counts)),
                "received_not_sent": len(set(counts) - expected),
                "failed_reasons": dict(Counter((r[3] or "")[:60] for r in rows if r[1] == "failed")),
                # app/jobs/mail.py: a down server (ServerUnreachable), a line dropped during DATA
                # (UNCERTAIN), or 24 h of retries (GAVE_UP).
                "failed_because_of_outage": sum(1 for r in rows if r[1] == "failed" and (r[3] or "").startswith(
                    ("ServerUnreachable", "SMTPServerDisconnected", "发送过程中断", "重试")))}

    def report(self):
        a = self.args
        missed = []
        lines = ["", f"## Fault drill: {a.users} users, think {a.think} s, gunicorn {a.workers} workers, "
                     f"load {self.load_ended - self.load_started:.0f} s, drain {self.drain_s:.0f} s", "",
                 "| fault | applied | logins ok | page views ok | other actions ok | full service after | "
                 "/readyz, web, probe mail, extra (s) |", "|---|---|---|---|---|---|---|"]

        def share(ok, total):
            return f"{ok}/{total} ({100 * ok / total:.1f}%)" if total else "0/0"
        for f in self.faults:
            window = f.get("window", (0, 0))
            stats = self.requests_in(*window)
            f["requests"] = {k: {"ok": v[0], "total": v[1], "errors": dict(v[2].most_common(3))}
                             for k, v in stats.items()}
            full = f.get("full_service_s")
            rec = f.get("recovery", {})
            lines.append(f"| {f['name']} ({f['note']}) | {'yes' if f['applied'] else 'NO'} | "
                         f"{share(*stats['login'][:2])} | {share(*stats['read'][:2])} | {share(*stats['action'][:2])} | "
                         f"{full if full is not None else '> ' + str(a.recover_timeout)} s | "
                         + ", ".join(f"{k} {v}" for k, v in rec.items()) + " |")
            if not f["applied"]:
                missed.append(f"{f['name']}: not applied ({f['note']})")
            if full is None or full > TARGET_RECOVERY_S:
                missed.append(f"{f['name']}: full service after {full} s (target ≤ {TARGET_RECOVERY_S} s)")
            if f["name"].startswith("Redis"):
                for kind in ("login", "read"):
                    ok, total = stats[kind][:2]
                    if ok < total or not total:
                        missed.append(f"Redis down: {kind}s {ok}/{total} (target 100%)")
        all_requests = self.requests_in(self.load_started, self.load_ended)
        lines.append(f"| whole run | | {share(*all_requests['login'][:2])} | {share(*all_requests['read'][:2])} | "
                     f"{share(*all_requests['action'][:2])} | | |")
        mail = self.mail_check()
        invariants = generate.check_invariants(self.url)
        lines += ["", f"invitation bursts: {dict(self.burst.results) if self.burst else 'none'}",
                  f"mail: {json.dumps(mail, ensure_ascii=False)}",
                  "invariants: " + ", ".join(f"{k}: {v}" for k, v in invariants.items())]
        for f in self.faults:
            errors = {k: v["errors"] for k, v in f["requests"].items() if v["errors"]}
            if errors:
                lines.append(f"errors during {f['name']}: {json.dumps(errors, ensure_ascii=False)}")
        not_sent = {k: v for k, v in mail["states"].items() if k != "sent"}
        if not_sent:
            missed.append(f"outbox rows not sent after the drain: {not_sent} ({mail['failed_because_of_outage']} "
                          f"failed because of an outage; failed: {mail['failed_reasons']})")
        if mail["duplicates"] or mail["sent_not_received"]:
            missed.append(f"sink: {mail['duplicates']} duplicates, {mail['sent_not_received']} sent rows not received")
        if any(invariants.values()):
            missed.append(f"invariants: {invariants}")
        lines.append("")
        lines += [f"MISSED: {m}" for m in missed] or ["every target met"]
        print("\n".join(lines), flush=True)
        if a.json:
            with open(a.json, "w", encoding="utf-8") as fh:
                json.dump({"faults": self.faults, "mail": mail, "invariants": invariants, "missed": missed,
                           "whole_run": {k: v[:2] for k, v in all_requests.items()}}, fh, ensure_ascii=False,
                          indent=1, default=str)
        return not missed


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/chaos",
                   help="a scratch database: generate.py --reset drops its schema")
    p.add_argument("--scale", type=float, default=0.01)
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--think", default="0.5,1.5", help="locust think time, min,max seconds")
    p.add_argument("--workers", type=int, default=3, help="gunicorn workers (WEB_CONCURRENCY)")
    p.add_argument("--faults", default="redis,smtp,worker,database", help="which, in this order")
    p.add_argument("--warmup", type=int, default=45)
    p.add_argument("--redis-down", type=int, default=60)
    p.add_argument("--smtp-down", type=int, default=120)
    p.add_argument("--gap", type=int, default=45, help="seconds after a fault's recovery before the next")
    p.add_argument("--cooldown", type=int, default=45)
    p.add_argument("--instant-window", type=int, default=30, help="window of the kill and the termination, s")
    p.add_argument("--recover-timeout", type=int, default=150, help="longest wait for full service, s")
    p.add_argument("--drain", type=int, default=300, help="longest wait for the outbox after the load, s")
    p.add_argument("--burst-every", type=int, default=10, help="seconds between invitation bursts (0: none)")
    p.add_argument("--burst-size", type=int, default=4, help="students invited per burst")
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory (logs, sink file)")
    args = p.parse_args(argv)
    if not args.database_url.startswith("postgresql"):
        p.error("--database-url postgresql+psycopg://… (a scratch database) is required")
    unknown = set(args.faults.split(",")) - {"redis", "smtp", "worker", "database"}
    if unknown:
        p.error(f"unknown faults: {unknown}")

    scratch = tempfile.mkdtemp(prefix="chaos-")
    drill = Drill(args, scratch)
    done = []

    def cleanup():
        if done:
            return
        done.append(1)
        for thread in (drill.prober, drill.burst):
            if thread is not None:
                thread.halt.set()
        drill.procs.stop_all()
        if args.keep:
            print(f"scratch directory kept: {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally below
    try:
        ok = drill.run()
    finally:
        cleanup()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

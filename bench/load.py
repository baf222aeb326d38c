"""Load test (issue 9): the realistic mix against gunicorn on 127.0.0.1:8097, with locust headless.

    .venv/bin/python bench/load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench \
        --users 50 --run-time 60 [--workers 3] [--baseline-run-time 30] [--record]

Needs the province of bench/generate.py (its logins, password Bench2026!a) and locust==2.47.0.
This file is both the driver (run it with python) and the locustfile (locust imports it).

The driver:
1. prepares: for each employer login it will use, puts 100 students without an offer from that
   employer on its 签约发送列表 (what 签约搜索 would do), so the employers can send offers;
2. starts gunicorn (`--workers`, sync) on 127.0.0.1:8097 against the database, with
   RATELIMIT_ENABLED=false: every simulated user comes from 127.0.0.1, and the per-IP login limit
   (10 per 20 s) would otherwise refuse most of them;
3. runs locust headless: `--users` users (60% students, 30% employers, 10% reviewers), spawned at
   10/s, for `--run-time` seconds, each logging in through /login/ (CSRF token read from the form);
4. the naive baseline in the same run: the same mix against ONE sync worker (what `flask run` gives);
5. prints p50/p95/p99 and requests/s per request type and for the mix, then checks the invariants
   (R3, R6, R9, R11, R12: all must be 0 — bench/generate.py's queries).

The mix (task weights per user; think time 0.1–0.3 s by default, `--think 0.5,2` for human pacing — with
50 users and human pacing the offered load is only ~40 requests/s, so the default measures capacity):
- student: home 3, 电子签约 list 3, one offer (查看邀请函) 2, accept a pending offer (签约前必读 +
  现在签约: agree=1, version, csrf) 1;
- employer: home 2, 数据管理 待应约 3, 已签约 1, 解约办理 已签约成功学生列表 1, send an offer to a
  student of its list (邀请函 → 预览 → 确认发送, step=confirm) 1;
- reviewer (the 5 biggest schools): home 1, 签约审核 list 4, one agreement 1, bulk certify the
  first 10 waiting ones (批量审核) 1.
"""
import argparse
import csv
import json
import os
import random
import re
import resource
import signal
import subprocess
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PORT = 8097
HOST = f"http://127.0.0.1:{PORT}"
PASSWORD = "Bench2026!a"
TARGETS = {"student home p95": 150, "school review list p95": 150, "requests/s": 150}


def pg(url):
    return url.replace("postgresql+psycopg://", "postgresql://")


def load_generate():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_generate", os.path.join(HERE, "generate.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ====================================================================== the locustfile part

try:
    from locust import HttpUser, between, task
except ImportError:  # the driver runs without importing locust
    HttpUser = None

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def invite_values(form_html, student_ids):
    """The 邀请函 form's fields (from its page `form_html`) filled in, to confirm sending it to
    `student_ids` (one id or a list)."""
    values = dict(re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', form_html))
    token = CSRF.search(form_html)
    values.update({"job_category": "工程技术人员", "position": "软件工程师", "feedback_days": "7",
                   "probation_days": "90", "probation_salary": "8000", "salary": "10000", "penalty": "0",
                   "report_region": "420111", "work_region": "420111", "contact_name": "王经理",
                   "contact_phone": "13912345678", "report_deadline": f"{time.localtime().tm_year + 1}-07-01",
                   "archive_mode": "none", "hukou_mode": "none", "ids": student_ids, "step": "confirm",
                   "csrf_token": token.group(1) if token else ""})
    return values


def accounts():
    """Logins for each role, chosen by the driver (LOAD_ACCOUNTS: a JSON file)."""
    if not hasattr(accounts, "cache"):
        with open(os.environ["LOAD_ACCOUNTS"], encoding="utf-8") as fh:
            accounts.cache = json.load(fh)
    return accounts.cache


if HttpUser is not None and os.environ.get("LOAD_REQUEST_LOG"):
    # One line per request (start time, method, name, 1/0, error) for bench/chaos.py, which counts
    # the successes inside each fault window; the driver above does not set it.
    from locust import events

    _request_log = open(os.environ["LOAD_REQUEST_LOG"], "a", buffering=1, encoding="utf-8")

    @events.request.add_listener
    def _log_request(request_type, name, exception=None, start_time=None, **_kwargs):
        error = "" if exception is None else str(exception).replace("\t", " ").replace("\n", " ")[:200]
        _request_log.write(f"{start_time or time.time():.3f}\t{request_type}\t{name}\t{int(exception is None)}"
                           f"\t{error}\n")


if HttpUser is not None:
    class _Portal(HttpUser):
        abstract = True
        host = HOST
        # Think time (LOAD_THINK="min,max" seconds): short by default, so 50 users measure capacity.
        wait_time = between(*[float(x) for x in os.environ.get("LOAD_THINK", "0.1,0.3").split(",")])
        role = None

        def on_start(self):
            pool = accounts()[self.role]
            self.username = pool[random.randrange(len(pool))]
            page = self.client.get("/login/", name="/login/ (form)")
            token = CSRF.search(page.text).group(1)
            with self.client.post("/login/", data={"username": self.username, "password": PASSWORD,
                                                   "csrf_token": token}, name="/login/ (post)",
                                  allow_redirects=False, catch_response=True) as r:
                if r.status_code != 302 or "/login" in r.headers.get("Location", ""):
                    r.failure(f"login {self.username} refused")
                else:
                    r.success()

        def token(self, html):
            m = CSRF.search(html)
            return m.group(1) if m else ""

        def get(self, url, name=None):
            with self.client.get(url, name=name or url, catch_response=True) as r:
                if r.status_code != 200:
                    r.failure(f"{r.status_code}")
                elif "/login" in r.url:
                    r.failure("sent back to login")
                return r

    class Student(_Portal):
        weight = 6
        role = "student"

        @task(3)
        def home(self):
            self.get("/student/")

        @task(3)
        def offers(self):
            r = self.get("/student/offers/")
            self.offer_ids = [int(i) for i in re.findall(r"/student/offers/(\d+)\"", r.text or "")]

        @task(2)
        def offer(self):
            ids = getattr(self, "offer_ids", None)
            if ids:
                self.get(f"/student/offers/{random.choice(ids)}", name="/student/offers/<id>")

        @task(1)
        def accept(self):
            r = self.get("/student/offers/")
            ids = [int(i) for i in re.findall(r"/student/offers/(\d+)\"", r.text or "")]
            for offer_id in ids[:3]:
                page = self.get(f"/student/offers/{offer_id}", name="/student/offers/<id>")
                version = re.search(r'name="version" value="([^"]+)"', page.text or "")
                if not version or f"/student/offers/{offer_id}/accept" not in page.text:
                    continue  # not answerable (answered, expired, cooling-off, or already signed: R6)
                with self.client.post(f"/student/offers/{offer_id}/accept", name="/student/offers/<id>/accept",
                                      data={"agree": "1", "version": version.group(1),
                                            "csrf_token": self.token(page.text)},
                                      allow_redirects=False, catch_response=True) as resp:
                    if resp.status_code != 302:
                        resp.failure(f"{resp.status_code}")
                return

    class Employer(_Portal):
        weight = 3
        role = "employer"

        @task(2)
        def home(self):
            self.get("/employer/")

        @task(3)
        def pending(self):
            self.get("/employer/offers/?tab=pending", name="/employer/offers/?tab=pending")

        @task(1)
        def certified(self):
            self.get("/employer/offers/?tab=certified", name="/employer/offers/?tab=certified")

        @task(1)
        def signed(self):
            self.get("/employer/terminations/?tab=signed", name="/employer/terminations/?tab=signed")

        @task(1)
        def invite(self):
            page = self.get("/employer/list/")
            ids = re.findall(r'name="ids" value="(\d+)"', page.text or "")
            if not ids:
                return
            student_id = random.choice(ids)
            form = self.get(f"/employer/invite?ids={student_id}", name="/employer/invite (form)")
            values = invite_values(form.text or "", student_id)
            with self.client.post("/employer/invite", data=values, name="/employer/invite (confirm)",
                                  allow_redirects=False, catch_response=True) as r:
                # 302: sent; 409: refused by a rule (R3 already pending, R7) — a correct answer, not an error.
                if r.status_code not in (302, 409):
                    r.failure(f"{r.status_code}")
                else:
                    r.success()

    class Reviewer(_Portal):
        weight = 1
        role = "school"

        @task(1)
        def home(self):
            self.get("/school/")

        @task(4)
        def reviews(self):
            r = self.get("/school/review/")
            self.waiting = re.findall(r'name="ids" value="(\d+)"', r.text or "")

        @task(1)
        def review(self):
            if getattr(self, "waiting", None):
                self.get(f"/school/review/{random.choice(self.waiting)}", name="/school/review/<id>")

        @task(1)
        def bulk_certify(self):
            r = self.get("/school/review/")
            ids = re.findall(r'name="ids" value="(\d+)"', r.text or "")[:10]
            if not ids:
                return
            with self.client.post("/school/review/bulk-certify", data={"ids": ids, "csrf_token": self.token(r.text)},
                                  name="/school/review/bulk-certify (10)", allow_redirects=False,
                                  catch_response=True) as resp:
                if resp.status_code != 302:
                    resp.failure(f"{resp.status_code}")


# ====================================================================== the driver

def choose_accounts(url, n_students=400, n_employers=60, n_schools=5):
    """Students with an answerable offer (pending, past the cooling-off) and no live outcome; the
    employers with most offers; the reviewers of the biggest schools. Employers get 100 fresh
    students each on their 签约发送列表."""
    import psycopg

    with psycopg.connect(pg(url)) as conn:
        students = [r[0] for r in conn.execute(
            """SELECT DISTINCT u.username FROM agreement a JOIN ab_user u ON u.student_id = a.student_id
               WHERE a.status = 'pending' AND a.expires_at > now() AT TIME ZONE 'UTC'
                 AND a.sent_at < now() AT TIME ZONE 'UTC' - interval '1 hour'
                 AND NOT EXISTS (SELECT 1 FROM agreement l WHERE l.student_id = a.student_id
                                 AND l.status IN ('accepted', 'certified'))
                 AND NOT EXISTS (SELECT 1 FROM destination d WHERE d.student_id = a.student_id
                                 AND d.status IN ('submitted', 'approved'))
               LIMIT %s""", (n_students,))]
        employers = conn.execute(
            """SELECT u.username, u.employer_id FROM ab_user u JOIN agreement a ON a.employer_id = u.employer_id
               GROUP BY u.username, u.employer_id ORDER BY count(*) DESC LIMIT %s""", (n_employers,)).fetchall()
        schools = [r[0] for r in conn.execute(
            """SELECT u.username FROM ab_user u JOIN student s ON s.school_id = u.school_id
               WHERE u.username LIKE 'r%%-1' GROUP BY u.username ORDER BY count(*) DESC LIMIT %s""", (n_schools,))]
        added = 0
        for _username, employer_id in employers:
            cur = conn.execute(
                """INSERT INTO invite_list_entry (employer_id, student_id, created_at)
                   SELECT %s, s.id, now() AT TIME ZONE 'UTC' FROM student s
                   WHERE s.verified_at IS NOT NULL AND NOT s.signing_restricted AND NOT s.plan_submitted
                     AND s.training_mode = 'non_targeted'
                     AND NOT EXISTS (SELECT 1 FROM invite_list_entry e WHERE e.employer_id = %s AND e.student_id = s.id)
                     AND s.id %% 97 = %s
                   LIMIT 100""", (employer_id, employer_id, employer_id % 97))
            added += cur.rowcount
        conn.commit()
    return {"student": students, "employer": [e[0] for e in employers], "school": schools, "list_entries": added}


def start_gunicorn(url, workers, log_path):
    env = dict(os.environ, DATABASE_URL=url, RATELIMIT_ENABLED="false", FAB_UPDATE_PERMS="false",
               SECRET_KEY=os.environ.get("SECRET_KEY", "bench-load-secret-key-0123456789"), PYTHONPATH=ROOT,
               REDIS_URL="")
    proc = subprocess.Popen(
        [os.path.join(ROOT, ".venv", "bin", "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{PORT}",
         "--timeout", "120", "app:create_app()"],
        cwd=ROOT, env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(120):
        try:
            urllib.request.urlopen(HOST + "/login/", timeout=2)
            return proc
        except Exception:  # noqa: BLE001 - not up yet
            if proc.poll() is not None:
                raise SystemExit(f"gunicorn exited, see {log_path}")
            time.sleep(0.5)
    raise SystemExit(f"gunicorn did not answer on {HOST}, see {log_path}")


def stop(proc):
    os.killpg(proc.pid, signal.SIGTERM)  # our own process group (start_new_session)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def run_locust(users, run_time, prefix, accounts_path, think):
    env = dict(os.environ, LOAD_ACCOUNTS=accounts_path, LOAD_THINK=think)
    cmd = [os.path.join(ROOT, ".venv", "bin", "locust"), "-f", os.path.abspath(__file__), "--headless",
           "-u", str(users), "-r", "10", "-t", f"{run_time}s", "--host", HOST, "--csv", prefix,
           "--only-summary", "--stop-timeout", "10", "--exit-code-on-error", "0"]
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=open(prefix + "_locust.log", "w"))
    with open(prefix + "_stats.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def cpu_seconds(pids):
    """user + system CPU seconds of these processes (those still alive)."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def app_pids(proc):
    import psutil

    return [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]


def db_backend_pids(url):
    """The PostgreSQL backends connected to the database (gunicorn's pooled connections)."""
    import psycopg

    with psycopg.connect(pg(url)) as conn:
        return [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'")]


def table(rows):
    out = ["| request | count | failures | p50 ms | p95 ms | p99 ms | requests/s |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['Name']} | {r['Request Count']} | {r['Failure Count']} | {r['50%']} | {r['95%']} | "
                   f"{r['99%']} | {float(r['Requests/s']):.1f} |")
    return "\n".join(out)


def pick(rows, name):
    return next((r for r in rows if r["Name"] == name), None)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--run-time", type=int, default=60)
    # cores + 1, not gunicorn's 2 × cores + 1: the app is CPU-bound and PostgreSQL shares the two
    # cores (bench/README.md: 3 workers 221 req/s, 4 → 214, 5 → 206, p95 120/120/150 ms).
    p.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (cores + 1)")
    p.add_argument("--baseline-run-time", type=int, default=30, help="seconds for the 1-worker baseline (0: skip)")
    p.add_argument("--think", default="0.1,0.3", help="think time between tasks, min,max seconds")
    p.add_argument("--out", default="/tmp/bench-load", help="prefix of the CSV and log files")
    p.add_argument("--record", action="store_true")
    args = p.parse_args(argv)
    if not (args.database_url or "").startswith("postgresql"):
        p.error("--database-url postgresql+psycopg://… (the generated province) is required")
    generate = load_generate()

    chosen = choose_accounts(args.database_url)
    print(f"accounts: {len(chosen['student'])} students, {len(chosen['employer'])} employers, "
          f"{len(chosen['school'])} reviewers; {chosen['list_entries']} list entries added", flush=True)
    accounts_path = args.out + "_accounts.json"
    with open(accounts_path, "w", encoding="utf-8") as fh:
        json.dump(chosen, fh)

    results, cpu = {}, {}
    runs = [("mix", args.workers, args.run_time)]
    if args.baseline_run_time:
        runs.append(("baseline-1-worker", 1, args.baseline_run_time))
    for label, workers, seconds in runs:
        proc = start_gunicorn(args.database_url, workers, f"{args.out}_{label}_gunicorn.log")
        try:
            time.sleep(3)  # let every worker finish importing the app
            app_before = cpu_seconds(app_pids(proc))
            locust_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            rows = run_locust(args.users, seconds, f"{args.out}_{label}", accounts_path, args.think)
            locust_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            # CPU per request: gunicorn workers, their PostgreSQL backends (born during the run), locust.
            requests = max(1, int(pick(rows, "Aggregated")["Request Count"]))
            cpu[label] = {
                "app_ms_per_request": round((cpu_seconds(app_pids(proc)) - app_before) * 1000 / requests, 1),
                "db_ms_per_request": round(cpu_seconds(db_backend_pids(args.database_url)) * 1000 / requests, 1),
                "locust_ms_per_request": round((locust_after.ru_utime + locust_after.ru_stime - locust_before.ru_utime
                                                - locust_before.ru_stime) * 1000 / requests, 1),
            }
        finally:
            stop(proc)
        results[label] = rows
        print(f"\n## {label}: {args.users} users, gunicorn {workers} sync worker(s), {seconds} s\n")
        print(table(rows), flush=True)
        print(f"\nCPU per request: {cpu[label]}", flush=True)

    rows = results["mix"]
    total = pick(rows, "Aggregated")
    home = pick(rows, "/student/")
    review = pick(rows, "/school/review/")
    failures = int(total["Failure Count"])
    rps = float(total["Requests/s"])
    invariants = generate.check_invariants(args.database_url)
    print("\ninvariants after the run: " + ", ".join(f"{k}: {v}" for k, v in invariants.items()))
    summary = {"requests_per_s": round(rps, 1), "failures": failures, "requests": int(total["Request Count"]),
               "p50": total["50%"], "p95": total["95%"], "p99": total["99%"],
               "student_home_p95": home["95%"] if home else None, "school_review_p95": review["95%"] if review else None,
               "cpu": cpu, "invariants": invariants}
    if "baseline-1-worker" in results:
        base = pick(results["baseline-1-worker"], "Aggregated")
        summary["baseline_requests_per_s"] = round(float(base["Requests/s"]), 1)
        summary["baseline_p95"] = base["95%"]
        summary["ratio_rps"] = round(rps / max(float(base["Requests/s"]), 0.01), 2)
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    if args.record:
        generate.record_result(
            f"load: {args.users} users, mix (students 60% / employers 30% / reviewers 10%), gunicorn {args.workers} "
            f"workers, think {args.think} s, {args.run_time} s",
            f"{rps:.0f} req/s, p50/p95/p99 {total['50%']}/{total['95%']}/{total['99%']} ms; student home p95 "
            f"{summary['student_home_p95']} ms, review list p95 {summary['school_review_p95']} ms; "
            f"{failures} errors; invariants {'hold' if not any(invariants.values()) else invariants}; CPU per "
            f"request: app {cpu['mix']['app_ms_per_request']} ms, PostgreSQL {cpu['mix']['db_ms_per_request']} ms, "
            f"locust {cpu['mix']['locust_ms_per_request']} ms",
            "≥ 150 req/s; student home and review list p95 ≤ 150 ms; 0 errors",
            f"{summary.get('ratio_rps', '-')}× the req/s of 1 worker ({summary.get('baseline_requests_per_s', '-')} "
            f"req/s, p95 {summary.get('baseline_p95', '-')} ms)",
            f"bench/load.py --users {args.users} --run-time {args.run_time}")
    if any(invariants.values()):
        raise SystemExit(f"invariants violated: {invariants}")


if __name__ == "__main__" and os.environ.get("LOAD_ACCOUNTS") is None:
    main()

"""Index use of every list page on the province data set (issue 9).

    .venv/bin/python bench/explain.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench \
        [--page school-review ...] [--try-index "CREATE INDEX ..."] [--record] [--out /tmp/explain.txt]

Not a copy of the views' SQL: each page is requested through the app itself (Flask test client,
logged in as a generated user — the biggest school's reviewer, the employer with most offers, the
student with most offers, the province), and every SELECT the request runs is captured with its
parameters (SQLAlchemy `before_cursor_execute`). Each statement that reads a big table is then
run again as `EXPLAIN (ANALYZE, BUFFERS)`, and a second time with index scans switched off
(`enable_indexscan/bitmapscan/indexonlyscan = off`: the naive sequential baseline, same process).

Reported per statement: time with indexes, time without, the indexes used and any sequential scan
over a big table (student, agreement, termination, destination, flow_event, invite_list_entry,
notification, ab_user). `--try-index` creates an index by hand, runs the pages again and drops it
(the database is left as it was) — the "after" of a proposed Index(...).
"""
import argparse
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# The repository root first, so `imports` is the package, whatever lies in bench/.
sys.path.insert(0, os.path.dirname(HERE))

BIG = ("student", "agreement", "termination", "destination", "flow_event", "invite_list_entry", "notification",
       "ab_user", "employer", "employer_approval")
PAGES = {
    # name: (role, url)
    "school-home": ("school", "/school/"),
    "school-review": ("school", "/school/review/"),
    "school-review-certified": ("school", "/school/review/?status=certified"),
    "school-review-all-deep": ("school", "/school/review/?status=all&page=300"),
    "school-review-department": ("school", "/school/review/?status=certified&department={department}"),
    "school-review-name": ("school", "/school/review/?status=all&name={student_name}"),
    "school-terminations": ("school", "/school/terminations/"),
    "school-terminations-all": ("school", "/school/terminations/?status=all"),
    "school-destinations": ("school", "/school/destinations/"),
    "school-destinations-approved": ("school", "/school/destinations/?status=approved"),
    "school-students": ("school", "/school/students/list/"),
    "employer-home": ("employer", "/employer/"),
    "employer-offers-pending": ("employer", "/employer/offers/?tab=pending"),
    "employer-offers-accepted": ("employer", "/employer/offers/?tab=accepted"),
    "employer-offers-certified": ("employer", "/employer/offers/?tab=certified"),
    "employer-offers-expired": ("employer", "/employer/offers/?tab=expired"),
    "employer-offers-rejected": ("employer", "/employer/offers/?tab=rejected"),
    "employer-invite-list": ("employer", "/employer/list/"),
    "employer-terminations-todo": ("employer", "/employer/terminations/?tab=todo"),
    "employer-terminations-records": ("employer", "/employer/terminations/?tab=records"),
    "employer-terminations-signed": ("employer", "/employer/terminations/?tab=signed"),
    "student-home": ("student", "/student/"),
    "student-offers": ("student", "/student/offers/"),
    "student-terminations": ("student", "/student/terminations/"),
    "province-home": ("province", "/province/"),
    "province-stats": ("province", "/stats/province/"),
}
NO_INDEX = ["SET enable_indexscan = off", "SET enable_bitmapscan = off", "SET enable_indexonlyscan = off"]


def load_generate():
    """bench/generate.py as a module (for record_result), without putting bench/ on sys.path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_generate", os.path.join(HERE, "generate.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pick_users(conn):
    """The heaviest party of each role in the generated province."""
    q = conn.exec_driver_sql
    school_id, code = q("SELECT s.id, s.code FROM school s JOIN student st ON st.school_id = s.id "
                        "GROUP BY s.id ORDER BY count(*) DESC LIMIT 1").one()
    employer_id = q("SELECT employer_id FROM agreement WHERE employer_id IS NOT NULL GROUP BY employer_id "
                    "ORDER BY count(*) DESC LIMIT 1").scalar()
    student = q("SELECT u.username, a.student_id FROM agreement a JOIN ab_user u ON u.student_id = a.student_id "
                "GROUP BY u.username, a.student_id ORDER BY count(*) DESC, a.student_id LIMIT 1").one()
    department = q("SELECT department FROM student WHERE school_id = %(s)s GROUP BY department "
                   "ORDER BY count(*) DESC LIMIT 1", {"s": school_id}).scalar()
    student_name = q("SELECT st.name FROM agreement a JOIN student st ON st.id = a.student_id "
                     "WHERE a.school_id = %(s)s LIMIT 1", {"s": school_id}).scalar()
    return {
        "school": q("SELECT username FROM ab_user WHERE school_id = %(s)s ORDER BY id LIMIT 1", {"s": school_id}).scalar(),
        "employer": q("SELECT username FROM ab_user WHERE employer_id = %(e)s LIMIT 1", {"e": employer_id}).scalar(),
        "student": student[0],
        "province": "bench-province",
        "context": {"department": department, "student_name": student_name, "school_code": code,
                    "employer_id": employer_id, "student_id": student[1]},
    }


def capture(app, client, url):
    from sqlalchemy import event

    from app.extensions import db

    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        t0 = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - t0
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return response.status_code, elapsed, seen


def plan_facts(plan_text):
    seq = sorted({t for t in re.findall(r"Seq Scan on (\w+)", plan_text) if t in BIG})
    indexes = sorted(set(re.findall(r"Index (?:Only )?Scan(?: Backward)? using (\w+)", plan_text))
                     | set(re.findall(r"Bitmap Index Scan on (\w+)", plan_text)))
    ms = re.search(r"Execution Time: ([\d.]+) ms", plan_text)
    return seq, indexes, float(ms.group(1)) if ms else None


def explain(engine, statement, parameters, no_index=False):
    with engine.connect() as conn:
        if no_index:
            for s in NO_INDEX:
                conn.exec_driver_sql(s)
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters or {}).all()
        conn.rollback()
    return "\n".join(r[0] for r in rows)


def run(app, users, pages, out, verbose=True):
    from app.extensions import db

    results = []
    clients = {}
    for role in {PAGES[p][0] for p in pages}:
        client = app.test_client()
        r = client.post("/login/", data={"username": users[role], "password": "Bench2026!a"})
        assert r.status_code == 302 and "/login" not in r.headers.get("Location", ""), f"login {users[role]} failed"
        clients[role] = client
    with app.app_context():
        engine = db.engine
    for name in pages:
        role, url = PAGES[name]
        url = url.format(**users["context"])
        client = clients[role]
        client.get(url)  # warm the cache (and FAB's permission lookups)
        status, elapsed, statements = capture(app, client, url)
        page = {"page": name, "url": url, "status": status, "request_ms": round(elapsed * 1000, 1),
                "statements": len(statements), "queries": []}
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            if not re.search(r"\b(FROM|JOIN)\s+(" + "|".join(BIG) + r")\b", statement):
                continue
            plan = explain(engine, statement, parameters)
            seq, indexes, ms = plan_facts(plan)
            naive = explain(engine, statement, parameters, no_index=True)
            _s, _i, naive_ms = plan_facts(naive)
            flat = " ".join(statement.split())
            page["queries"].append({"sql": flat[:400], "main": " LIMIT " in flat and " OFFSET " in flat,
                                    "count": bool(re.match(r"SELECT count\(\*\)( AS \w+)? FROM ", flat)),
                                    "ms": ms, "seq_scan_on": seq,
                                    "indexes": indexes, "no_index_ms": naive_ms, "plan": plan})
            out.write(f"\n### {name} {url}\n{' '.join(statement.split())}\n-- params: {parameters}\n{plan}\n"
                      f"-- without index scans: {naive_ms} ms\n")
        results.append(page)
        if verbose:
            worst = max((q["ms"] or 0 for q in page["queries"]), default=0)
            seqs = sorted({t for q in page["queries"] for t in q["seq_scan_on"]})
            print(f"{name:32} {status} request {page['request_ms']:7.1f} ms, {page['statements']:2} statements, "
                  f"slowest query {worst:7.2f} ms, seq scan on big tables: {', '.join(seqs) or 'none'}", flush=True)
    return results


def summary_table(results):
    lines = ["| page | request ms | statements | main query ms | its count ms | indexes used | seq scan on big tables | "
             "main query without index scans ms |", "|---|---|---|---|---|---|---|---|"]
    for page in results:
        qs = page["queries"]
        # The list's main query has LIMIT; its count is the count(*) over the same FROM.
        main = next((q for q in qs if q["main"]), None)
        count = next((q for q in qs if q["count"]), None)
        idx = sorted({i for q in qs for i in q["indexes"]})
        seqs = sorted({t for q in qs for t in q["seq_scan_on"]})
        lines.append(f"| {page['page']} | {page['request_ms']} | {page['statements']} | "
                     f"{main['ms'] if main else '-'} | {count['ms'] if count else '-'} | {', '.join(idx) or '-'} | "
                     f"{', '.join(seqs) or 'none'} | {main['no_index_ms'] if main else '-'} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    p.add_argument("--page", action="append", choices=sorted(PAGES), help="only these pages (repeatable)")
    p.add_argument("--try-index", action="append", default=[], help="CREATE INDEX … to test (dropped afterwards)")
    p.add_argument("--out", default="/tmp/bench-explain.txt", help="full EXPLAIN output")
    p.add_argument("--json", help="write the results as JSON here")
    p.add_argument("--record", action="store_true", help="append the result to bench/README.md")
    args = p.parse_args(argv)
    if not (args.database_url or "").startswith("postgresql"):
        p.error("--database-url postgresql+psycopg://… (the generated province) is required")

    from app import create_app
    from app.extensions import db

    # STATS_CACHE_SECONDS 0: the province pages' own SQL is what is explained, not a cache hit.
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "APP_ENV": "development",
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "SERVER_NAME": None,
                      "STATS_CACHE_SECONDS": 0})
    with app.app_context():
        with db.engine.connect() as conn:
            users = pick_users(conn)
    print("users:", json.dumps({k: v for k, v in users.items()}, ensure_ascii=False))
    pages = args.page or list(PAGES)
    with open(args.out, "w", encoding="utf-8") as out:
        created = []
        try:
            if args.try_index:
                with app.app_context(), db.engine.begin() as conn:
                    for sql in args.try_index:
                        conn.exec_driver_sql(sql)
                        created.append(re.search(r"INDEX\s+(?:IF NOT EXISTS\s+)?(\w+)", sql, re.I).group(1))
                    conn.exec_driver_sql("ANALYZE")
                print("with trial indexes:", ", ".join(created))
            results = run(app, users, pages, out)
        finally:
            if created:
                with app.app_context(), db.engine.begin() as conn:
                    for name in created:
                        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    table = summary_table(results)
    print("\n" + table)
    print(f"\nfull plans: {args.out}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, ensure_ascii=False, indent=1)
    if args.record:
        record_result = load_generate().record_result

        mains = [(q["ms"], q["no_index_ms"]) for page in results for q in page["queries"] if q["main"]]
        seqs = sorted({f"{page['page']}:{t}" for page in results for q in page["queries"] for t in q["seq_scan_on"]})
        worst = max(m for m, _n in mains)
        ratio = sum(n for _m, n in mains) / max(sum(m for m, _n in mains), 0.001)
        record_result(f"explain: {len(results)} list pages, main query + count on the province",
                      f"slowest main query {worst:.1f} ms; seq scans on big tables: {', '.join(seqs) or 'none'}",
                      "index on every list query, no seq scan over offers/students",
                      f"main queries {ratio:.0f}× faster than with index scans off",
                      "bench/explain.py" + (" --try-index …" if args.try_index else ""))


if __name__ == "__main__":
    main()

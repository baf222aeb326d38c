"""Statistics and export benchmark on PostgreSQL (issue 8; bench/README.md, "Statistics and exports",
and its results table).

    export DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/<scratch db>
    .venv/bin/python bench/export_bench.py generate          # DROPS and refills every table (~40 s)
    .venv/bin/python bench/export_bench.py all [--record]    # every figure below, each with its naive baseline
    .venv/bin/python bench/export_bench.py workbook | naive_workbook | certified csv | certified xlsx
                                           | naive_certified csv | naive_certified xlsx
                                           | national csv | national xlsx | naive_national
                                           | summary_rebuild | dashboard summary|live|sql [school id]
                                           | summary_refresh [changes]

Figures (targets from issue 8): the statistics workbook (≤ 10 s, peak RSS ≤ 1 GB); the detailed
certified list, ~300,000 rows × 23 columns, as CSV (≤ 5 s) and .xlsx (≤ 40 s), peak RSS ≤ 1 GB — the
real job function `app.jobs.exports.certified_list` in each case; the national 毕业去向 file (issue 26),
one row per graduate (500,000 × 24 columns) as GB18030 CSV (≤ 60 s) — `app.jobs.exports.national_outcomes`. The naive baselines do it the
obvious way — ORM objects → DataFrame → `to_excel` / `to_csv` — on a sample (said so in the output)
and are scaled linearly to the full size. Each phase runs in its own process, so its peak RSS
(ru_maxrss) is its own. Scale (DESIGN.md §7): 130 schools, 500,000 graduates, 1,500,000 offers,
40,000 employers.
"""
import io
import json
import os
import resource
import subprocess
import sys
import time
from types import SimpleNamespace

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCHOOLS, STUDENTS, OFFERS_PER_STUDENT, EMPLOYERS = 130, 500_000, 3, 40_000

GENERATE_SQL = [
    f"""INSERT INTO school (id, code, name) SELECT g, (10000 + g)::text, '学校' || g FROM generate_series(1, {SCHOOLS}) g""",
    f"""INSERT INTO employer (id, name, credit_code, nature, industry, region, created_at)
        SELECT g, '单位' || g, lpad(g::text, 18, '0'), (ARRAY['10','31','39','32','21','23'])[1 + g % 6], 'I',
               (ARRAY['420111','110105','310101','440305','420102'])[1 + g % 5], now()
        FROM generate_series(1, {EMPLOYERS}) g""",
    f"""INSERT INTO student (id, school_id, student_no, name, id_number, gender, phone, graduation_year, education,
                            department, major, training_mode, signing_restricted, plan_submitted)
        SELECT g, 1 + g % {SCHOOLS}, g::text, '学生' || g, lpad(g::text, 18, '0'),
               CASE WHEN g % 2 = 0 THEN '男' ELSE '女' END, '138' || lpad(g::text, 8, '0'), 2026,
               (ARRAY['本科生毕业','硕士生毕业','博士生毕业','专科生毕业'])[1 + g % 4], '院系' || (g % 12),
               '专业' || (g % 40), 'non_targeted', false, false
        FROM generate_series(1, {STUDENTS}) g""",
    # Three offers per student; the first is live for 80% (60% certified, 20% accepted), R6 holds.
    f"""INSERT INTO agreement (id, kind, status, number, student_id, school_id, employer_id, employer_name,
                              employer_credit_code, job_category, position, feedback_days, probation_days,
                              probation_salary, salary, penalty, report_region, report_deadline, work_region,
                              contact_name, contact_phone, archive_mode, hukou_mode, sent_at, expires_at,
                              accepted_at, certified_at, updated_at)
        SELECT i, CASE WHEN s % 25 = 0 THEN 'paper' ELSE 'electronic' END,
               CASE WHEN j = 0 AND s % 10 < 6 THEN 'certified' WHEN j = 0 AND s % 10 < 8 THEN 'accepted'
                    WHEN j = 1 THEN 'rejected' ELSE 'expired' END,
               CASE WHEN j = 0 AND s % 10 < 6 THEN '12026' || lpad(s::text, 10, '0') END,
               s, 1 + s % {SCHOOLS}, e, '单位' || e, lpad(e::text, 18, '0'), '工程技术人员', '工程师', 5, 90, 8000,
               10000, 0, '420111', DATE '2027-07-01',
               (ARRAY['420111','110105','310101','440305','420102'])[1 + (s + j) % 5], '王经理', '13912345678',
               'none', 'none', t, t + interval '6 days',
               CASE WHEN j = 0 AND s % 10 < 8 THEN t + interval '2 hours' END,
               CASE WHEN j = 0 AND s % 10 < 6 THEN t + interval '1 day' END, t
        FROM (SELECT i, 1 + (i - 1) / {OFFERS_PER_STUDENT} AS s, (i - 1) % {OFFERS_PER_STUDENT} AS j,
                     1 + (i * 7) % {EMPLOYERS} AS e,
                     TIMESTAMP '2026-03-01' + ((i % 200) || ' days')::interval + ((i % 24) || ' hours')::interval AS t
              FROM generate_series(1, {STUDENTS * OFFERS_PER_STUDENT}) i) x""",
    f"""INSERT INTO destination (id, student_id, school_id, kind, status, created_at, reviewed_at, updated_at)
        SELECT g, g, 1 + g % {SCHOOLS}, (ARRAY['80','85','75','76'])[1 + g % 4],
               CASE WHEN g % 20 = 8 THEN 'approved' ELSE 'submitted' END,
               TIMESTAMP '2026-04-01', TIMESTAMP '2026-04-02', TIMESTAMP '2026-04-02'
        FROM generate_series(1, {STUDENTS}) g WHERE g % 10 = 8""",
    "ANALYZE",
]


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def app():
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"], "APP_ENV": "development",
                       "UPLOAD_DIR": "/tmp/bench-stats"})


def report(**figures):
    """One JSON line per phase: `all` collects them."""
    figures["rss_mb"] = round(rss_mb())
    print(json.dumps(figures, ensure_ascii=False))


def generate():
    from flask_appbuilder import Model
    from sqlalchemy import text

    from app.extensions import db

    with app().app_context():
        assert db.engine.dialect.name == "postgresql", "the benchmark is for PostgreSQL"
        Model.metadata.drop_all(db.engine)
        Model.metadata.create_all(db.engine)
        with db.engine.begin() as conn:
            for sql in GENERATE_SQL:
                t = time.perf_counter()
                conn.execute(text(sql))
                print(f"  {sql.split()[2] if sql != 'ANALYZE' else 'ANALYZE'}: {time.perf_counter() - t:.1f} s")


def workbook():
    from app import stats

    with app().app_context():
        t = time.perf_counter()
        f = stats.Filters(year=2026)
        frame = stats.outcome_frame(f)
        t_frame = time.perf_counter() - t
        t = time.perf_counter()
        wb = stats.statistics_workbook(stats.dashboard(f), f)
        buf = io.BytesIO()
        wb.save(buf)
        report(phase="workbook", seconds=round(time.perf_counter() - t, 2), frame_rows=len(frame),
               frame_seconds=round(t_frame, 2), kib=len(buf.getvalue()) // 1024)


def naive_workbook(sample=2):
    """Per school, ORM objects (students, their agreements, destinations) → DataFrame → to_excel,
    on `sample` schools, scaled to all of them."""
    import pandas as pd
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Agreement, Destination, School, Student

    with app().app_context():
        schools = db.session.scalars(select(School).order_by(School.id).limit(sample)).all()
        t = time.perf_counter()
        rows = []
        for school in schools:
            for student in db.session.scalars(select(Student).where(Student.school_id == school.id)):
                live = db.session.scalars(select(Agreement).where(
                    Agreement.student_id == student.id, Agreement.status.in_(("accepted", "certified")))).first()
                dest = None if live else db.session.scalars(select(Destination).where(
                    Destination.student_id == student.id, Destination.status.in_(("submitted", "approved")))).first()
                rows.append({"school": school.name, "major": student.major, "gender": student.gender,
                             "certified": bool(live and live.status == "certified"),
                             "dest": dest.kind if dest else None})
        df = pd.DataFrame(rows)
        out = df.groupby(["school", "major"]).agg(n=("gender", "size"), certified=("certified", "sum")).reset_index()
        buf = io.BytesIO()
        out.to_excel(buf, index=False)
        elapsed = time.perf_counter() - t
        report(phase="naive_workbook", seconds=round(elapsed * SCHOOLS / sample, 1), sampled=f"{sample} of {SCHOOLS} schools",
               sample_seconds=round(elapsed, 1))


def _bench_user():
    from app.extensions import db
    from app.models import AppUser  # the audit row needs a user

    if db.session.get(AppUser, 1) is None:
        db.session.add(AppUser(id=1, first_name="b", last_name="b", username="bench", email="b@x.cn", active=True))
        db.session.commit()


def certified(fmt):
    """The real job function, as the worker runs it (progress committed every 5,000 rows)."""
    from app.jobs import exports

    with app().app_context():
        _bench_user()
        steps = []
        t = time.perf_counter()
        result = exports.certified_list(SimpleNamespace(user_id=1), {"year": 2026, "format": fmt},
                                        lambda done, total=None: steps.append(done))
        elapsed = time.perf_counter() - t
        path = exports.export_path(1, result["file"])
        report(phase=f"certified_{fmt}", seconds=round(elapsed, 2), rows=result["rows"],
               columns=len(exports.CERTIFIED_COLUMNS), mb=round(os.path.getsize(path) / 2**20, 1),
               progress_updates=len(steps))
        os.remove(path)


def naive_certified(fmt, sample=20_000):
    """The obvious way: Agreement objects (student, school, employer by lazy load) → dicts with the
    labels → DataFrame → to_csv / to_excel; on the first `sample` rows, scaled to the full count."""
    import pandas as pd
    from sqlalchemy import func, select

    from app import labels, regions
    from app.extensions import db
    from app.models import Agreement, Employer, Student

    with app().app_context():
        where = (Agreement.status == "certified", Student.graduation_year == 2026)
        total = db.session.scalar(select(func.count()).select_from(Agreement).join(Student).where(*where))
        t = time.perf_counter()
        rows = []
        for a in db.session.scalars(select(Agreement).join(Student).where(*where).limit(sample)):
            s, employer = a.student, db.session.scalar(select(Employer).where(Employer.credit_code == a.employer_credit_code))
            rows.append({"毕业年度": s.graduation_year, "院校代码": s.school.code, "学校名称": s.school.name,
                         "学号": s.student_no, "姓名": s.name, "身份证号": s.id_number, "性别": s.gender,
                         "学历": s.education, "院系": s.department, "专业": s.major, "毕业去向代码": "10",
                         "毕业去向": labels.OUTCOME_CODE["10"], "单位名称": a.employer_name,
                         "统一社会信用代码": a.employer_credit_code,
                         "单位性质": labels.EMPLOYER_NATURE.get(employer.nature, "") if employer else "",
                         "单位所在地": regions.full_name(employer.region) if employer else "",
                         "工作职位类别": a.job_category, "拟聘用职位": a.position,
                         "实际工作地点": regions.full_name(a.work_region), "签约类型": labels.AGREEMENT_KIND[a.kind],
                         "协议书编号": a.number, "协议书状态": labels.AGREEMENT_STATUS[a.status],
                         "鉴证日期": labels.fmt_date(a.certified_at)})
        df = pd.DataFrame(rows)
        path = f"/tmp/bench-stats/naive.{fmt}"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if fmt == "csv":
            df.to_csv(path, index=False, encoding="utf-8-sig")
        else:
            df.to_excel(path, index=False)
        elapsed = time.perf_counter() - t
        report(phase=f"naive_certified_{fmt}", seconds=round(elapsed * total / len(rows), 1),
               sampled=f"{len(rows):,} of {total:,} rows", sample_seconds=round(elapsed, 1))
        os.remove(path)


def summary_rebuild():
    """`flask stats rebuild` at province scale (set-based INSERT … SELECT)."""
    from app import summary

    with app().app_context():
        t = time.perf_counter()
        changed = summary.rebuild()
        report(phase="summary_rebuild", seconds=round(time.perf_counter() - t, 2), **changed)


def dashboard_read(source, school_id=None):
    """The statistics page's tables for the year (every school, or one), in a fresh process: `summary`
    reads the summary (app.summary.dashboard: what the pages do), `live` computes them from the base
    tables (stats.dashboard: the page before the summary), `sql` is the raw-SQL limit of the live way
    (the outcome GROUP BY and the daily query, fetched, no pandas)."""
    from app import stats, summary
    from app.extensions import db

    with app().app_context():
        f = stats.Filters(year=2026, school_id=school_id)
        t = time.perf_counter()
        if source == "summary":
            data, _at = summary.dashboard(f)
        elif source == "live":
            data = stats.dashboard(f)
        else:
            db.session.execute(stats.outcome_query(f)).all()
            db.session.execute(stats.daily_query(f)).all()
            data = None
        elapsed = time.perf_counter() - t
        report(phase=f"dashboard_{source}" + ("_school" if school_id else ""), seconds=round(elapsed, 3),
               graduates=data["summary"]["graduates"] if data else None)


def summary_refresh(changes=1000):
    """What the cron's refresh costs after `changes` graduates changed (a roster UPDATE and as many
    certifications' FlowEvents), at province scale."""
    from sqlalchemy import text as sql

    from app import summary
    from app.extensions import db

    with app().app_context():
        db.session.execute(sql("UPDATE student SET department = CASE WHEN department = '院系x' THEN '院系y' "
                               "ELSE '院系x' END WHERE id <= :n"), {"n": changes})
        db.session.execute(sql(
            "INSERT INTO flow_event (agreement_id, actor_name, action, created_at) "
            "SELECT id, 'bench', 'certify', now() AT TIME ZONE 'UTC' FROM agreement WHERE status = 'certified' "
            "AND student_id > :n ORDER BY id LIMIT :n"), {"n": changes})
        db.session.commit()
        t = time.perf_counter()
        students, events = summary.refresh_all()
        report(phase="summary_refresh", seconds=round(time.perf_counter() - t, 3), graduates=students, events=events)


def national(fmt):
    """The national 毕业去向 export as the worker runs it, over every graduate of the year."""
    from app.jobs import exports
    from app.national import COLUMNS

    with app().app_context():
        _bench_user()
        steps = []
        t = time.perf_counter()
        params = {"year": 2026, "format": fmt, **({"encoding": "gb18030"} if fmt == "csv" else {})}
        result = exports.national_outcomes(SimpleNamespace(user_id=1), params,
                                           lambda done, total=None: steps.append(done))
        elapsed = time.perf_counter() - t
        path = exports.export_path(1, result["file"])
        report(phase=f"national_{fmt}", seconds=round(elapsed, 2), rows=result["rows"], columns=len(COLUMNS),
               mb=round(os.path.getsize(path) / 2**20, 1), incomplete=result["incomplete"],
               progress_updates=len(steps))
        os.remove(path)


def naive_national(sample=20_000):
    """The obvious way: each Student object, then its certified agreement, the employer and its
    approved destination by one query each, coded in Python → DataFrame → to_csv (GB18030); on the
    first `sample` graduates, scaled to the full count."""
    import pandas as pd
    from sqlalchemy import func, select

    from app import codes
    from app.extensions import db
    from app.models import Agreement, Destination, Employer, Student

    with app().app_context():
        total = db.session.scalar(select(func.count()).select_from(Student).where(Student.graduation_year == 2026))
        t = time.perf_counter()
        rows = []
        for s in db.session.scalars(select(Student).where(Student.graduation_year == 2026).order_by(Student.id)
                                    .limit(sample)):
            a = db.session.scalar(select(Agreement).where(Agreement.student_id == s.id, Agreement.status == "certified"))
            e = db.session.scalar(select(Employer).where(Employer.credit_code == a.employer_credit_code)) if a else None
            d = None if a else db.session.scalar(select(Destination).where(Destination.student_id == s.id,
                                                                           Destination.status == "approved"))
            outcome = "10" if a else (d.kind if d else "70")
            rows.append({"yxdm": s.school.code, "yxmc": s.school.name, "xh": s.student_no, "xm": s.name,
                         "sfzh": s.id_number, "xbdm": codes.code_of("gender", s.gender),
                         "xldm": codes.code_of("education", s.education), "zymc": s.major, "fy": s.department,
                         "byqxdm": outcome, "byqx": codes.label("outcome", outcome),
                         "dwmc": a.employer_name if a else "", "tyshxydm": a.employer_credit_code if a else "",
                         "dwxzdm": e.nature if e else "", "dwhydm": e.industry if e else "",
                         "dwszddm": e.region if e else "",
                         "gzzwlbdm": codes.code_of("job_category", a.job_category) if a else ""})
        path = "/tmp/bench-stats/naive-national.csv"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        pd.DataFrame(rows).to_csv(path, index=False, encoding="gb18030")
        elapsed = time.perf_counter() - t
        report(phase="naive_national", seconds=round(elapsed * total / len(rows), 1),
               sampled=f"{len(rows):,} of {total:,} rows", sample_seconds=round(elapsed, 1))
        os.remove(path)


TARGETS = {"workbook": (10, "≤ 10 s, ≤ 1 GB"), "certified_csv": (5, "≤ 5 s, ≤ 1 GB"),
           "certified_xlsx": (40, "≤ 40 s, ≤ 1 GB"), "national_csv": (60, "≤ 60 s, ≤ 1 GB")}


def run_all(record=False):
    """Each phase in its own process; a table; with --record, rows in bench/README.md."""
    def phase(*args):
        out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    pairs = [("workbook", ("workbook",), ("naive_workbook",)),
             ("certified_csv", ("certified", "csv"), ("naive_certified", "csv")),
             ("certified_xlsx", ("certified", "xlsx"), ("naive_certified", "xlsx")),
             ("national_csv", ("national", "csv"), ("naive_national",))]
    lines = []
    for name, fast_args, naive_args in pairs:
        fast, naive = phase(*fast_args), phase(*naive_args)
        limit, target = TARGETS[name]
        met = fast["seconds"] <= limit and fast["rss_mb"] <= 1024
        ratio = naive["seconds"] / fast["seconds"]
        what = (f"{fast['rows']:,} rows × {fast['columns']}" if "rows" in fast else f"{fast['frame_rows']:,}-row outcome frame, 10 sheets")
        line = (name, what, f"{fast['seconds']} s, peak RSS {fast['rss_mb']} MB ({'met' if met else 'NOT met'})", target,
                f"{ratio:.0f}× the naive way ({naive['seconds']} s, sampled: {naive['sampled']}, scaled)")
        lines.append(line)
        print(" | ".join(line), flush=True)
    if record:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from generate import record_result

        for name, what, value, target, ratio in lines:
            record_result(f"export {name}: {what} (500,000 graduates, 1,500,000 offers)", value, target, ratio,
                          f"bench/export_bench.py all")


if __name__ == "__main__":
    args = sys.argv[1:] or ["all"]
    phase, rest = args[0], args[1:]
    if phase == "generate":
        generate()
    elif phase == "workbook":
        workbook()
    elif phase == "naive_workbook":
        naive_workbook(int(rest[0]) if rest else 2)
    elif phase == "certified":
        certified(rest[0] if rest else "xlsx")
    elif phase == "naive_certified":
        naive_certified(rest[0] if rest else "xlsx", int(rest[1]) if len(rest) > 1 else 20_000)
    elif phase == "national":
        national(rest[0] if rest else "csv")
    elif phase == "naive_national":
        naive_national(int(rest[0]) if rest else 20_000)
    elif phase == "summary_rebuild":
        summary_rebuild()
    elif phase == "dashboard":
        dashboard_read(rest[0] if rest else "summary", int(rest[1]) if len(rest) > 1 else None)
    elif phase == "summary_refresh":
        summary_refresh(int(rest[0]) if rest else 1000)
    elif phase == "all":
        run_all(record="--record" in rest)
    else:
        raise SystemExit(__doc__)

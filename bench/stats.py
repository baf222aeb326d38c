"""Statistics and export benchmark on PostgreSQL (see bench/README-stats.md for results).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/<db> .venv/bin/python bench/stats.py generate
    ... bench/stats.py workbook      # dashboard frames + statistics workbook (one-query pandas)
    ... bench/stats.py naive         # per-school ORM loop → DataFrame → to_excel, on a sample of schools
    ... bench/stats.py certified_csv # the detailed certified list as CSV (the real job function)
    ... bench/stats.py certified_xlsx [rows]  # the same rows into the write-only openpyxl sheet

Each phase runs in its own process so its peak RSS (ru_maxrss) is its own.
`generate` DROPS and recreates every table of the database it is pointed at.
Scale (DESIGN.md §7): 130 schools, 500,000 graduates, 1,500,000 offers, 40,000 employers.
"""
import io
import os
import resource
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

    return create_app({"SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"], "UPLOAD_DIR": "/tmp/bench-stats"})


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
        wb = stats.statistics_workbook(f)
        buf = io.BytesIO()
        wb.save(buf)
        total = time.perf_counter() - t
        print(f"outcome frame alone: {len(frame)} rows in {t_frame:.2f} s")
        print(f"statistics workbook (both frames, 10 sheets, {len(buf.getvalue()) // 1024} KiB): {total:.2f} s, "
              f"peak RSS {rss_mb():.0f} MB")


def naive(sample=10):
    """The naive way: per school, ORM objects (students, their agreements, destinations) → DataFrame
    → DataFrame.to_excel. Run on `sample` schools and scaled to all of them."""
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
        print(f"naive per-school ORM loop on {sample} of {SCHOOLS} schools ({len(df)} students): {elapsed:.1f} s "
              f"→ about {elapsed * SCHOOLS / sample:.0f} s for all (scaled), peak RSS {rss_mb():.0f} MB")


def certified(fmt, limit=None):
    from sqlalchemy import select

    from app import stats
    from app.extensions import db
    from app.jobs import exports

    with app().app_context():
        if fmt == "csv":
            run = SimpleNamespace(user_id=1)
            from app.models import AppUser  # the audit row needs a user
            if db.session.get(AppUser, 1) is None:
                db.session.add(AppUser(id=1, first_name="b", last_name="b", username="bench", email="b@x.cn",
                                       active=True))
                db.session.commit()
            t = time.perf_counter()
            result = exports.certified_list(run, {"year": 2026, "format": "csv"}, lambda done, total=None: None)
            elapsed = time.perf_counter() - t
            print(f"certified list CSV: {result['rows']} rows × {len(exports.CERTIFIED_COLUMNS)} columns in "
                  f"{elapsed:.1f} s, peak RSS {rss_mb():.0f} MB")
            return
        limit = int(limit or 50_000)
        q = exports.certified_query(stats.Filters(year=2026)).limit(limit)
        wb = stats.new_workbook()
        sheet = stats.SheetWriter(wb, "明细", [c for c, _ in exports.CERTIFIED_COLUMNS])
        t = time.perf_counter()
        for row in db.session.execute(q.execution_options(yield_per=2000)):
            sheet.append(list(row))
        path = "/tmp/bench-stats/certified.xlsx"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        wb.save(path)
        elapsed = time.perf_counter() - t
        print(f"certified list .xlsx (openpyxl write-only): {sheet.rows} rows in {elapsed:.1f} s "
              f"({sheet.rows / elapsed:.0f} rows/s → {300_000 / (sheet.rows / elapsed):.0f} s for 300,000), "
              f"peak RSS {rss_mb():.0f} MB")
        del select


if __name__ == "__main__":
    phase = sys.argv[1] if len(sys.argv) > 1 else "workbook"
    if phase == "generate":
        generate()
    elif phase == "workbook":
        workbook()
    elif phase == "naive":
        naive(int(sys.argv[2]) if len(sys.argv) > 2 else 10)
    elif phase == "certified_csv":
        certified("csv")
    elif phase == "certified_xlsx":
        certified("xlsx", sys.argv[2] if len(sys.argv) > 2 else None)
    else:
        raise SystemExit(__doc__)

"""Import benchmark (issue 5): candidate list against a province of students, and a school roster.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/<db> .venv/bin/python bench/import_bench.py \
        --students 500000 --candidates 10000 --roster 20000

WARNING: drops and recreates every table of the given database. Never point it at real data.

Measures, in one process on the same file:
- set-based: `imports.read` (calamine) + `imports.check` + `importing.import_candidates`
  (bulk lookups in chunks of 1,000 keys, one bulk insert) — what the app runs;
- naive: `pandas.read_excel(engine="openpyxl")` + one ORM query per row for the school, one for
  the student (R2), one for the existing list entry, `session.add` per row;
- roster: `importing.import_roster` of a new school's N students (students + logins, one commit),
  then the same in the national 生源 layout (pinyin column codes, code values) for another new school.
"""
import argparse
import io
import os
import random
import sys
import time
from datetime import date, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openpyxl import Workbook  # noqa: E402
from stdnum.cn import ric  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟强磊洋勇军杰涛斌超明芳娜敏静丽婷雪琳欣怡梓涵诗雨桐佳思源晓雯婉清若曦雅琪浩然子轩宇航俊志建华文博"


def ident(n):
    """A unique valid ID number per n (n < 20 million): birth date from n // 1000, sequence n % 1000."""
    birth = date(1990, 1, 1) + timedelta(days=n // 1000)
    body = f"420111{birth:%Y%m%d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def name(n, rng):
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n * 7) % len(GIVEN)] + (GIVEN[(n * 13) % len(GIVEN)] if n % 3 else "")


def xlsx(header, rows):
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("名单")
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=500_000)
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--roster", type=int, default=20_000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("DATABASE_URL must be a PostgreSQL database you may wipe")

    from flask_appbuilder import Model
    from sqlalchemy import delete, insert, select, text

    import imports
    from app import create_app, importing, workflow
    from app.extensions import db
    from app.models import Employer, InviteListEntry, School, Student
    from app.security import sync_roles

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "APP_ENV": "development", "RATELIMIT_ENABLED": False})
    rng = random.Random(5)
    with app.app_context():
        Model.metadata.drop_all(db.engine)
        Model.metadata.create_all(db.engine)
        sync_roles(app.appbuilder)
        t0 = time.perf_counter()
        schools = [{"code": f"{10000 + i:05d}", "name": f"湖北测试大学{i:03d}"} for i in range(130)]
        db.session.execute(insert(School), schools)
        school_ids = db.session.scalars(select(School.id).order_by(School.id)).all()
        verified = datetime(2026, 3, 1)
        batch = []
        for n in range(args.students):
            batch.append({
                "school_id": school_ids[n % 130], "student_no": f"S{n:09d}", "name": name(n, rng),
                "id_number": ident(n), "gender": "男" if int(ident(n)[16]) % 2 else "女",
                "phone": f"13{n:09d}", "graduation_year": 2026, "education": "本科生毕业", "department": "计算机学院",
                "major": "软件工程", "training_mode": "non_targeted", "signing_restricted": n % 50 == 0,
                "plan_submitted": False, "verified_at": verified,
            })
            if len(batch) == 20_000:
                db.session.execute(insert(Student), batch)
                batch = []
        if batch:
            db.session.execute(insert(Student), batch)
        employer = Employer(name="基准测试有限公司", credit_code="91420111000000001X")
        db.session.add(employer)
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        print(f"seeded {args.students} students in {time.perf_counter() - t0:.1f}s")

        picks = rng.sample(range(args.students), args.candidates)
        rows = []
        for i, n in enumerate(picks):
            key = ident(n) if i % 2 else f"13{n:09d}"
            school = schools[n % 130]["name"] if i % 3 else schools[n % 130]["code"]
            who = name(n, rng) if i % 10 else name(n + 1, rng) + "某"  # 10 % do not match
            rows.append([school, "2026", who, key])
        data = xlsx(imports.CANDIDATES.labels, rows)
        employer_id = employer.id

        # ---- set-based (the app's path)
        employer = db.session.get(Employer, employer_id)
        t = time.perf_counter()
        table = imports.read(data, imports.CANDIDATES)
        t_read = time.perf_counter() - t
        outcome, _checked = importing.import_candidates(employer, table, valid_only=True)
        t_fast = time.perf_counter() - t
        added_fast = outcome.created
        print(f"candidates set-based: {t_fast:.2f}s (read {t_read:.2f}s) added={added_fast} refused={outcome.refused}")
        db.session.execute(delete(InviteListEntry))
        db.session.commit()

        # ---- naive row-by-row ORM
        import pandas as pd

        employer = db.session.get(Employer, employer_id)
        t = time.perf_counter()
        frame = pd.read_excel(io.BytesIO(data), engine="openpyxl", dtype=str, keep_default_na=False)
        t_read_naive = time.perf_counter() - t
        added_naive = 0
        for rec in frame.itertuples(index=False):
            school_name, year, who, key = rec
            school = db.session.scalar(select(School).where((School.name == school_name) | (School.code == school_name)))
            if school is None:
                continue
            student = db.session.scalar(select(Student).where(
                Student.school_id == school.id, Student.graduation_year == int(year), Student.name == who,
                (Student.id_number == key) | (Student.phone == key)))
            if student is None or workflow.student_block_reason(student):
                continue
            if db.session.scalar(select(InviteListEntry.id).where(InviteListEntry.employer_id == employer.id,
                                                                  InviteListEntry.student_id == student.id)):
                continue
            db.session.add(InviteListEntry(employer_id=employer.id, student_id=student.id))
            db.session.flush()
            added_naive += 1
        db.session.commit()
        t_naive = time.perf_counter() - t
        print(f"candidates naive ORM: {t_naive:.2f}s (read {t_read_naive:.2f}s) added={added_naive}")
        print(f"ratio naive/set-based: {t_naive / t_fast:.1f}x")
        assert added_naive == added_fast, (added_naive, added_fast)

        # ---- roster of a new school
        db.session.execute(insert(School), [{"code": "19999", "name": "基准新建大学"}])
        db.session.commit()
        school = db.session.scalar(select(School).where(School.code == "19999"))
        roster_rows = []
        for n in range(args.roster):
            m = 10_000_000 + n
            number = ident(m)
            roster_rows.append([f"R{n:08d}", name(m, rng), number, "男" if int(number[16]) % 2 else "女",
                                f"15{n:09d}", "", "计算机学院", "软件工程", "本科生毕业", "2026", "非定向"])
        data = xlsx(imports.ROSTER.labels, roster_rows)
        t = time.perf_counter()
        table = imports.read(data, imports.ROSTER)
        t_read = time.perf_counter() - t
        outcome, checked = importing.import_roster(school, table)
        t_roster = time.perf_counter() - t
        print(f"roster {args.roster} rows: {t_roster:.2f}s (read {t_read:.2f}s) created={outcome.created} "
              f"refused={outcome.refused} errors={list(checked.errors.items())[:3]}")

        # ---- the same roster again with every phone changed: updates, no new rows or logins
        for row in roster_rows:
            row[4] = "17" + row[4][2:]
        data = xlsx(imports.ROSTER.labels, roster_rows)
        school = db.session.scalar(select(School).where(School.code == "19999"))
        t = time.perf_counter()
        outcome, checked = importing.import_roster(school, imports.read(data, imports.ROSTER))
        print(f"roster re-import {args.roster} rows, all changed: {time.perf_counter() - t:.2f}s "
              f"created={outcome.created} updated={outcome.updated} refused={outcome.refused}")

        # ---- a roster of another new school in the national 生源 layout (issue 26): codes, not words
        db.session.execute(insert(School), [{"code": "19998", "name": "基准国标大学"}])
        db.session.commit()
        school = db.session.scalar(select(School).where(School.code == "19998"))
        spec = importing.NATIONAL_ROSTER
        national_rows = []
        for n in range(args.roster):
            m = 20_000_000 + n
            number = ident(m)
            values = {"school_code": "19998", "school_name": "基准国标大学", "student_no": f"N{n:08d}",
                      "exam_no": f"26420111{n:06d}", "name": name(m, rng), "id_number": number,
                      "gender": "1" if int(number[16]) % 2 else "2", "ethnicity": f"{1 + n % 56:02d}",
                      "political": ("01", "03", "13")[n % 3], "education": ("31", "11", "01", "41")[n % 4],
                      "major_code": "080902", "major": "软件工程", "department": "计算机学院", "training_mode": "1",
                      "origin_region": ("420111", "429004", "500229")[n % 3], "phone": f"16{n:09d}", "email": "",
                      "graduation_year": "2026"}
            national_rows.append([values[c.key] for c in spec.columns])
        data = xlsx([label.upper() for label in spec.labels], national_rows)
        t = time.perf_counter()
        table = imports.read(data, importing.ROSTER_LAYOUTS)
        t_read = time.perf_counter() - t
        assert table.spec is spec
        outcome, checked = importing.import_roster(school, table)
        print(f"national-layout roster {args.roster} rows: {time.perf_counter() - t:.2f}s (read {t_read:.2f}s) "
              f"created={outcome.created} refused={outcome.refused} errors={list(checked.errors.items())[:3]}")


if __name__ == "__main__":
    main()

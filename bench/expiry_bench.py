"""Expiry at province scale (PostgreSQL): N due offers expired by the set-based `workflow.expire_due`
(one UPDATE … RETURNING with the FlowEvent and notice INSERT … SELECTs as data-modifying CTEs,
one statement), against a per-row ORM loop on a slice of the same data in the same process.
Target: ≤ 5 s for 100,000.

    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/<scratch db> \\
        .venv/bin/python bench/expiry_bench.py [N] [--loop 300] [--profile]

WARNING: drops and re-creates every table of that database. Never point it at real data.

N (default 100,000) pending offers of one employer, all past their deadline, are bulk-inserted;
the per-row loop (load, change and notify one offer at a time, `--loop` offers) expires the first
of them, then `expire_due` the rest in one run. Printed: both rates, their ratio, the projected time
for N. The result is checked (every offer expired once, one FlowEvent and one employer notice
each; a second run finds nothing) — the same checks as tests/test_expiry_at_scale.py, which runs
them at 2,000 offers on every test run. `--profile` prints the run's cProfile, top 25 by
cumulative time.
"""
import argparse
import cProfile
import os
import pstats
import sys
import time
from datetime import date, datetime, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from sqlalchemy import func, insert, select, text  # noqa: E402


def make_app(url):
    """The app on a freshly created schema of `url`, roles synced (as the test suite builds it)."""
    from flask_appbuilder import Model

    from app import create_app
    from app.extensions import db
    from app.security import sync_roles

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "REDIS_URL": None, "MAIL_SERVER": None,
                      "RATELIMIT_ENABLED": False, "SECRET_KEY": "bench-expiry",
                      "FAB_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        Model.metadata.drop_all(db.engine)
        Model.metadata.create_all(db.engine)
        sync_roles(app.appbuilder)
        db.session.remove()
    return app


def seed(n):
    """One school, one employer with one login, n pending offers (one per student) past their
    deadline. Returns the instant one minute after that deadline."""
    from app.extensions import db
    from app.models import Agreement, Employer, School, Student
    from tests.support.factories import make_user

    school = School(code="19999", name="基准测试大学")
    employer = Employer(name="基准测试有限公司", credit_code="91420111BENCH0001X")
    db.session.add_all([school, employer])
    db.session.commit()
    make_user("employer", employer)
    sent = datetime(2026, 5, 1, 1, 0)
    expires = sent + timedelta(days=5)
    chunk = 20_000
    for start in range(0, n, chunk):
        rows = range(start, min(n, start + chunk))
        ids = db.session.execute(insert(Student).returning(Student.id), [
            {"school_id": school.id, "student_no": f"B{i:08d}", "name": f"学生{i}", "id_number": "420111200301011234",
             "gender": "男", "phone": "13800000000", "graduation_year": 2026, "education": "本科生毕业",
             "department": "", "major": "", "training_mode": "non_targeted", "signing_restricted": False,
             "plan_submitted": False} for i in rows]).scalars().all()
        db.session.execute(insert(Agreement), [
            {"kind": "electronic", "status": "pending", "student_id": sid, "school_id": school.id,
             "employer_id": employer.id, "employer_name": employer.name, "employer_credit_code": employer.credit_code,
             "job_category": "其他", "position": "工程师", "feedback_days": 5, "probation_days": 0,
             "probation_salary": 0, "salary": 8000, "penalty": 0, "report_region": "420111",
             "report_deadline": date(2027, 7, 1), "work_region": "420111", "contact_name": "王",
             "contact_phone": "13900000000", "archive_mode": "none", "hukou_mode": "none",
             "sent_at": sent, "expires_at": expires, "updated_at": sent} for sid in ids])
        db.session.commit()
    db.session.execute(text("ANALYZE agreement"))
    db.session.commit()
    return expires + timedelta(minutes=1)


def per_row_loop(now, limit):
    """The naive baseline: what the job would be without set-based SQL — load, change and notify
    one offer at a time, a flush per offer."""
    from app.extensions import db
    from app.models import Agreement, FlowEvent
    from app.notify import notify, users_of

    offers = db.session.scalars(select(Agreement).where(Agreement.status == "pending", Agreement.expires_at <= now)
                                .order_by(Agreement.id).limit(limit)).all()
    for a in offers:
        a.status, a.updated_at = "expired", now
        db.session.add(FlowEvent(agreement_id=a.id, actor_name="系统", action="expire", remark="超过应约有效期未反馈",
                                 created_at=now))
        notify(users_of(employer_id=a.employer_id), "邀约已过期", f"“{a.position}”岗位的一份邀约已超过应约有效期。",
               link=f"/employer/offers/{a.id}", now=now)
        db.session.flush()
    db.session.commit()
    return len(offers)


def check(n, now):
    """Every offer expired once, with one FlowEvent and one employer notice each."""
    from app import workflow
    from app.extensions import db
    from app.models import Agreement, FlowEvent, Notification

    assert workflow.expire_due(now) == 0, "a second run found offers left"
    db.session.expire_all()
    expired = db.session.scalar(select(func.count()).where(Agreement.status == "expired"))
    events = db.session.scalar(select(func.count(func.distinct(FlowEvent.agreement_id)))
                               .where(FlowEvent.action == "expire"))
    all_events = db.session.scalar(select(func.count()).select_from(FlowEvent).where(FlowEvent.action == "expire"))
    notices = db.session.scalar(select(func.count()).select_from(Notification)
                                .where(Notification.subject == "邀约已过期"))
    assert expired == events == all_events == notices == n, (expired, events, all_events, notices)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("n", nargs="?", type=int, default=100_000, help="due offers (default 100,000)")
    p.add_argument("--loop", type=int, default=300, help="offers expired by the per-row loop (default 300)")
    p.add_argument("--profile", action="store_true", help="print the set-based run's cProfile")
    args = p.parse_args(argv)
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        p.error("set TEST_DATABASE_URL to a scratch PostgreSQL database (it is wiped)")

    from app import workflow

    app = make_app(url)
    with app.app_context():
        t0 = time.perf_counter()
        now = seed(args.n)
        print(f"seed {args.n:,} offers: {time.perf_counter() - t0:.1f} s", flush=True)

        t0 = time.perf_counter()
        looped = per_row_loop(now, args.loop)
        loop_s = time.perf_counter() - t0

        profile = cProfile.Profile()
        t0 = time.perf_counter()
        profile.enable()
        count = workflow.expire_due(now)
        profile.disable()
        set_s = time.perf_counter() - t0
        assert count == args.n - looped, (count, args.n, looped)
        check(args.n, now)

        loop_rate, set_rate = looped / loop_s, count / set_s
        print(f"per-row ORM loop: {looped:,} offers in {loop_s:.2f} s ({loop_rate:,.0f}/s; "
              f"{args.n:,} would take ~{args.n / loop_rate:.0f} s)")
        print(f"set-based expire_due: {count:,} offers in {set_s:.2f} s ({set_rate:,.0f}/s)")
        print(f"ratio (per-offer speed, set-based / loop): {set_rate / loop_rate:.0f}×")
        print(f"projected for {args.n:,}: {set_s * args.n / count:.1f} s (target for 100,000: ≤ 5 s)")
        print("checked: every offer expired once, one FlowEvent and one employer notice each")
        if args.profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()

"""Expiry at scale (PostgreSQL): N due offers expired by the set-based `expire_due` in one run,
against a per-row ORM loop on a slice of the same data, in the same run.

    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/<db> BENCH_N=100000 \\
        .venv/bin/python tests/test_jobs_expiry_bench.py      # the issue's 100,000 (≤ 5 s)

As a test (N = BENCH_N, default 20,000) it checks the result (every offer expired once, one
FlowEvent and one employer notice each) and that the set-based run beats the per-row loop.
"""
import os
import sys
import time
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from tests.conftest import is_postgres

pytestmark = [pytest.mark.slow, pytest.mark.postgres,
              pytest.mark.skipif(not is_postgres(), reason="the benchmark is about PostgreSQL")]

N = int(os.environ.get("BENCH_N", "20000"))
LOOP_N = int(os.environ.get("BENCH_LOOP_N", "300"))


def _seed(n):
    from app.extensions import db
    from app.models import Agreement, Employer, School, Student
    from tests.factories import make_user

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
    db.session.execute(__import__("sqlalchemy").text("ANALYZE agreement"))
    db.session.commit()
    return employer, expires + timedelta(minutes=1)


def _per_row_loop(now, limit):
    """What the job would be without set-based SQL: load, change and notify one offer at a time."""
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


def test_expire_due_at_scale(app):
    from app import workflow
    from app.extensions import db
    from app.models import Agreement, FlowEvent, Notification

    t0 = time.perf_counter()
    _, now = _seed(N)
    seeded = time.perf_counter() - t0

    t0 = time.perf_counter()
    looped = _per_row_loop(now, LOOP_N)
    loop_s = time.perf_counter() - t0

    import cProfile
    import pstats

    profile = cProfile.Profile()
    t0 = time.perf_counter()
    profile.enable()
    count = workflow.expire_due(now)
    profile.disable()
    set_s = time.perf_counter() - t0
    if os.environ.get("BENCH_PROFILE"):
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    assert count == N - looped

    loop_rate = looped / loop_s
    set_rate = count / set_s
    print(f"\nseed {N} offers: {seeded:.1f} s")
    print(f"per-row ORM loop: {looped} offers in {loop_s:.2f} s ({loop_rate:,.0f}/s; {N} would take ~{N / loop_rate:.0f} s)")
    print(f"set-based expire_due: {count} offers in {set_s:.2f} s ({set_rate:,.0f}/s)")
    print(f"ratio (per-offer speed, set-based / loop): {set_rate / loop_rate:.0f}x")

    assert workflow.expire_due(now) == 0  # a second run finds nothing
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).where(Agreement.status == "expired")) == N
    assert db.session.scalar(select(func.count()).select_from(FlowEvent).where(FlowEvent.action == "expire")) == N
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.subject == "邀约已过期")) == N
    assert set_rate > loop_rate
    # Timing is reported, not asserted (bench/expiry_bench.py runs N = 100,000 against the ≤ 5 s target).
    print(f"projected for {N}: {set_s * N / count:.1f} s (target for 100,000: ≤ 5 s)")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider"]))

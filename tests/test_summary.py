"""The statistics summary (issue 20, app/summary.py): after random flows — offers, accepts,
certifications, declines, withdrawals, terminations, destinations, paper agreements, roster changes,
an employer's 单位性质 — the summary kept from the trigger-written change log equals the live
recomputation from the base tables, on SQLite and PostgreSQL; `rebuild` repairs a damaged summary
and says what it changed."""
import random
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select, text, update

from app import stats, summary, workflow
from app.extensions import db
from app.models import Agreement, Destination, Employer, StatsCell, StatsChange, StatsDay, Student, Termination
from tests.support.factories import (
    NOW, accepted_offer, make_employer, make_reviewer, make_school, make_student, offer, paper_terms, proof,
)

KEYS = ["school_id", "department", "major", "education", "gender", "a_kind", "a_status", "work_region", "nature",
        "d_kind", "d_status"]


def _frame(df):
    """An outcome frame reduced to its grouping keys and counts, comparable across the two paths."""
    if df.empty:
        return pd.DataFrame(columns=KEYS + ["n"])
    out = df[KEYS + ["n"]].copy()
    for column in KEYS:
        out[column] = out[column].map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
    out = out.groupby(KEYS, as_index=False)["n"].sum()
    return out.sort_values(KEYS).reset_index(drop=True)


def assert_summary_matches(years=(2026, 2027)):
    summary.refresh_all()
    for year in (None, *years):
        f = stats.Filters(year=year)
        live, kept = _frame(stats.outcome_frame(f)), _frame(summary.outcome_frame(f))
        pd.testing.assert_frame_equal(live, kept, check_dtype=False)
    kept_days = {(r.graduation_year, r.school_id, r.day, r.event): r.n for r in db.session.scalars(select(StatsDay))}
    # the same days recomputed from scratch (what `flask stats rebuild` writes)
    assert summary.rebuild() == {"cells": 0, "graduates": 0, "days": 0}
    assert {(r.graduation_year, r.school_id, r.day, r.event): r.n for r in db.session.scalars(select(StatsDay))} \
        == kept_days


class World:
    def __init__(self, rng):
        self.rng = rng
        self.schools = [make_school("10486", "武汉大学"), make_school("10487", "华中科技大学")]
        self.reviewers = {s.id: make_reviewer(s) for s in self.schools}
        self.employers = [make_employer(approved_by=s, nature=nature) for s, nature in
                          zip(self.schools * 2, ("39", "31", "10", "21"))]
        self.students = [make_student(self.rng.choice(self.schools), graduation_year=self.rng.choice((2026, 2027)),
                                      department=self.rng.choice(("计算机学院", "数学学院")),
                                      major=self.rng.choice(("软件工程", "数学")), gender=self.rng.choice(("男", "女")))
                         for _ in range(14)]
        self.t = NOW

    def tick(self, hours=3):
        self.t += timedelta(hours=hours)
        return self.t


def _employer_for(world, student):
    from app.models import EmployerApproval

    approved = {a.employer_id for a in db.session.scalars(select(EmployerApproval).where(
        EmployerApproval.school_id == student.school_id, EmployerApproval.status == "approved"))}
    options = [e for e in world.employers if e.id in approved]
    return world.rng.choice(options) if options else None


def step(world):
    """One random act through the workflow (a refusal is fine: the rules decide)."""
    rng = world.rng
    student = db.session.get(Student, rng.choice(world.students).id)
    reviewer = world.reviewers[student.school_id]
    live = db.session.scalar(select(Agreement).where(Agreement.student_id == student.id,
                                                     Agreement.status.in_(("accepted", "certified"))))
    dest = db.session.scalar(select(Destination).where(Destination.student_id == student.id,
                                                       Destination.status.in_(("submitted", "approved"))))
    act = rng.choice(["offer", "accept", "certify", "decline", "withdraw", "terminate", "destination", "review",
                      "withdraw_destination", "paper", "roster", "nature", "new_student"])
    now = world.tick()
    try:
        if act == "offer":
            employer = _employer_for(world, student)
            if employer:
                offer(employer, student, now=now, work_region=rng.choice(("420111", "110105", "429004")))
        elif act == "accept":
            pending = db.session.scalar(select(Agreement).where(Agreement.student_id == student.id,
                                                                Agreement.status == "pending"))
            if pending:
                workflow.accept(student, pending, now=world.tick(hours=2))
            else:
                employer = _employer_for(world, student)
                if employer:
                    accepted_offer(employer, student, sent=now)
                    world.tick(hours=3)
        elif act == "certify" and live is not None and live.status == "accepted":
            workflow.certify(reviewer, live, now=now)
        elif act == "decline" and live is not None and live.status == "accepted":
            workflow.decline(reviewer, live, "材料不全", now=now)
        elif act == "withdraw" and live is not None and live.status == "certified":
            workflow.withdraw_certification(reviewer, live, "审核有误", now=now)
        elif act == "terminate" and live is not None and live.status == "certified":
            term = workflow.request_termination(student, live, "个人原因", now=now)
            if term.status == "requested" and live.employer_id:
                term = workflow.agree_termination(db.session.get(Employer, live.employer_id), term, now=world.tick())
            term = db.session.get(Termination, term.id)
            if term.status == "agreed":
                workflow.approve_termination(reviewer, term, now=world.tick())
        elif act == "destination" and live is None and dest is None:
            workflow.submit_destination(student, "80", {"school": "武汉大学", "major": "数学", "level": "硕士"},
                                        proof(), now=now)
        elif act == "review" and dest is not None and dest.status == "submitted":
            workflow.review_destination(reviewer, dest, rng.random() < 0.7, reason="材料不全", now=now)
        elif act == "withdraw_destination" and dest is not None and dest.status == "submitted":
            workflow.withdraw_destination(student, dest, now=now)
        elif act == "paper" and live is None and dest is None:
            employer = rng.choice(world.employers + [None])
            code = employer.credit_code if employer else None
            terms = paper_terms(employer_credit_code=code) if code else paper_terms()
            workflow.record_paper_agreement(student, terms, proof(), now=now)
        elif act == "roster":  # the school edits the roster: a set-based UPDATE, as an import does
            db.session.execute(update(Student).where(Student.id == student.id).values(
                department=rng.choice(("计算机学院", "数学学院", "外国语学院")), education=rng.choice(
                    ("本科生毕业", "硕士生毕业"))))
            db.session.commit()
        elif act == "nature":
            employer = rng.choice(world.employers)
            db.session.execute(update(Employer).where(Employer.id == employer.id).values(
                nature=rng.choice(("10", "31", "39", "99"))))
            db.session.commit()
        elif act == "new_student":
            world.students.append(make_student(rng.choice(world.schools), graduation_year=rng.choice((2026, 2027))))
    except workflow.WorkflowError:
        db.session.rollback()
    return act


@pytest.mark.parametrize("seed", [1, 2])
def test_random_flows_keep_the_summary_equal_to_the_live_figures(seed):
    world = World(random.Random(seed))
    assert_summary_matches()
    acts = set()
    for i in range(70):
        acts.add(step(world))
        if i % 7 == 6:
            assert_summary_matches()
    assert_summary_matches()
    assert db.session.scalar(select(func.count()).select_from(StatsCell)) > 0
    assert {"offer", "certify", "roster", "nature"} <= acts


def test_a_registered_employer_gives_its_paper_agreements_their_nature():
    school = make_school()
    student = make_student(school)
    code = "91420111MA4K2Q7P5X"
    from stdnum.cn import uscc

    code = code[:-1] + uscc.calc_check_digit(code[:-1])
    workflow.record_paper_agreement(student, paper_terms(employer_credit_code=code), proof(), now=NOW)
    summary.refresh_all()
    assert set(_frame(summary.outcome_frame(stats.Filters()))["nature"]) == {"未登记"}
    make_employer(credit_code=code, nature="31")
    assert_summary_matches(years=(2026,))
    assert set(_frame(summary.outcome_frame(stats.Filters()))["nature"]) == {"国有企业"}


def test_rebuild_repairs_and_reports_what_it_changed():
    school = make_school()
    employer = make_employer(approved_by=school)
    students = [make_student(school) for _ in range(3)]
    accepted_offer(employer, students[0])
    summary.refresh_all()
    db.session.execute(update(StatsCell).values(n=StatsCell.n + 5))
    db.session.execute(text("DELETE FROM stats_day"))
    db.session.commit()
    changed = summary.rebuild()
    assert changed["cells"] >= 1 and changed["days"] >= 1 and changed["graduates"] == 0
    assert_summary_matches(years=(2026,))


def test_the_dashboard_reads_the_summary_at_most_a_minute_old(client):
    school = make_school()
    employer = make_employer(approved_by=school)
    student = make_student(school)
    accepted_offer(employer, student)
    f = stats.Filters(year=2026)
    data, at = summary.dashboard(f)  # the read applies the log first
    assert data["summary"]["pending"] == 1 and db.session.scalar(select(func.count()).select_from(StatsChange)) == 0
    live = stats.dashboard(f)
    assert data["summary"] == live["summary"]
    assert data["daily"].to_dict("records") == live["daily"].to_dict("records")
    # an old entry in the log (the cron is down) is applied by the read even when another refresh
    # would otherwise be left to finish
    db.session.add(StatsChange(student_id=student.id, created_at=NOW.replace(tzinfo=None) - timedelta(days=1)))
    db.session.commit()
    assert summary.stale()
    summary.fresh()
    assert not summary.stale() and db.session.scalar(select(func.count()).select_from(StatsChange)) == 0


def test_expiry_and_rejections_write_nothing_to_the_log():
    """Pending offers are no outcome: expiring 20 offers adds no change to the log."""
    school = make_school()
    employer = make_employer(approved_by=school)
    for student in [make_student(school) for _ in range(20)]:
        offer(employer, student)
    summary.refresh_all()
    assert workflow.expire_due(NOW + timedelta(days=30)) == 20
    assert db.session.scalar(select(func.count()).select_from(StatsChange)) == 0


def test_the_flask_command_rebuilds_and_says_what_changed(app):
    make_student(make_school())
    result = app.test_cli_runner().invoke(args=["stats", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "statistics summary rebuilt: 0 cells, 0 graduates and 0 day counts changed" in result.output
    db.session.execute(text("DELETE FROM stats_student"))  # a damaged summary: one graduate lost
    db.session.execute(text("DELETE FROM stats_cell"))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["stats", "rebuild"])
    assert "statistics summary rebuilt: 1 cells, 1 graduates and 0 day counts changed" in result.output


def test_a_read_leaves_a_long_log_to_the_cron_unless_it_is_stale(monkeypatch):
    school = make_school()
    students = [make_student(school) for _ in range(5)]
    monkeypatch.setattr(summary, "READ_APPLY_LIMIT", 3)
    at = summary.fresh()  # 5 rows, none stale: left for the cron; the figures stand at the oldest
    assert db.session.scalar(select(func.count()).select_from(StatsChange)) == 5
    assert at == db.session.scalar(select(func.min(StatsChange.created_at)))
    db.session.execute(update(StatsChange).values(created_at=NOW.replace(tzinfo=None) - timedelta(days=1)))
    db.session.commit()
    summary.fresh()  # stale: the read applies everything
    assert db.session.scalar(select(func.count()).select_from(StatsChange)) == 0
    assert summary.outcome_frame(stats.Filters())["n"].sum() == len(students)

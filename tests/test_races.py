"""R3, R6, R9 and the expiry job under concurrent requests (docs/rules.md), PostgreSQL only.

`with_for_update()` is a no-op on SQLite, whose writers are serialised anyway (STACK-NOTES), so
these tests mean something only on PostgreSQL. Each thread has its own app context and therefore
its own session and connection; a Barrier releases them together. Any exception other than a
WorkflowError (serialization failure, deadlock, IntegrityError) fails the test.
"""
import os
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import workflow
from app.extensions import db
from app.models import Agreement, AppUser, Employer, FlowEvent, NumberCounter, Student
from app.workflow import WorkflowError
from tests.support.checks import count
from tests.support.factories import (
    NOW,
    accepted_offer,
    at,
    make_employer,
    make_reviewer,
    make_school,
    make_student,
    make_user,
    offer,
    valid_terms,
)

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="row locks and races mean something only on PostgreSQL (set TEST_DATABASE_URL)",
)

THREADS = 20


def race(app, jobs, timeout=60):
    """Run each `job()` in its own thread and app context, all released at once by a Barrier.
    Returns one result per job: ("ok", value) or ("refused", rule) — anything else fails."""
    db.session.commit()  # the test's own session must hold no locks or snapshot
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(i, job):
        with app.app_context():
            try:
                prepared = job.prepare() if hasattr(job, "prepare") else None
                barrier.wait(timeout=timeout)
                results[i] = ("ok", job(prepared) if prepared is not None else job())
            except WorkflowError as exc:
                results[i] = ("refused", exc.rule)
            except BaseException as exc:  # noqa: BLE001 — reported by the assertion below
                results[i] = ("error", repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung (lock wait or deadlock)"
    errors = [r for r in results if r is None or r[0] == "error"]
    assert not errors, errors
    db.session.expire_all()
    return results


class Job:
    """Loads its rows in the thread's own session (prepare), then runs `action` after the barrier."""

    def __init__(self, action, **ids):
        self.action, self.ids = action, ids

    def prepare(self):
        models = {"student": Student, "agreement": Agreement, "employer": Employer, "reviewer": AppUser}
        return {name: db.session.get(models[name], pk) for name, pk in self.ids.items()}

    def __call__(self, rows):
        return self.action(**rows)


def test_concurrent_accepts_of_one_student_let_exactly_one_through(app):
    school = make_school()
    student = make_student(school)
    offers = [offer(make_employer(approved_by=school), student) for _ in range(THREADS)]
    when = at(hours=2)

    def accept(student, agreement):
        return workflow.accept(student, agreement, now=when).id

    results = race(app, [Job(accept, student=student.id, agreement=a.id) for a in offers])

    assert Counter(kind for kind, _ in results) == {"ok": 1, "refused": THREADS - 1}
    assert {rule for kind, rule in results if kind == "refused"} == {"R6"}
    assert count(Agreement, Agreement.student_id == student.id, Agreement.status == "accepted") == 1
    winner = next(value for kind, value in results if kind == "ok")
    assert db.session.get(Agreement, winner).status == "accepted"
    assert count(FlowEvent, FlowEvent.action == "accept") == 1


def test_concurrent_certifications_get_distinct_gapless_numbers(app):
    school = make_school()
    employer = make_employer(approved_by=school)
    reviewer = make_reviewer(school)
    agreements = [accepted_offer(employer, make_student(school)) for _ in range(THREADS)]
    when = at(hours=3)

    def certify(reviewer, agreement):
        return workflow.certify(reviewer, agreement, now=when).number

    results = race(app, [Job(certify, reviewer=reviewer.id, agreement=a.id) for a in agreements])

    assert all(kind == "ok" for kind, _ in results), results
    numbers = [value for _, value in results]
    assert len(set(numbers)) == THREADS
    assert all(n.startswith("1202610486") and len(n) == 15 for n in numbers)
    assert sorted(int(n[-5:]) for n in numbers) == list(range(1, THREADS + 1))
    stored = db.session.scalars(select(Agreement.number).where(Agreement.status == "certified")).all()
    assert sorted(stored) == sorted(numbers)
    assert db.session.get(NumberCounter, (school.id, 2026)).last == THREADS


def test_concurrent_certifications_in_two_schools_do_not_share_a_sequence(app):
    schools = [make_school("10486", "武汉大学"), make_school("10487", "华中科技大学")]
    employer = make_employer(approved_by=schools[0])
    reviewers = [make_reviewer(s) for s in schools]
    jobs = []
    when = at(hours=3)

    def certify(reviewer, agreement):
        return workflow.certify(reviewer, agreement, now=when).number

    for i in range(THREADS):
        k = i % 2
        agreement = accepted_offer(employer, make_student(schools[k]))
        jobs.append(Job(certify, reviewer=reviewers[k].id, agreement=agreement.id))
    results = race(app, jobs)
    numbers = [value for kind, value in results if kind == "ok"]
    assert len(numbers) == THREADS
    for school in schools:
        seq = sorted(int(n[-5:]) for n in numbers if n[5:10] == school.code)
        assert seq == list(range(1, THREADS // 2 + 1))


def test_concurrent_invites_of_one_employer_to_one_student_make_one_pending_offer(app):
    school = make_school()
    student = make_student(school)
    employer = make_employer(approved_by=school)
    make_user("employer", employer)
    terms = valid_terms()

    def invite(employer, student):
        return workflow.invite(employer, [student], terms, now=NOW)[0].id

    results = race(app, [Job(invite, employer=employer.id, student=student.id) for _ in range(THREADS)])

    assert Counter(kind for kind, _ in results) == {"ok": 1, "refused": THREADS - 1}
    assert {rule for kind, rule in results if kind == "refused"} == {"R3"}
    assert count(Agreement, Agreement.employer_id == employer.id, Agreement.student_id == student.id) == 1
    assert count(FlowEvent) == 1


def test_concurrent_expiry_runs_expire_each_offer_once(app):
    school = make_school()
    employer = make_employer(approved_by=school)
    make_user("employer", employer)
    offers = 40
    for _ in range(offers):
        offer(employer, make_student(school))
    fresh = offer(make_employer(approved_by=school), make_student(school), now=at(days=6))
    when = at(days=7)

    def expire():
        return workflow.expire_due(now=when)

    results = race(app, [expire, expire])

    assert sum(value for _, value in results) == offers
    assert count(FlowEvent, FlowEvent.action == "expire") == offers
    assert count(Agreement, Agreement.status == "expired") == offers
    assert db.session.get(Agreement, fresh.id).status == "pending"


def test_accept_racing_expiry_at_the_deadline_is_one_or_the_other(app):
    """R4 at the boundary: an accept just before midnight and the job just after never both win."""
    school = make_school()
    student = make_student(school)
    employer = make_employer(approved_by=school)
    agreement = offer(employer, student)
    deadline = workflow.expiry_instant(agreement.sent_at, agreement.feedback_days)
    from datetime import timezone

    last_second = deadline.replace(tzinfo=timezone.utc) - timedelta(seconds=1)

    def accept(student, agreement):
        return workflow.accept(student, agreement, now=last_second).status

    def expire():
        return workflow.expire_due(now=deadline.replace(tzinfo=timezone.utc))

    results = race(app, [Job(accept, student=student.id, agreement=agreement.id), expire])
    final = db.session.get(Agreement, agreement.id).status
    accepted, expired = results[0] == ("ok", "accepted"), results[1] == ("ok", 1)
    assert accepted != expired, results
    assert final == ("accepted" if accepted else "expired")
    events = db.session.scalars(select(FlowEvent.action).where(FlowEvent.agreement_id == agreement.id)
                                .order_by(FlowEvent.id)).all()
    assert events == ["invite", "accept" if accepted else "expire"]


def test_accept_racing_destination_registration_leaves_one_live_outcome(app):
    """R6 across two tables: offers being accepted while the student registers 升学 (and enters a
    paper agreement) at the same instant — exactly one outcome goes live."""
    from app.models import Destination
    from tests.support.factories import paper_terms, proof

    school = make_school()
    student = make_student(school)
    offers = [offer(make_employer(approved_by=school), student) for _ in range(THREADS - 4)]
    when = at(hours=2)

    def accept(student, agreement):
        return workflow.accept(student, agreement, now=when).id

    def destination(student):
        return workflow.submit_destination(
            student, "80", {"school": "华中科技大学", "major": "软件工程", "level": "硕士研究生"}, proof(), now=when).id

    def paper(student):
        return workflow.record_paper_agreement(student, paper_terms(), proof(), now=when).id

    jobs = [Job(accept, student=student.id, agreement=a.id) for a in offers]
    jobs += [Job(destination, student=student.id) for _ in range(2)]
    jobs += [Job(paper, student=student.id) for _ in range(2)]
    results = race(app, jobs)

    assert Counter(kind for kind, _ in results) == {"ok": 1, "refused": THREADS - 1}, results
    assert {rule for kind, rule in results if kind == "refused"} == {"R6"}
    live_agreements = count(Agreement, Agreement.student_id == student.id,
                            Agreement.status.in_(("accepted", "certified")))
    live_destinations = count(Destination, Destination.student_id == student.id,
                              Destination.status.in_(("submitted", "approved")))
    assert live_agreements + live_destinations == 1


def test_both_parties_requesting_termination_at_once_open_one(app):
    """R11: student and employer press 申请解约 together — one open termination."""
    from app.models import Termination

    school = make_school()
    student = make_student(school)
    employer = make_employer(approved_by=school)
    reviewer = make_reviewer(school)
    agreement = workflow.certify(reviewer, accepted_offer(employer, student), now=at(hours=3))

    def by_student(student, agreement):
        return workflow.request_termination(student, agreement, "考取公务员", now=at(days=1)).id

    def by_employer(employer, agreement):
        return workflow.request_termination(employer, agreement, "单位原因", now=at(days=1)).id

    jobs = []
    for i in range(THREADS):
        if i % 2:
            jobs.append(Job(by_student, student=student.id, agreement=agreement.id))
        else:
            jobs.append(Job(by_employer, employer=employer.id, agreement=agreement.id))
    results = race(app, jobs)
    assert Counter(kind for kind, _ in results) == {"ok": 1, "refused": THREADS - 1}, results
    assert {rule for kind, rule in results if kind == "refused"} == {"R11"}
    assert count(Termination) == 1

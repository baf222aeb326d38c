"""R6 across agreements and destinations when two requests interleave — on any database.

SQLite has no row locks; `workflow._locked` takes its write lock before the R6 read instead. The
check is slowed down so both calls are inside it at once if nothing serialises them."""
import threading
from datetime import timedelta

from app import workflow
from app.extensions import db
from app.models import Agreement, Destination, Student
from tests.support import factories as f
from tests.support.checks import count


def test_accept_and_destination_interleaved_leave_one_live_outcome(app, monkeypatch):
    school = f.make_school()
    student = f.make_student(school)
    agreement = f.offer(f.make_employer(approved_by=school), student)
    sid, aid = student.id, agreement.id
    db.session.commit()
    inside = threading.Barrier(2, timeout=2)
    real = workflow.live_outcome_exists

    def slow(student_id, exclude_agreement_id=None):
        found = real(student_id, exclude_agreement_id)
        try:  # wait (briefly) for the other call to reach the same point
            inside.wait()
        except threading.BrokenBarrierError:
            pass
        return found

    monkeypatch.setattr(workflow, "live_outcome_exists", slow)
    results = {}

    def run(name, call):
        with app.app_context():
            try:
                call()
                results[name] = "ok"
            except workflow.WorkflowError as exc:
                results[name] = exc.rule
            except Exception as exc:  # noqa: BLE001 — reported below
                results[name] = repr(exc)
            finally:
                db.session.remove()

    when = f.NOW + timedelta(hours=2)
    threads = [
        threading.Thread(target=run, args=("accept", lambda: workflow.accept(
            db.session.get(Student, sid), db.session.get(Agreement, aid), now=when))),
        threading.Thread(target=run, args=("destination", lambda: workflow.submit_destination(
            db.session.get(Student, sid), "76", {"occupation": "自由撰稿", "region": "420111"}, now=when))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results.values()) == ["R6", "ok"], results
    live = count(Agreement, Agreement.student_id == sid, Agreement.status.in_(("accepted", "certified")))
    live += count(Destination, Destination.student_id == sid, Destination.status.in_(("submitted", "approved")))
    assert live == 1

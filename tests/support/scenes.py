"""One builder for the scenes the tests start from (like the manual's examples: a school, its
reviewer, an approved employer, a verified student and an offer in some state).

    w = scene()                      # nothing sent yet
    w = scene("certified")           # w.agreement: sent NOW, accepted 2 h later, certified 1 h after
    w = scene("pending", students=3) # one offer to each of w.students (w.agreements, same order)
    mine, other = scene(), scene(school="10487")   # two schools that must not see each other

Returns a SimpleNamespace:
    school, reviewer            the school (武汉大学 unless `school` names another code) and a
                                reviewer login of it
    employer, employer_user     an employer with a confirmed profile, approved by the school, and
                                its login
    students, student           `students` verified students who may sign (student = students[0])
    student_users, student_user their logins
    logins                      {"student": student_user, "employer": employer_user, "school": reviewer}
    agreements, agreement       with `offer_state` (one of STATES): one agreement from the employer to
                                each student in that state (agreement = agreements[0]); otherwise
                                [] and None. rejected: 1 h after sending; declined ("材料不全") and
                                certified: 3 h after; terminated: asked, agreed and approved a day later
    other_school, other_reviewer  with other_school=True: 华中科技大学 and a reviewer of it
                                (the school that may not touch this one's rows)
`student` / `employer` are overrides for make_student / make_employer (e.g. {"name": "黄河水"});
`sent` is when the offers were sent (default NOW; accepted 2 h and certified 3 h after).
"""
from datetime import timedelta
from types import SimpleNamespace

from tests.support.factories import (
    NOW,
    accepted_offer,
    certified_offer,
    make_employer,
    make_reviewer,
    make_school,
    make_student,
    make_user,
    offer,
)

SCHOOLS = {"10486": "武汉大学", "10487": "华中科技大学"}
STATES = ("pending", "accepted", "rejected", "declined", "certified", "terminated")


def scene(offer_state=None, *, school="10486", students=1, student=None, employer=None, sent=None,
          other_school=False):
    if offer_state not in (None, *STATES):
        raise ValueError(f"offer state {offer_state!r}: one of {STATES}")
    w = SimpleNamespace()
    w.school = make_school(school, SCHOOLS[school])
    w.reviewer = make_reviewer(w.school)
    w.employer = make_employer(approved_by=w.school, **(employer or {}))
    w.employer_user = make_user("employer", w.employer)
    w.students = [make_student(w.school, **(student or {})) for _ in range(students)]
    w.student_users = [make_user("student", s) for s in w.students]
    w.student, w.student_user = w.students[0], w.student_users[0]
    w.logins = {"student": w.student_user, "employer": w.employer_user, "school": w.reviewer}
    if other_school:
        code = next(c for c in SCHOOLS if c != school)
        w.other_school = make_school(code, SCHOOLS[code])
        w.other_reviewer = make_reviewer(w.other_school)
    w.agreements = [_offer_in(offer_state, w, s, sent or NOW) for s in w.students] if offer_state else []
    w.agreement = w.agreements[0] if w.agreements else None
    return w


def _offer_in(state, w, student, sent):
    from app import workflow

    if state == "pending":
        return offer(w.employer, student, now=sent)
    if state == "rejected":
        return workflow.reject(student, offer(w.employer, student, now=sent), now=sent + timedelta(hours=1))
    if state == "accepted":
        return accepted_offer(w.employer, student, sent=sent)
    if state == "declined":
        return workflow.decline(w.reviewer, accepted_offer(w.employer, student, sent=sent), "材料不全",
                                now=sent + timedelta(hours=3))
    agreement = certified_offer(w.employer, student, w.reviewer, sent=sent)
    if state == "terminated":
        t = workflow.request_termination(student, agreement, "个人原因", now=sent + timedelta(days=1))
        t = workflow.agree_termination(w.employer, t, now=sent + timedelta(days=1, hours=1))
        workflow.approve_termination(w.reviewer, t, now=sent + timedelta(days=1, hours=2))
    return agreement

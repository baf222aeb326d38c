"""R14 (docs/rules.md): every transition appends one FlowEvent (none is edited or deleted) and
notifies exactly the other parties' active logins — straight on app.workflow."""
from datetime import timezone

from sqlalchemy import select

from app import workflow
from app.extensions import db
from app.models import FlowEvent
from tests.support.checks import count, events, inbox
from tests.support.factories import NOW, accepted_offer, at, make_user, offer, valid_terms

AFTER_COOLING = at(hours=2)
AMENDED = dict(salary=12000, probation_salary=10000, position="高级软件工程师")


def test_every_transition_appends_flow_event_and_notifies_other_parties(w):
    """Walk one agreement through every transition; after each, exactly the other parties' logins
    get a message and one FlowEvent is appended (none edited or deleted)."""
    second_employer_login = make_user("employer", w.employer)
    logins = {
        "student": [w.student_user], "employer": [w.employer_user, second_employer_login],
        "school": [w.reviewer], "other_school": [w.other_reviewer],
    }
    before = {}

    def remember():
        before.update({u.id: len(inbox(u)) for users in logins.values() for u in users})

    def check(agreement, history, notified):
        db.session.expire_all()
        assert events(agreement) == history
        for party, users in logins.items():
            for user in users:
                expected = 1 if party in notified else 0
                assert len(inbox(user)) - before[user.id] == expected, (history[-1], party)
        remember()

    remember()
    a = offer(w.employer, w.student)
    check(a, ["invite"], {"student"})
    workflow.accept(w.student, a, now=AFTER_COOLING)
    check(a, ["invite", "accept"], {"employer", "school"})
    workflow.amend(w.employer, a, valid_terms(**AMENDED), now=at(hours=3))
    check(a, ["invite", "accept", "amend"], {"student", "school"})
    workflow.accept(w.student, a, now=at(hours=4))
    check(a, ["invite", "accept", "amend", "accept"], {"employer", "school"})
    workflow.certify(w.reviewer, a, now=at(hours=5))
    check(a, ["invite", "accept", "amend", "accept", "certify"], {"student", "employer"})
    workflow.withdraw_certification(w.reviewer, a, "录入有误", now=at(hours=6))
    check(a, ["invite", "accept", "amend", "accept", "certify", "withdraw"], {"student", "employer"})
    workflow.decline(w.reviewer, a, "材料不全", now=at(hours=7))
    check(a, ["invite", "accept", "amend", "accept", "certify", "withdraw", "decline"], {"student", "employer"})

    b = offer(w.employer, w.student, now=at(hours=8))
    check(b, ["invite"], {"student"})
    workflow.amend(w.employer, b, valid_terms(**AMENDED), now=at(hours=9))
    check(b, ["invite", "amend"], {"student"})
    workflow.reject(w.student, b, now=at(hours=10))
    check(b, ["invite", "amend", "reject"], {"employer"})

    c = offer(w.employer, w.student, now=at(hours=11))
    check(c, ["invite"], {"student"})
    assert workflow.expire_due(now=at(days=10)) == 1
    check(c, ["invite", "expire"], {"employer"})

    assert count(FlowEvent) == 12  # the whole history is kept


def test_flow_events_carry_actor_and_time(w):
    agreement = accepted_offer(w.employer, w.student)
    rows = db.session.execute(select(FlowEvent.action, FlowEvent.actor_name, FlowEvent.created_at)
                              .where(FlowEvent.agreement_id == agreement.id).order_by(FlowEvent.id)).all()
    assert [r.action for r in rows] == ["invite", "accept"]
    assert rows[0].actor_name == w.employer.name
    assert rows[0].created_at == NOW.astimezone(timezone.utc).replace(tzinfo=None)
    assert rows[1].created_at == AFTER_COOLING.astimezone(timezone.utc).replace(tzinfo=None)


def test_inactive_logins_are_not_notified(w):
    w.student_user.active = False
    db.session.commit()
    offer(w.employer, w.student)
    assert inbox(w.student_user) == []

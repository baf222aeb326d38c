"""The transition table (app/workflow/table.py) is the whole rule: every refusal comes from it with a
rule number, `why_not` changes nothing, and the table answers the questions docs/rules.md asks."""
from datetime import timedelta

import pytest
from app import labels, workflow
from app.extensions import db
from app.models import Agreement, FlowEvent, Notification, Termination
from app.workflow.table import MOVES, STATE, STATUS_LABELS, role_of
from tests.support.checks import count
from tests.support.factories import NOW, accepted_offer, certified_offer, make_employer, make_student, offer


def _rows():
    return tuple(count(m) for m in (Agreement, FlowEvent, Notification, Termination))


def test_every_action_names_its_machine_actor_and_target():
    machines = set(STATUS_LABELS)
    for action, move in MOVES.items():
        assert move.machine in machines, action
        assert move.actors and set(move.actors) <= {"student", "employer", "school", "system"}, action
        assert move.target in STATUS_LABELS[move.machine], action
        if move.sources is not None:
            assert move.sources <= set(STATUS_LABELS[move.machine]), action
            assert STATE in move.guards, f"{action}: the status check must be placed among its guards"


def test_reviewer_cannot_withdraw_while_a_termination_is_open_read_from_the_table(w):
    move = MOVES["withdraw"]
    assert (move.sources, move.target, move.actors) == ({"certified"}, "accepted", ("school",))
    agreement = certified_offer(w.employer, w.student, w.reviewer)
    assert workflow.why_not("withdraw", w.reviewer, agreement, NOW + timedelta(hours=4)) is None
    workflow.request_termination(w.student, agreement, "考研", now=NOW + timedelta(hours=5))
    refusal = workflow.why_not("withdraw", w.reviewer, agreement, NOW + timedelta(hours=6))
    assert refusal.rule == "R10" and "解约" in refusal.message


def test_why_not_writes_nothing(w):
    from tests.support.market import make_posting

    pending = offer(w.employer, w.student)
    posting = make_posting(w.employer)
    before = _rows()
    objects = {"invite": w.student, "termination_request": pending, "employer_apply": w.school,
               "paper_record": None, "destination_submit": None, "posting_create": None,
               "posting_hide": posting, "application_submit": posting}
    for action, move in MOVES.items():
        if move.sources is None:
            target = objects[action]
        elif move.machine == "agreement":
            target = pending
        else:
            continue  # no row of that machine in this scene
        for actor in (w.student, w.employer, w.reviewer, w.other_reviewer, None):
            workflow.why_not(action, actor, target, NOW + timedelta(hours=2))
    assert not db.session.new and not db.session.dirty and not db.session.deleted
    db.session.commit()
    assert _rows() == before


@pytest.mark.parametrize("action", [a for a, m in MOVES.items() if m.machine == "agreement" and m.sources])
def test_every_refused_status_carries_a_rule_number(w, action):
    agreement = accepted_offer(w.employer, w.student)
    move = MOVES[action]
    actor = {"student": w.student, "employer": w.employer, "school": w.reviewer, "system": None}[move.actors[0]]
    for status in STATUS_LABELS["agreement"]:
        if status in move.sources:
            continue
        agreement.status = status
        refusal = workflow.why_not(action, actor, agreement, NOW + timedelta(hours=3))
        assert refusal is not None, (action, status)
        assert refusal.rule, (action, status, refusal.message)
    db.session.rollback()


def test_wrong_actor_is_refused_with_a_rule(w):
    agreement = accepted_offer(w.employer, w.student)
    refusal = workflow.why_not("certify", w.employer, agreement)
    assert refusal.rule == "R9" and "学校" in refusal.message
    refusal = workflow.why_not("accept", w.reviewer, agreement)
    assert refusal.rule == "R0"
    assert role_of(None) == "system" and role_of(w.student) == "student" and role_of(w.reviewer) == "school"


def test_other_schools_reviewer_is_refused_r9(w):
    agreement = accepted_offer(w.employer, w.student)
    refusal = workflow.why_not("certify", w.other_reviewer, agreement)
    assert refusal.rule == "R9"


def test_cooling_off_refusal_says_when_accept_opens(w):
    agreement = offer(w.employer, w.student)
    refusal = workflow.why_not("accept", w.student, agreement, NOW + timedelta(minutes=10))
    opens = labels.fmt_datetime(workflow.cooling_off_ends(agreement))
    assert refusal.rule == "R5" and opens in refusal.message
    assert workflow.why_not("accept", w.student, agreement, NOW + timedelta(hours=2)) is None


def test_transition_refuses_exactly_what_why_not_said(w):
    agreement = offer(w.employer, w.student)
    early = NOW + timedelta(minutes=5)
    said = workflow.why_not("accept", w.student, agreement, early)
    with pytest.raises(workflow.WorkflowError) as refused:
        workflow.accept(w.student, agreement, now=early)
    assert (refused.value.message, refused.value.rule) == (said.message, said.rule)


def test_every_refusal_of_the_offer_guards_has_a_rule(w):
    """Walk the guard-refusals the pages can show for an offer and check each has its rule."""
    other = make_student(w.school, verified_at=None)
    agreement = offer(w.employer, w.student)
    checks = [
        workflow.why_not("invite", w.employer, w.student, NOW + timedelta(hours=1)),  # R3
        workflow.why_not("invite", w.employer, other, NOW + timedelta(hours=1)),  # R7
        workflow.why_not("accept", other, agreement, NOW + timedelta(hours=2)),  # R0: not hers
        workflow.why_not("accept", w.student, agreement, NOW + timedelta(days=30)),  # R4
        workflow.why_not("invite", make_employer(), w.student, NOW),  # R1
    ]
    assert [r.rule for r in checks] == ["R3", "R7", "R0", "R4", "R1"]


def test_docs_rules_lists_every_row_of_the_table():
    """docs/rules.md is the repository's copy of the rules: each action of the table has its row."""
    import pathlib

    text = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "rules.md").read_text(encoding="utf-8")
    for action, move in MOVES.items():
        row = next((line for line in text.splitlines() if f"| `{action}` |" in line), None)
        assert row is not None, f"docs/rules.md has no row for {action}"
        for guard in move.guards:
            if guard is not STATE:
                assert guard.__name__.split("_R")[0] in row, (action, guard.__name__)


def test_why_not_each_answers_as_why_not_does_per_row(w):
    busy, free = w.student, make_student(w.school)
    restricted = make_student(w.school, signing_restricted=True)
    offer(w.employer, busy)
    rows = [busy, free, restricted]
    each = workflow.why_not_each("invite", w.employer, rows, NOW + timedelta(hours=1))
    assert each == {s: workflow.why_not("invite", w.employer, s, NOW + timedelta(hours=1)) for s in rows}
    assert [each[s] and each[s].rule for s in rows] == ["R3", None, "R7"]
    unapproved = make_employer()
    assert {r.rule for r in workflow.why_not_each("invite", unapproved, rows, NOW).values()} == {"R1"}


def test_every_workflow_error_in_the_code_cites_a_rule():
    """A refusal the user reads carries its rule number: every `WorkflowError(...)` written in app/
    passes one (or unpacks a (message, rule) pair), and every `Refusal(...)` too."""
    import ast
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1] / "app"
    missing = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("WorkflowError", "Refusal"):
                if path.name == "errors.py":
                    continue
                cites = len(node.args) >= 2 or any(isinstance(a, ast.Starred) for a in node.args) \
                    or any(k.arg == "rule" for k in node.keywords)
                if not cites:
                    missing.append(f"{path.relative_to(root)}:{node.lineno}")
    assert missing == []


def test_why_not_each_batches_database_guards_and_agrees_with_why_not(w, app):
    """termination_request over several agreements: open termination (R11) and the limit (R12)
    read once for the page, with the same answers as row by row."""
    from tests.support.checks import statements

    agreements = []
    for _ in range(3):
        student = make_student(w.school)
        agreements.append(certified_offer(w.employer, student, w.reviewer))
    workflow.request_termination(w.employer, agreements[0], "岗位调整", now=NOW + timedelta(hours=4))
    for a in agreements:
        db.session.refresh(a)
    app.config["TERMINATION_LIMIT"] = 0
    try:
        with statements() as seen:
            each = workflow.why_not_each("termination_request", w.employer, agreements, NOW + timedelta(hours=5))
        one = {a: workflow.why_not("termination_request", w.employer, a, NOW + timedelta(hours=5)) for a in agreements}
    finally:
        app.config["TERMINATION_LIMIT"] = 1
    assert each == one and [r.rule for r in each.values()] == ["R11", "R12", "R12"]
    guard_reads = [q for q in seen if "FROM termination" in q]
    assert len(guard_reads) == 2  # one query per database guard, not one per row

"""The transition table: every action of every machine, in one place (docs/rules.md).

Machines: `agreement` (offers, electronic and paper agreements), `termination` (解约),
`destination` (其他去向) and `approval` (单位审核, EmployerApproval). Each row says: from which
statuses (None: the action creates the row), to which status, who may act, and the guards in the
order a refusal is told; `STATE` marks where the status itself is checked. A guard returns a
`Refusal` (Chinese message + rule number) or None and changes nothing. R0 is the table itself:
an action only from its source statuses, by its acting role, on the actor's own rows.

`why_not(action, actor, obj, now)` asks the table — the transition functions call it (through
`check`) after taking their locks, and the pages call it to decide which buttons to show and what
to say. `advance(obj, action)` is the only code that assigns a status from a row of the table.

    # Can a reviewer withdraw a certification while a termination is open?
    MOVES["withdraw"]: certified → accepted, school, guards: own school (R9), no open termination (R10)
"""
from dataclasses import dataclass, field

from .. import labels
from ..models import (
    OFFERABLE_APPLICATION_STATUSES,
    WITHDRAWABLE_APPLICATION_STATUSES,
    Agreement,
    Destination,
    Employer,
    EmployerApproval,
    JobApplication,
    JobPosting,
    PostingHide,
    Student,
    Termination,
)
from .base import locked, utc
from .errors import Refusal, WorkflowError
from .guards import (
    after_cooling_off,
    agreement_certified,
    applicant_may_receive,
    deadline_ahead,
    electronic,
    employers_application,
    employers_offer,
    employers_posting,
    may_offer,
    may_publish,
    never_certified,
    not_applied_yet,
    not_hidden_by_school,
    no_open_termination,
    no_other_live_outcome,
    no_pending_offer_from_employer,
    no_second_pending_offer,
    not_overdue,
    not_yet_applied,
    other_side,
    own_application,
    own_destination,
    own_offer,
    paper_by_student,
    posting_open_to_student,
    posting_published,
    reviewers_school,
    signer_of_agreement,
    signer_of_termination,
    student_may_receive,
    student_may_sign,
    termination_left,
)

STATE = "the status is one of the sources"  # a marker in a guard list, not a guard
STUDENT, EMPLOYER, SCHOOL, SYSTEM = ("student",), ("employer",), ("school",), ("system",)
SIGNERS = ("student", "employer")  # the two parties of an electronic agreement

STATUS_LABELS = {
    "agreement": labels.AGREEMENT_STATUS, "termination": labels.TERMINATION_STATUS,
    "destination": labels.DESTINATION_STATUS, "approval": labels.APPROVAL_STATUS,
    "posting": labels.POSTING_STATUS, "hide": labels.HIDE_STATUS, "application": labels.APPLICATION_STATUS,
}
MACHINE_OF = {Agreement: "agreement", Termination: "termination", Destination: "destination",
              EmployerApproval: "approval", JobPosting: "posting", PostingHide: "hide",
              JobApplication: "application"}


@dataclass(frozen=True)
class Move:
    machine: str
    sources: frozenset | None  # None: the action creates the row
    target: str
    actors: tuple
    guards: tuple = ()
    refused_from: str = ""  # told when the status is not a source; {status} is its label
    state_rule: str = "R0"  # R0: the table itself (docs/rules.md)
    also: tuple = field(default=())  # (machine, sources, target) moved in the same transaction


def _from(*statuses):
    return frozenset(statuses)


MOVES = {
    # ---- offers and agreements ------------------------------------------------------------------
    "invite": Move("agreement", None, "pending", EMPLOYER,
                   (may_offer, student_may_receive, no_pending_offer_from_employer)),
    "accept": Move("agreement", _from("pending"), "accepted", STUDENT,
                   (own_offer, electronic, not_overdue("该邀约已过应约有效期，不能再应约"), STATE,
                    after_cooling_off, student_may_sign("你目前不能签约："),
                    no_other_live_outcome("你已有生效或待审核的签约/其他去向，其他邀请函只能查看")),
                   "该邀约当前状态为“{status}”，不能应约"),
    "reject": Move("agreement", _from("pending"), "rejected", STUDENT,
                   (own_offer, not_overdue("该邀约已过应约有效期"), STATE),
                   "该邀约当前状态为“{status}”，不能拒绝"),
    "expire": Move("agreement", _from("pending"), "expired", SYSTEM, (STATE,)),  # set-based: offers.expire_due
    "amend": Move("agreement", _from("pending", "accepted"), "pending", EMPLOYER,
                  (employers_offer, not_overdue("该邀约已过期，请重新发起邀约"), never_certified, STATE,
                   no_second_pending_offer),
                  "该协议书当前状态为“{status}”，不能修改邀约；学校已审核的协议书请先办理解约，再重新签约", "R8"),
    "certify": Move("agreement", _from("accepted"), "certified", SCHOOL,
                    (reviewers_school("只能审核本校学生的协议书", "R9"), STATE),
                    "该协议书当前状态为“{status}”，不能审核通过"),
    "decline": Move("agreement", _from("accepted"), "declined", SCHOOL,
                    (reviewers_school("只能审核本校学生的协议书", "R9"), STATE),
                    "该协议书当前状态为“{status}”，不能审核不通过"),
    "withdraw": Move("agreement", _from("certified"), "accepted", SCHOOL,
                     (reviewers_school("只能撤回本校学生协议书的审核", "R9"),
                      no_open_termination("该协议书有正在办理的解约，不能撤回审核", "R10"), STATE),
                     "该协议书当前状态为“{status}”，不能撤回审核"),
    "paper_record": Move("agreement", None, "accepted", STUDENT,  # obj: None (the student enters it)
                         (student_may_sign("你目前不能签约："),
                          no_other_live_outcome("你已有生效或待审核的网上签约、纸质签约或其他去向登记，不能录入协议书"
                                                "（一名学生只能有一个就业去向）"))),
    # ---- terminations (obj of termination_request: the agreement) -------------------------------
    "termination_request": Move("termination", None, "requested", SIGNERS,  # paper (R13): starts agreed
                                (signer_of_agreement, agreement_certified,
                                 no_open_termination("该协议书有正在办理的解约，解约审核期间不能再次提出", "R11"),
                                 paper_by_student, termination_left)),
    "termination_agree": Move("termination", _from("requested"), "agreed", SIGNERS,
                              (signer_of_termination, other_side, STATE),
                              "该解约申请当前状态为“{status}”，不能再同意", "R11"),
    "termination_approve": Move("termination", _from("agreed"), "approved", SCHOOL,
                                (reviewers_school("只能审核本校学生的解约申请", "R11"), STATE, termination_left),
                                "该解约申请当前状态为“{status}”，不能再审核通过", "R11",
                                also=("agreement", _from("certified"), "terminated")),
    "termination_refuse": Move("termination", _from("agreed"), "refused", SCHOOL,
                               (reviewers_school("只能审核本校学生的解约申请", "R11"), STATE),
                               "该解约申请当前状态为“{status}”，不能再审核不通过", "R11"),
    # ---- other destinations (obj of destination_submit: None) -----------------------------------
    "destination_submit": Move("destination", None, "submitted", STUDENT,
                               (student_may_sign("你目前不能登记去向："),
                                no_other_live_outcome("你已有生效或待审核的网上签约、纸质签约或其他去向登记，不能再登记其他去向；"
                                                "如需变更，请先撤回未审核的登记或办理解约"))),
    "destination_withdraw": Move("destination", _from("submitted"), "withdrawn", STUDENT,
                                 (own_destination, STATE), "学校已审核的去向登记不能撤回"),
    "destination_approve": Move("destination", _from("submitted"), "approved", SCHOOL,
                                (reviewers_school("只能审核本校学生的去向登记", "R9"), STATE),
                                "该去向登记当前状态为“{status}”，不能再处理"),
    "destination_decline": Move("destination", _from("submitted"), "declined", SCHOOL,
                                (reviewers_school("只能审核本校学生的去向登记", "R9"), STATE),
                                "该去向登记当前状态为“{status}”，不能再处理"),
    # ---- employer approval, R1 (obj of employer_apply: the school) ------------------------------
    "employer_apply": Move("approval", None, "pending", EMPLOYER, (not_yet_applied,)),
    "employer_approve": Move("approval", _from("pending"), "approved", SCHOOL,
                             (reviewers_school("只能处理提交给本校的单位审核", "R1"), STATE), "该单位审核已处理", "R1"),
    "employer_refuse": Move("approval", _from("pending"), "refused", SCHOOL,
                            (reviewers_school("只能处理提交给本校的单位审核", "R1"), STATE), "该单位审核已处理", "R1"),
    # ---- 网上就业市场: postings (R16; obj of posting_create: None) ---------------------------------
    "posting_create": Move("posting", None, "draft", EMPLOYER, (may_publish,)),
    "posting_publish": Move("posting", _from("draft"), "open", EMPLOYER,
                            (employers_posting, may_publish, STATE, deadline_ahead),
                            "该职位当前状态为“{status}”，不能发布", "R16"),
    "posting_close": Move("posting", _from("open"), "offline", EMPLOYER, (employers_posting, STATE),
                          "该职位当前状态为“{status}”，不能下线", "R16"),
    "posting_reopen": Move("posting", _from("closed", "offline"), "open", EMPLOYER,
                           (employers_posting, may_publish, STATE, deadline_ahead),
                           "该职位当前状态为“{status}”，不能重新上线", "R16"),
    "posting_expire": Move("posting", _from("open"), "closed", SYSTEM, (STATE,)),  # set-based: market.close_due
    # ---- a school hides a posting from its own students (R16; obj of posting_hide: the posting) ----
    "posting_hide": Move("hide", None, "hidden", SCHOOL, (posting_published, not_hidden_by_school)),
    "posting_unhide": Move("hide", _from("hidden"), "shown", SCHOOL,
                           (reviewers_school("只能恢复本校隐藏的职位", "R16"), STATE), "该职位未被本校隐藏", "R16"),
    # ---- applications (R17; obj of application_submit: the posting) -----------------------------
    "application_submit": Move("application", None, "submitted", STUDENT,
                               (student_may_sign("你目前不能投递简历："), posting_open_to_student, not_applied_yet)),
    "application_view": Move("application", _from("submitted"), "viewed", EMPLOYER,
                             (employers_application, STATE), "该投递已查看", "R17"),
    "application_interview": Move("application", _from("submitted", "viewed"), "interview", EMPLOYER,
                                  (employers_application, STATE), "该投递当前状态为“{status}”，不能邀请面试", "R17"),
    "application_unsuitable": Move("application", _from("submitted", "viewed", "interview"), "unsuitable", EMPLOYER,
                                   (employers_application, STATE), "该投递当前状态为“{status}”，不能标记为不合适", "R17"),
    # Taken when the 邀请函 to the applicant is sent (offers.invite → market.mark_offered); asked
    # first by 加入签约发送列表, which needs no R2 search because the graduate applied.
    "application_offer": Move("application", _from(*OFFERABLE_APPLICATION_STATUSES), "offered", EMPLOYER,
                              (employers_application, may_offer, STATE, applicant_may_receive),
                              "该投递当前状态为“{status}”，不能再发邀约", "R17"),
    "application_withdraw": Move("application", _from(*WITHDRAWABLE_APPLICATION_STATUSES), "withdrawn", STUDENT,
                                 (own_application, STATE), "单位已处理该投递（{status}），不能撤回", "R17"),
}

# Who the actor is: a Student, an Employer, a reviewer (a login linked to a School), or the system.
_WRONG_ACTOR = {"school": Refusal("只有学校就业部门老师可以审核", "R9")}


def role_of(actor):
    if actor is None:
        return "system"
    if isinstance(actor, Student):
        return "student"
    if isinstance(actor, Employer):
        return "employer"
    if getattr(actor, "school_id", None):
        return "school"
    return None


def why_not(action, actor, obj=None, now=None):
    """Why `actor` may not do `action` on `obj` now (a Refusal), or None when it may.
    No side effects: pages call it to show or explain a button."""
    move = MOVES[action]
    if role_of(actor) not in move.actors:
        return _WRONG_ACTOR.get(move.actors[0], Refusal("无权办理此操作", "R0"))
    n = utc(now)
    for guard in move.guards:
        refusal = _state_refusal(move, obj) if guard is STATE else guard(actor, obj, n)
        if refusal is not None:
            return refusal
    return None


def why_not_each(action, actor, objs, now=None):
    """`why_not` for many rows of one page ({row: Refusal or None}), with the same guards in the
    same order: a guard that depends on the actor alone (`actor_only`) is asked once, a guard that
    reads the database (`guards.batched`) once for all the rows still undecided."""
    move = MOVES[action]
    if role_of(actor) not in move.actors:
        refusal = _WRONG_ACTOR.get(move.actors[0], Refusal("无权办理此操作", "R0"))
        return {obj: refusal for obj in objs}
    n = utc(now)
    out = {obj: None for obj in objs}
    for guard in move.guards:
        undecided = [obj for obj in objs if out[obj] is None]
        if not undecided:
            break
        if guard is STATE:
            answers = {obj: _state_refusal(move, obj) for obj in undecided}
        elif getattr(guard, "actor_only", False):
            refusal = guard(actor, None, n)
            answers = {obj: refusal for obj in undecided}
        elif hasattr(guard, "many"):
            answers = guard.many(actor, undecided, n)
        else:
            answers = {obj: guard(actor, obj, n) for obj in undecided}
        for obj, refusal in answers.items():
            out[obj] = refusal
    return out


def allowed(action, actor, objs, now=None):
    """The rows of a page `actor` may do `action` on now (`why_not_each` answered None): which
    rows get the button."""
    return {obj for obj, refusal in why_not_each(action, actor, objs, now).items() if refusal is None}


def may(action, actor, obj=None, now=None):
    return why_not(action, actor, obj, now) is None


def check(action, actor, obj=None, now=None):
    """Raise the refusal as a WorkflowError, or return the target status."""
    refusal = why_not(action, actor, obj, now)
    if refusal is not None:
        raise refusal.error()
    return MOVES[action].target


def recheck(action, actor, model, pk, now=None):
    """Re-read the row under its lock (`base.locked`) and ask the table again: what a concurrent
    transaction committed while this one waited is what the guards see."""
    row = locked(model, pk)
    check(action, actor, row, now)
    return row


def advance(obj, action):
    """Assign the row's next status (and the `also` row's, given as a second object)."""
    move = MOVES[action]
    refusal = _state_refusal(move, obj)
    if refusal is not None:  # the callers checked already: a changed row under the lock
        raise refusal.error()
    obj.status = move.target


def advance_also(obj, action):
    machine, sources, target = MOVES[action].also
    if obj.status not in sources:
        status = labels.label(STATUS_LABELS[machine], obj.status)
        raise WorkflowError(f"该协议书当前状态为“{status}”，不能解约", "R11")
    obj.status = target


def _state_refusal(move, obj):
    if move.sources is None or obj.status in move.sources:
        return None
    status = labels.label(STATUS_LABELS[move.machine], obj.status)
    return Refusal(move.refused_from.format(status=status), move.state_rule)


def describe():
    """The table as rows of text (docs/rules.md is checked against it)."""
    rows = []
    for action, move in MOVES.items():
        sources = "（新建）" if move.sources is None else "/".join(sorted(move.sources))
        guards = [g if g is STATE else getattr(g, "__name__", str(g)) for g in move.guards]
        rows.append((move.machine, action, sources, move.target, "/".join(move.actors),
                     ", ".join("STATE" if g is STATE else g for g in guards)))
    return rows

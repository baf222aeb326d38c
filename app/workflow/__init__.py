"""The rules and the transitions (docs/rules.md): the only code that assigns a `status`.

`table.py` is the whole rule: for every machine and action, the source statuses, the target, who
may act and the guards. `why_not(action, actor, obj, now)` answers "may this actor do this now,
and if not, why" without side effects; pages ask it to show and explain buttons, and every
transition function asks it (`check`) after taking its row locks, then writes the change, its
FlowEvent and the notices in one transaction. A refusal is a `WorkflowError` carrying a Chinese
message and the rule number; nothing is written then.

    base.py          time (R4), row locks, FlowEvents, the commit
    errors.py        WorkflowError, Refusal
    fields.py        pure field validation (R15)
    guards.py        the side-effect-free checks the table lists, and the rule predicates
    table.py         the transition table, why_not, check, advance
    offers.py        invite, accept, reject, amend, expiry
    review.py        certify, decline, withdraw, numbering, paper agreements
    terminations.py  request, agree, approve, refuse
    destinations.py  submit, withdraw, review
    market.py        网上就业市场: postings, a school hiding one, applications → offers (R16, R17)
    approvals.py     an employer's application to a school and its review

Functions that change no status live outside: `app.profiles` (单位注册, 签约信息确认) and
`app.students` (信息验证, 学生管理, 重置密码, 限制签约).
"""
from .approvals import apply_for_approval, review_employer
from .base import (
    effective_status,
    expired_clause,
    expiry_instant,
    overdue,
    pending_clause,
    posting_open_clause,
    posting_status,
    utc,
    version_of,
)
from .destinations import review_destination, submit_destination, withdraw_destination
from .errors import Refusal, WorkflowError
from .fields import (
    DESTINATION_FIELDS,
    DESTINATION_PROOF,
    PROFILE_FIELDS,
    TERM_FIELDS,
    TERM_LABELS,
    TERMINATION_REASON_MAX,
    terms_from_profile,
    valid_phone,
    validate_destination,
    validate_paper_terms,
    validate_terms,
)
from .guards import (
    FROZEN_IDENTITY,
    approved_terminations,
    cooling_off_ends,
    employer_offer_refusal,
    identity_frozen,
    identity_refusal,
    live_outcome_exists,
    login_block_reason,
    open_termination,
    student_block_reason,
    termination_limit,
)
from . import market
from .offers import accept, amend, employment_status, expire_due, invite, reject
from .review import agreement_number, certify, decline, record_paper_agreement, withdraw_certification
from .table import MOVES, STATE, allowed, check, may, why_not, why_not_each
from .terminations import (
    agree_termination,
    approve_termination,
    refuse_termination,
    request_termination,
)


def employer_may_offer(employer):
    """R1, raising: for the pages that stop an employer before the offer form."""
    refusal = employer_offer_refusal(employer)
    if refusal is not None:
        raise refusal.error()

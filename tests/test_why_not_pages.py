"""Pages ask the table (`workflow.why_not`) and explain instead of refusing late."""
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app import labels, workflow
from app.extensions import db
from app.models import Agreement, InviteListEntry
from tests.support.checks import count
from tests.support.factories import accepted_offer, make_student, offer, valid_terms
from tests.support.scenes import scene


@pytest.fixture
def w():
    return scene(student={"name": "黄河水"}, employer={"name": "星光集团"})


def _now():
    return datetime.now(timezone.utc)


def _form(terms):
    return {k: v.isoformat() if hasattr(v, "isoformat") else str(v) for k, v in terms.items()}


# ---------------------------------------------------------------- R5: 同意 disabled during the cooling-off

def test_offer_page_shows_accept_disabled_with_opening_time_during_cooling_off(client, login, w):
    agreement = offer(w.employer, w.student, now=_now() - timedelta(minutes=5))
    login(client, w.student_user.username)
    page = client.get(f"/student/offers/{agreement.id}").get_data(as_text=True)
    opens = labels.fmt_datetime(workflow.cooling_off_ends(agreement))
    assert re.search(r'<button class="btn btn-success" disabled[^>]*>同意</button>', page)
    assert "冷静期" in page and opens in page
    assert "现在签约" not in page and "签约前必读" not in page  # no dialog to read before the refusal
    assert "拒绝" in page  # rejecting needs no cooling-off


def test_offer_page_offers_accept_after_cooling_off(client, login, w):
    agreement = offer(w.employer, w.student, now=_now() - timedelta(hours=2))
    login(client, w.student_user.username)
    page = client.get(f"/student/offers/{agreement.id}").get_data(as_text=True)
    assert "签约前必读" in page and "现在签约" in page and "冷静期" not in page
    assert 'data-target="#sign-modal">同意</button>' in page


def test_offer_page_explains_r7_block_without_buttons(client, login, w):
    agreement = offer(w.employer, w.student, now=_now() - timedelta(hours=2))
    w.student.signing_restricted = True
    db.session.commit()
    login(client, w.student_user.username)
    page = client.get(f"/student/offers/{agreement.id}").get_data(as_text=True)
    assert "已被学校限制签约" in page and "现在签约" not in page


# ---------------------------------------------------------------- 签约发送列表: per-student state, partial batch

def _listed(employer, *students):
    for s in students:
        db.session.add(InviteListEntry(employer_id=employer.id, student_id=s.id))
    db.session.commit()


def test_invite_list_shows_each_students_state(client, login, w):
    busy = w.student
    free = make_student(w.school, name="长江水")
    offer(w.employer, busy, now=_now() - timedelta(hours=1))
    _listed(w.employer, busy, free)
    login(client, w.employer_user.username)
    page = client.get("/employer/list/").get_data(as_text=True)
    rows = {name: row for row in re.findall(r"<tr>.*?</tr>", page, re.S) for name in ("黄河水", "长江水") if name in row}
    assert "尚在应约有效期内" in rows["黄河水"] and "邀约</a>" not in rows["黄河水"]
    assert "可邀约" in rows["长江水"] and "邀约</a>" in rows["长江水"]


def test_batch_invite_sends_to_those_who_may_and_lists_the_skipped(client, login, w):
    busy = w.student
    free = make_student(w.school, name="长江水")
    restricted = make_student(w.school, name="珠江水", signing_restricted=True)
    first = offer(w.employer, busy, now=_now() - timedelta(hours=1))
    _listed(w.employer, busy, free, restricted)
    login(client, w.employer_user.username)
    ids = [busy.id, free.id, restricted.id]

    form = client.post("/employer/invite", data={"ids": ids}).get_data(as_text=True)
    assert 'id="skipped"' in form and "黄河水" in form and "珠江水" in form and "已被学校限制签约" in form

    data = {**_form(valid_terms()), "ids": ids, "step": "confirm"}
    response = client.post("/employer/invite", data=data)
    assert response.status_code == 302 and "/employer/offers/" in response.headers["Location"]
    sent = db.session.scalars(select(Agreement).where(Agreement.id != first.id)).all()
    assert [a.student_id for a in sent] == [free.id]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "共邀请1名学生" in page and "未向黄河水发送" in page and "未向珠江水发送" in page


def test_batch_invite_with_nobody_who_may_receive_sends_nothing(client, login, w):
    offer(w.employer, w.student, now=_now() - timedelta(hours=1))
    _listed(w.employer, w.student)
    login(client, w.employer_user.username)
    data = {**_form(valid_terms()), "ids": [w.student.id], "step": "confirm"}
    response = client.post("/employer/invite", data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith("/employer/list/")
    assert count(Agreement) == 1


# ---------------------------------------------------------------- school pages: buttons from the table

def test_review_page_hides_withdraw_while_a_termination_is_open(client, login, w):
    agreement = accepted_offer(w.employer, w.student)
    workflow.certify(w.reviewer, agreement)
    login(client, w.reviewer.username)
    page = client.get(f"/school/review/{agreement.id}").get_data(as_text=True)
    assert "撤回审核</button>" in page and "签约审核通过</button>" not in page
    workflow.request_termination(w.student, agreement, "考研")
    page = client.get(f"/school/review/{agreement.id}").get_data(as_text=True)
    assert "撤回审核</button>" not in page


def test_termination_page_hides_approve_when_the_limit_is_used(client, login, w, app):
    agreement = accepted_offer(w.employer, w.student)
    workflow.certify(w.reviewer, agreement)
    termination = workflow.request_termination(w.student, agreement, "考研")
    workflow.agree_termination(w.employer, termination)
    login(client, w.reviewer.username)
    page = client.get(f"/school/terminations/{termination.id}").get_data(as_text=True)
    assert "解约审核通过</button>" in page
    app.config["TERMINATION_LIMIT"] = 0
    try:
        page = client.get(f"/school/terminations/{termination.id}").get_data(as_text=True)
    finally:
        app.config["TERMINATION_LIMIT"] = 1
    assert "解约审核通过</button>" not in page and "解约机会已用完" in page and "解约审核不通过</button>" in page


def test_offers_list_shows_amend_only_where_the_table_allows_it(client, login, w):
    accepted = accepted_offer(w.employer, w.student, sent=_now() - timedelta(hours=3))
    other = make_student(w.school, name="长江水")
    pending = offer(w.employer, other, now=_now() - timedelta(hours=1))
    login(client, w.employer_user.username)
    amend = 'href="/employer/offers/{}/amend"'
    page = client.get("/employer/offers/?tab=accepted").get_data(as_text=True)
    assert amend.format(accepted.id) in page
    assert amend.format(pending.id) in client.get("/employer/offers/?tab=pending").get_data(as_text=True)
    offer(w.employer, w.student, now=_now() - timedelta(minutes=30))  # R3: a newer pending offer to her
    page = client.get("/employer/offers/?tab=accepted").get_data(as_text=True)
    assert amend.format(accepted.id) not in page


def test_signed_list_offers_termination_only_where_the_table_allows_it(client, login, w):
    agreement = accepted_offer(w.employer, w.student)
    workflow.certify(w.reviewer, agreement)
    login(client, w.employer_user.username)
    box = f'name="ids" value="{agreement.id}"'
    assert box in client.get("/employer/terminations/?tab=signed").get_data(as_text=True)
    workflow.request_termination(w.student, agreement, "考研")
    assert box not in client.get("/employer/terminations/?tab=signed").get_data(as_text=True)

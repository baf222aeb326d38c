"""The open API, /api/v1 (issue 21): keys, scoping (IDOR replay), problem documents, idempotency,
the rate limit, and each endpoint's answers and refusals."""
import pytest
from sqlalchemy import select

from app import apikeys
from app.extensions import db
from app.models import ApiAccessKey, ApiIdempotency, FlowEvent, Student
from tests.support.api import assert_problem, call, key_for, student_record
from tests.support.checks import count, reload
from tests.support.factories import make_employer, make_user

@pytest.fixture
def settle_now(app, monkeypatch):
    monkeypatch.setitem(app.config, "API_CHANGES_SETTLE_SECONDS", 0)


# ---------------------------------------------------------------- authentication

ENDPOINTS = [
    ("get", "/api/v1/school/students"), ("post", "/api/v1/school/students"), ("get", "/api/v1/school/agreements"),
    ("post", "/api/v1/school/agreements/1/certify"), ("post", "/api/v1/school/agreements/1/decline"),
    ("get", "/api/v1/province/statistics"), ("get", "/api/v1/changes"),
]


@pytest.mark.parametrize("method,url", ENDPOINTS)
def test_every_endpoint_needs_a_key(w, client, login, method, url):
    assert_problem(call(client, method, url), 401, "unauthenticated")
    assert_problem(call(client, method, url, "jyk_00000000_" + "A" * 43), 401)
    assert_problem(call(client, method, url, headers={"Authorization": "Basic YWRtaW46YWRtaW4="}), 401)
    login(client, w.reviewer.username)  # a browser session is no way in either
    assert_problem(call(client, method, url), 401)


def test_expired_revoked_foreign_address_and_inactive_logins_are_refused(w, client):
    expired = key_for(w.reviewer, expires_days=1)
    db.session.execute(ApiAccessKey.__table__.update().values(expires_at=ApiAccessKey.created_at))
    db.session.commit()
    assert_problem(call(client, "get", "/api/v1/school/students", expired), 401)
    narrow = key_for(w.reviewer, ip_allow="203.0.113.0/24")
    assert_problem(call(client, "get", "/api/v1/school/students", narrow), 401)
    local = key_for(w.reviewer, ip_allow="127.0.0.1, 10.0.0.0/8")
    assert call(client, "get", "/api/v1/school/students", local).status_code == 200
    revoked = key_for(w.reviewer, name="旧系统")
    apikeys.revoke_key(w.reviewer, db.session.scalar(select(ApiAccessKey.id).where(ApiAccessKey.name == "旧系统")))
    assert_problem(call(client, "get", "/api/v1/school/students", revoked), 401)
    w.reviewer.active = False
    db.session.commit()
    assert_problem(call(client, "get", "/api/v1/school/students", local), 401)


def test_a_scope_the_key_lacks_is_403_and_another_partys_endpoint_404(w, client):
    reader = key_for(w.reviewer, ["students:read"])
    body = assert_problem(call(client, "post", "/api/v1/school/agreements/1/certify", reader), 403,
                          "insufficient-scope")
    assert body["scope"] == "agreements:review"
    province = key_for(make_user("province"), ["statistics:read", "changes:read"])
    assert_problem(call(client, "get", "/api/v1/school/students", province), 404)
    employer = key_for(w.employer_user, ["changes:read"])
    assert_problem(call(client, "get", "/api/v1/province/statistics", employer), 404)


def test_password_login_on_the_api_stays_closed(client):
    assert client.post("/api/v1/security/login", json={"username": "admin", "password": "x",
                                                        "provider": "db"}).status_code == 404


def test_unknown_api_paths_answer_in_problem_documents(w, client):
    assert_problem(call(client, "get", "/api/v1/nothing", key_for(w.reviewer)), 404)


def test_the_rate_limit_answers_429_with_retry_after(w, client, app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_ENABLED", True)
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    token, other = key_for(w.reviewer), key_for(w.reviewer, name="另一个")
    for _ in range(3):
        assert call(client, "get", "/api/v1/school/students", token).status_code == 200
    response = call(client, "get", "/api/v1/school/students", token)
    assert_problem(response, 429, "rate-limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert call(client, "get", "/api/v1/school/students", other).status_code == 200  # per key


# ---------------------------------------------------------------- school: students

def test_students_are_listed_paged_and_masked(w, client):
    token = key_for(w.reviewer)
    body = call(client, "get", "/api/v1/school/students?size=1&page=1", token).get_json()
    assert body["total"] == 1 and body["page"] == 1 and body["size"] == 1
    item = body["items"][0]
    assert item["student_no"] == w.student.student_no
    assert item["id_number"] != w.student.id_number and "*" in item["id_number"]
    assert "****" in item["phone"] and w.student.phone not in str(body)
    problem = assert_problem(call(client, "get", "/api/v1/school/students?page=x&size=1000", token), 400, "invalid-input")
    assert {e["field"] for e in problem["errors"]} == {"page", "size"}


def test_upsert_creates_updates_and_reports_each_row(w, client):
    token = key_for(w.reviewer)
    rows = [student_record(1), student_record(2, training_mode="non_targeted")]
    body = call(client, "post", "/api/v1/school/students", token, json={"students": rows}).get_json()
    assert (body["created"], body["updated"], body["refused"]) == (2, 0, 0)
    assert [r["status"] for r in body["rows"]] == ["created", "created"]
    rows[0]["major"] = "人工智能"
    body = call(client, "post", "/api/v1/school/students", token, json={"students": rows}).get_json()
    assert [r["status"] for r in body["rows"]] == ["updated", "unchanged"]
    assert db.session.scalar(select(Student.major).where(Student.student_no == rows[0]["student_no"])) == "人工智能"


def test_upsert_refuses_bad_rows_with_their_fields_and_writes_nothing(w, client):
    token = key_for(w.reviewer)
    rows = [student_record(3), student_record(4, id_number="123", phone="1")]
    body = assert_problem(call(client, "post", "/api/v1/school/students", token, json={"students": rows}), 400,
                          "invalid-rows")
    assert body["refused"] == 1 and body["rows"][0]["row"] == 2
    assert {e["field"] for e in body["rows"][0]["errors"]} >= {"id_number", "phone"}
    assert count(Student) == 1  # w.student only
    body = call(client, "post", "/api/v1/school/students", token,
                json={"students": rows, "valid_only": True}).get_json()
    assert [r["status"] for r in body["rows"]] == ["created", "refused"] and count(Student) == 2


def test_upsert_keeps_a_signed_students_identity_frozen(signed, client):
    token = key_for(signed.reviewer)
    s = signed.student
    record = student_record(5, student_no=s.student_no, name="改名字", id_number=s.id_number, gender=s.gender,
                            phone=s.phone, email=s.email)
    body = assert_problem(call(client, "post", "/api/v1/school/students", token, json={"students": [record]}), 400)
    assert "R19" in str(body) or "协议" in str(body)
    assert reload(s).name != "改名字"


def test_upsert_refuses_malformed_bodies(w, client):
    token = key_for(w.reviewer)
    for payload in ({"students": []}, {"students": "x"}, {"students": [1]}, {"students": [{"nope": 1}]},
                    {"students": [student_record(6)], "valid_only": "yes"}, {"students": [{"name": ["a"]}]}):
        assert_problem(call(client, "post", "/api/v1/school/students", token, json=payload), 400, "invalid-input")
    response = call(client, "post", "/api/v1/school/students", token, data="not json",
                    headers={"Content-Type": "application/json"})
    assert_problem(response, 400, "invalid-input")


def test_upsert_with_an_idempotency_key_writes_once(w, client):
    token = key_for(w.reviewer)
    payload = {"students": [student_record(7)]}
    headers = {"Idempotency-Key": "roster-2026-12-01"}
    first = call(client, "post", "/api/v1/school/students", token, json=payload, headers=headers)
    again = call(client, "post", "/api/v1/school/students", token, json=payload, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["created"] == 1 and count(Student) == 2
    other = call(client, "post", "/api/v1/school/students", token, json={"students": [student_record(8)]},
                 headers=headers)
    assert_problem(other, 422, "idempotency-key-reused")
    assert count(Student) == 2
    # another key's Idempotency-Key space is its own
    fresh = call(client, "post", "/api/v1/school/students", key_for(w.reviewer, name="二"), json=payload,
                 headers=headers)
    assert fresh.status_code == 200 and "Idempotent-Replayed" not in fresh.headers
    assert count(ApiIdempotency) == 2


def test_a_failed_idempotent_call_leaves_the_key_free(w, client):
    token = key_for(w.reviewer)
    headers = {"Idempotency-Key": "k1"}
    assert_problem(call(client, "post", "/api/v1/school/students", token, json={"students": "x"}, headers=headers), 400)
    assert count(ApiIdempotency) == 0
    ok = call(client, "post", "/api/v1/school/students", token, json={"students": [student_record(9)]}, headers=headers)
    assert ok.status_code == 200


# ---------------------------------------------------------------- school: agreements

def test_agreements_are_listed_with_filters(client):
    from tests.support.scenes import scene

    w = scene("accepted", students=2, other_school=True)
    token = key_for(w.reviewer)
    body = call(client, "get", "/api/v1/school/agreements?status=accepted", token).get_json()
    assert body["total"] == 2 and {a["id"] for a in body["items"]} == {a.id for a in w.agreements}
    assert body["items"][0]["status"] == "accepted"
    named = call(client, "get", f"/api/v1/school/agreements?name={w.students[1].student_no}", token).get_json()
    assert [a["id"] for a in named["items"]] == [w.agreements[1].id]
    assert call(client, "get", "/api/v1/school/agreements?status=certified", token).get_json()["total"] == 0
    assert_problem(call(client, "get", "/api/v1/school/agreements?status=bogus", token), 400, "invalid-input")
    assert call(client, "get", "/api/v1/school/agreements", key_for(w.other_reviewer)).get_json()["total"] == 0


def test_certify_through_the_api_numbers_the_agreement_and_names_the_key(client):
    from tests.support.scenes import scene

    w = scene("accepted")
    token = key_for(w.reviewer)
    response = call(client, "post", f"/api/v1/school/agreements/{w.agreement.id}/certify", token)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "certified" and body["number"]
    event = db.session.scalar(select(FlowEvent).where(FlowEvent.action == "certify"))
    key = db.session.scalar(select(ApiAccessKey))
    assert event.api_key_id == key.id and event.user_id == w.reviewer.id
    again = assert_problem(call(client, "post", f"/api/v1/school/agreements/{w.agreement.id}/certify", token), 409,
                           "refused")
    assert again["rule"] and again["action"] == "certify"


def test_decline_needs_a_reason_and_is_recorded(client):
    from tests.support.scenes import scene

    w = scene("accepted")
    token = key_for(w.reviewer)
    url = f"/api/v1/school/agreements/{w.agreement.id}/decline"
    body = assert_problem(call(client, "post", url, token, json={}), 400, "invalid-input")
    assert body["errors"] and reload(w.agreement).status == "accepted"
    assert_problem(call(client, "post", url, token, json={"reason": 5}), 400)
    response = call(client, "post", url, token, json={"reason": "材料不全"})
    assert response.status_code == 200 and response.get_json()["status"] == "declined"
    assert response.get_json()["review_reason"] == "材料不全"
    assert_problem(call(client, "post", url, token, json={"reason": "再次"}), 409, "refused")


def test_idor_replay_another_schools_key_gets_404_and_changes_nothing(client):
    from tests.support.scenes import scene

    w = scene("accepted", other_school=True)
    mine, theirs = key_for(w.reviewer), key_for(w.other_reviewer)
    calls = [("post", f"/api/v1/school/agreements/{w.agreement.id}/certify", None),
             ("post", f"/api/v1/school/agreements/{w.agreement.id}/decline", {"reason": "越权"}),
             ("post", "/api/v1/school/agreements/999999/certify", None)]
    for method, url, payload in calls:
        assert_problem(call(client, method, url, theirs, json=payload), 404, "not-found")
    assert reload(w.agreement).status == "accepted"
    listed = call(client, "get", f"/api/v1/school/students?student_no={w.student.student_no}", theirs).get_json()
    assert listed["total"] == 0
    assert call(client, "get", f"/api/v1/school/students?student_no={w.student.student_no}", mine).get_json()["total"] == 1
    # an employer's or the province's key on the school's routes: not there for them
    for token in (key_for(w.employer_user, ["changes:read"]), key_for(make_user("province"), ["changes:read"])):
        assert_problem(call(client, "post", calls[0][1], token), 404)


# ---------------------------------------------------------------- changes

def test_the_changes_feed_is_scoped_and_cursor_paged(client, settle_now):
    from tests.support.scenes import scene

    w = scene("certified", students=3, other_school=True)
    school = key_for(w.reviewer)
    seen, since = [], "0"
    while True:
        body = call(client, "get", f"/api/v1/changes?since={since}&limit=2", school).get_json()
        seen += body["items"]
        since = body["next"]
        if not body["has_more"]:
            break
    assert [e["action"] for e in seen].count("certify") == 3
    assert [int(e["cursor"]) for e in seen] == sorted(int(e["cursor"]) for e in seen)
    assert all(e["agreement"]["status"] == "certified" for e in seen)
    tail = call(client, "get", f"/api/v1/changes?since={since}", school).get_json()
    assert tail["items"] == [] and tail["next"] == since and not tail["has_more"]
    assert call(client, "get", "/api/v1/changes", key_for(w.other_reviewer)).get_json()["items"] == []
    employer = call(client, "get", "/api/v1/changes?limit=500", key_for(w.employer_user, ["changes:read"])).get_json()
    assert len(employer["items"]) == len(seen)
    other_employer = make_employer(approved_by=w.school)
    assert call(client, "get", "/api/v1/changes", key_for(make_user("employer", other_employer), ["changes:read"])
                ).get_json()["items"] == []
    province = call(client, "get", "/api/v1/changes?limit=500", key_for(make_user("province"), ["changes:read"]))
    assert len(province.get_json()["items"]) == len(seen)
    for bad in ("since=-1", "since=abc", "limit=0", "limit=501"):
        assert_problem(call(client, "get", f"/api/v1/changes?{bad}", school), 400, "invalid-input")


def test_the_changes_feed_waits_for_fresh_events_to_settle(client, app, monkeypatch):
    from tests.support.scenes import scene

    w = scene("certified")  # events dated NOW (2026-05-11), long settled
    monkeypatch.setitem(app.config, "API_CHANGES_SETTLE_SECONDS", 60)
    token = key_for(w.reviewer)
    assert call(client, "get", "/api/v1/changes", token).get_json()["items"]
    from app import workflow

    workflow.withdraw_certification(w.reviewer, reload(w.agreement), "撤回重审")  # now: not yet settled
    actions = [e["action"] for e in call(client, "get", "/api/v1/changes?limit=500", token).get_json()["items"]]
    assert "withdraw" not in actions


# ---------------------------------------------------------------- province

def test_province_statistics_are_the_dashboards_figures(client):
    from tests.support.scenes import scene

    w = scene("certified")
    token = key_for(make_user("province"), ["statistics:read"])
    response = call(client, "get", "/api/v1/province/statistics?year=2026", token)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    from app import stats

    data, _at = stats.dashboard(stats.Filters(year=2026)), None
    assert body["summary"]["graduates"] == data["summary"]["graduates"] == 1
    assert body["filters"] == {"year": 2026} and body["tables"]["by_school"][0]["school_code"] == w.school.code
    assert_problem(call(client, "get", "/api/v1/province/statistics?year=abc", token), 400, "invalid-input")


# ---------------------------------------------------------------- the OpenAPI document

def test_the_openapi_document_lists_every_endpoint_with_key_security(client, login):
    make_user("admin", username="root")
    assert client.get("/api/v1/_openapi").status_code == 401
    login(client, "root")
    response = client.get("/api/v1/_openapi")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["components"]["securitySchemes"]["api_key"]["scheme"] == "bearer"
    assert "Problem" in spec["components"]["schemas"]
    ours = {path: ops for path, ops in spec["paths"].items()
            if path.startswith(("/api/v1/school", "/api/v1/province", "/api/v1/changes"))}
    assert {(m, p) for p, ops in ours.items() for m in ops} == {
        ("get", "/api/v1/school/students"), ("post", "/api/v1/school/students"),
        ("get", "/api/v1/school/agreements"), ("post", "/api/v1/school/agreements/{agreement_id}/certify"),
        ("post", "/api/v1/school/agreements/{agreement_id}/decline"), ("get", "/api/v1/province/statistics"),
        ("get", "/api/v1/changes")}
    for ops in ours.values():
        for op in ops.values():
            assert op["security"] == [{"api_key": []}] and "401" in op["responses"] and "429" in op["responses"]
    assert client.get("/swagger/v1").status_code == 200


def test_an_idempotency_key_left_by_a_dead_request_is_taken_over(w, client):
    """A process that died mid-request leaves its Idempotency-Key unanswered: within
    API_IDEMPOTENCY_STALE_SECONDS the key answers 409 (the request may still run); after that the
    next request with it runs — before, it answered 409 forever."""
    import hashlib
    import json
    from datetime import timedelta

    from app.models import utcnow

    token = key_for(w.reviewer)
    key_id = db.session.scalar(select(ApiAccessKey.id).order_by(ApiAccessKey.id.desc()))
    payload = {"students": [student_record(11)]}
    body = json.dumps(payload).encode()
    fingerprint = hashlib.sha256(b"POST /api/v1/school/students\n" + body).hexdigest()
    db.session.add(ApiIdempotency(api_key_id=key_id, idem_key="dead", request_hash=fingerprint,
                                  created_at=utcnow() - timedelta(seconds=60)))
    db.session.commit()
    headers = {"Idempotency-Key": "dead", "Content-Type": "application/json"}
    assert_problem(call(client, "post", "/api/v1/school/students", token, data=body, headers=headers), 409,
                   "idempotency-in-progress")
    db.session.execute(ApiIdempotency.__table__.update().values(created_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    taken = call(client, "post", "/api/v1/school/students", token, data=body, headers=headers)
    assert taken.status_code == 200 and taken.get_json()["created"] == 1
    again = call(client, "post", "/api/v1/school/students", token, data=body, headers=headers)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"

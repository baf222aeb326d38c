"""Per-account lockout (issue 16): LOGIN_LOCK_THRESHOLD failures in a row lock the login, whatever
the form (account, 学号, 身份证号) or the client's address, in the database (no Redis needed).

Decision on enumeration: a locked login is told so ("账号已被暂时锁定，请于HH:MM之后再试") so its owner
knows what happened; an unknown username always gets "账号或密码不正确". That tells an attacker who
makes 5 failed attempts that a username exists; usernames are not treated as secret (a student's
is 院校代码-学号), while 单位注册 does not say which user name, e-mail or credit code is taken. The
password stays unguessable: a locked login is refused without its password being checked.
"""
import os
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import AppUser, LoginEvent, UserSession, utcnow
from tests.support.checks import count, reload
from tests.support.concurrency import at_once
from tests.support.factories import PASSWORD, make_user

LOCKED = "账号已被暂时锁定"
WRONG = "账号或密码不正确"


def attempt(client, username, password, addr="192.0.2.1", forwarded=None, **form):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    response = client.post("/login/", data={"username": username, "password": password, **form},
                           headers=headers, environ_base={"REMOTE_ADDR": addr})
    logged_in = response.status_code == 302 and not response.headers["Location"].startswith("/login")
    message = "" if logged_in else client.get(response.headers["Location"]).get_data(as_text=True)
    return logged_in, message


def fail(client, username, times, **kw):
    for _ in range(times):
        logged_in, _message = attempt(client, username, "Wrong-Passw0rd", **kw)
        assert not logged_in


def test_five_failures_lock_the_login_even_for_the_right_password(client, w):
    username = w.employer_user.username
    for _ in range(4):
        assert WRONG in attempt(client, username, "Wrong-Passw0rd")[1]
    assert LOCKED in attempt(client, username, "Wrong-Passw0rd")[1]
    logged_in, message = attempt(client, username, PASSWORD)
    assert not logged_in and LOCKED in message
    assert count(UserSession) == 0
    user = reload(w.employer_user)
    assert user.locked_until is not None and user.lock_count == 1
    kinds = [e.kind for e in db.session.query(LoginEvent).order_by(LoginEvent.id)]
    assert kinds == ["failure"] * 5 + ["lockout"]


def test_forty_guesses_do_not_reach_the_password(client, w):
    """The finding: 40 wrong then the right one → logged in. Now the 6th…41st are not even checked."""
    username = w.employer_user.username
    fail(client, username, 40)
    assert not attempt(client, username, PASSWORD)[0]
    assert count(LoginEvent, LoginEvent.kind == "failure") == 5


def test_the_lock_holds_across_forms_and_addresses(client, w):
    student = w.student
    fail(client, w.student_user.username, 2, addr="198.51.100.1")
    fail(client, student.student_no, 1, addr="198.51.100.2", forwarded="203.0.113.9", mode="student",
         school=w.school.id)
    fail(client, student.id_number, 1, addr="198.51.100.3", forwarded="203.0.113.10", mode="student",
         school=w.school.id)
    fail(client, w.student_user.email, 1, addr="198.51.100.4")  # FAB also logs in by e-mail
    for username, form in [(w.student_user.username, {}),
                           (student.student_no, {"mode": "student", "school": w.school.id}),
                           (student.id_number, {"mode": "student", "school": w.school.id})]:
        logged_in, message = attempt(client, username, PASSWORD, addr="198.51.100.99", **form)
        assert not logged_in and LOCKED in message
    ips = {e.ip for e in db.session.query(LoginEvent).filter_by(kind="failure")}
    assert ips == {"198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"}


def test_a_success_starts_the_count_again(client, login, w):
    username = w.employer_user.username
    fail(client, username, 4)
    login(client, username)
    client.post("/logout/")
    fail(client, username, 4)
    assert attempt(client, username, PASSWORD)[0]


def test_the_lock_ends_by_time_and_doubles(app, client, clock, w):
    username = w.employer_user.username
    fail(client, username, 5)
    first = reload(w.employer_user).locked_until
    clock(seconds=30)
    assert not attempt(client, username, PASSWORD)[0]
    clock(seconds=61)
    fail(client, username, 5)
    second = reload(w.employer_user)
    assert second.lock_count == 2
    moment = utcnow() + timedelta(seconds=61)
    assert abs((second.locked_until - moment) - timedelta(seconds=120)) < timedelta(seconds=5)
    assert second.locked_until > first
    clock(seconds=61 + 121)
    assert attempt(client, username, PASSWORD)[0]
    assert reload(w.employer_user).lock_count == 0


def test_the_lock_is_capped(app, client, w):
    user = db.session.get(AppUser, w.employer_user.id)
    user.lock_count = 20
    db.session.commit()
    fail(client, w.employer_user.username, 5)
    until = reload(w.employer_user).locked_until
    assert timedelta(minutes=59) < until - utcnow() <= timedelta(hours=1)


def test_the_lock_holds_with_redis_down(app, client, monkeypatch, w):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setitem(app.config, "RATELIMIT_STORAGE_URI", "redis://127.0.0.1:1/0")
    assert not app.config["RATELIMIT_ENABLED"]
    fail(client, w.employer_user.username, 5)
    assert not attempt(client, w.employer_user.username, PASSWORD)[0]


def test_unknown_usernames_get_the_plain_refusal(client, w):
    for _ in range(8):
        logged_in, message = attempt(client, "no-such-login", "Wrong-Passw0rd")
        assert not logged_in and WRONG in message and LOCKED not in message
    assert count(LoginEvent) == 0


def test_settings(app):
    assert (app.config["LOGIN_LOCK_THRESHOLD"], app.config["LOGIN_LOCK_BASE_SECONDS"],
            app.config["LOGIN_LOCK_MAX_SECONDS"]) == (5, 60, 3600)


# ---------------------------------------------------------------- the administrator

def test_the_admin_sees_the_lock_and_unlocks(app, client, login, w):
    username = w.employer_user.username
    fail(client, username, 5)
    admin_user = make_user("admin")
    admin = app.test_client()
    login(admin, admin_user.username)
    page = admin.get("/users/list/").get_data(as_text=True)
    assert "锁定至" in page and "解除锁定" in page
    response = admin.post("/users/action_post", data={"action": "unlock", "rowid": [w.employer_user.id]})
    assert response.status_code == 302
    user = reload(w.employer_user)
    assert user.locked_until is None and user.lock_count == 0 and not user.fail_login_count
    [event] = db.session.query(LoginEvent).filter_by(kind="unlock").all()
    assert event.user_id == user.id and event.actor_id == admin_user.id
    assert attempt(client, username, PASSWORD)[0]


def test_only_the_admin_unlocks(app, client, login, w):
    fail(client, w.employer_user.username, 5)
    login(client, w.reviewer.username)
    client.post("/users/action_post", data={"action": "unlock", "rowid": [w.employer_user.id]})
    assert reload(w.employer_user).locked_until is not None


def test_fabs_single_row_action_route_is_closed(app, login, w):
    admin = app.test_client()
    login(admin, make_user("admin").username)
    fail(app.test_client(), w.employer_user.username, 5)
    assert admin.get(f"/users/action/unlock/{w.employer_user.id}").status_code == 404
    assert reload(w.employer_user).locked_until is not None


def test_the_admin_reads_the_login_events(app, client, login, w):
    fail(client, w.employer_user.username, 5)
    admin = app.test_client()
    login(admin, make_user("admin").username)
    page = admin.get("/admin/login-events/list/").get_data(as_text=True)
    assert "登录记录" in page and "密码错误" in page and "锁定" in page and w.employer_user.username in page
    assert "192.0.2.1" in page
    login(client, w.reviewer.username)
    response = client.get("/admin/login-events/list/")
    assert response.status_code != 200 or w.employer_user.username not in response.get_data(as_text=True)


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                    reason="racing logins need PostgreSQL (SQLite serialises writers)")
def test_parallel_guesses_do_not_slip_past_the_threshold(app, w):
    """Twenty guesses at once: each attempt is counted before its password is checked, in one
    UPDATE that refuses past the threshold, so at most LOGIN_LOCK_THRESHOLD are checked."""
    username = w.employer_user.username

    def guess():
        client = app.test_client()
        response = client.post("/login/", data={"username": username, "password": "Wrong-Passw0rd"})
        return response.status_code

    assert set(at_once(app, guess, times=20)) == {302}
    assert count(LoginEvent, LoginEvent.kind == "failure") <= 5
    assert reload(w.employer_user).locked_until is not None


def test_the_students_school_sees_the_lock_and_unlocks_it(client, w, login):
    """The account's school (not only the administrator) sees the lock and may end it early."""
    from tests.support.factories import logout

    fail(client, w.student_user.username, 5)
    login(client, w.reviewer.username)
    page = client.get(f"/school/students/show/{w.student.id}").get_data(as_text=True)
    assert 'id="login-state"' in page and "已锁定" in page and "解除登录锁定" in page
    response = client.post(f"/school/students/{w.student.id}/unlock")
    assert response.status_code == 302
    user = reload(w.student_user)
    assert user.locked_until is None and user.fail_login_count == 0
    event = db.session.query(LoginEvent).order_by(LoginEvent.id.desc()).first()
    assert (event.kind, event.actor_id) == ("unlock", w.reviewer.id)
    assert "已锁定" not in client.get(f"/school/students/show/{w.student.id}").get_data(as_text=True)
    logout(client)
    fail(client, w.student_user.username, 5)
    login(client, w.other_reviewer.username)  # another school: not its student
    assert client.post(f"/school/students/{w.student.id}/unlock").status_code == 404
    assert reload(w.student_user).locked_until is not None

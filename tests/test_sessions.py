"""Sessions you can revoke (issue 16): a user_session row per login, checked on every request.

The clock of sessions is `app.security.now`; tests move it with `clock`. Cookies are copied
between test clients to play "someone saved the cookie" (a shared computer, a stolen cookie).
"""
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from app.extensions import db
from app.models import AppUser, UserSession
from app.passwords import password_hash
from tests.support.checks import count, reload
from tests.support.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[1]
PAGE = "/employer/offers/"
NEW_PASSWORD = "Neu-Passw0rd!"


def copy_cookies(source, target):
    for cookie in source._cookies.values():
        target.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)


def sent_to_login(response):
    return response.status_code == 302 and response.headers["Location"].startswith("/login/")


def second_client(app):
    return app.test_client()


# ---------------------------------------------------------------- the API login

def test_api_password_login_and_refresh_are_gone(client, w):
    for _ in range(3):
        wrong = client.post("/api/v1/security/login", json={"username": w.employer_user.username,
                                                             "password": "wrong", "provider": "db"})
        assert wrong.status_code == 404
    right = client.post("/api/v1/security/login", json={"username": w.employer_user.username,
                                                         "password": PASSWORD, "provider": "db", "refresh": True})
    assert right.status_code == 404 and "access_token" not in right.get_data(as_text=True)
    assert client.post("/api/v1/security/refresh").status_code == 404


def test_api_does_not_log_in_a_student_the_web_login_refuses(client, w):
    w.student.training_mode = "targeted"
    db.session.commit()
    response = client.post("/api/v1/security/login", json={"username": w.student_user.username,
                                                            "password": PASSWORD, "provider": "db"})
    assert response.status_code == 404


# ---------------------------------------------------------------- logout

def test_a_cookie_saved_before_logout_no_longer_opens_pages(app, client, login, w):
    login(client, w.employer_user.username)
    assert client.get(PAGE).status_code == 200
    thief = second_client(app)
    copy_cookies(client, thief)
    assert thief.get(PAGE).status_code == 200  # the copy works while the session lives

    assert sent_to_login(client.post("/logout/"))
    assert sent_to_login(client.get(PAGE))
    response = thief.get(PAGE)
    assert sent_to_login(response)
    page = thief.get(response.headers["Location"]).get_data(as_text=True)
    assert "登录已过期，请重新登录" in page
    assert count(UserSession, UserSession.end_reason == "logout") == 1


def test_logout_by_get_only_asks(client, login, w):
    login(client, w.employer_user.username)
    page = client.get("/logout/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "确定退出登录吗" in html and 'method="post"' in html
    assert client.get(PAGE).status_code == 200  # still logged in
    assert count(UserSession, UserSession.ended_at.is_(None)) == 1


def test_logout_post_needs_the_csrf_token(app, client, login, monkeypatch, w):
    login(client, w.employer_user.username)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.post("/logout/").status_code == 400
    assert client.get(PAGE).status_code == 200


def test_the_navbar_logs_out_with_a_post_form(client, login, w):
    login(client, w.employer_user.username)
    html = client.get(PAGE).get_data(as_text=True)
    assert '<form method="post" action="/logout/"' in html
    assert 'href="/logout/"' not in html


# ---------------------------------------------------------------- records

@pytest.mark.parametrize("form", ["account", "student_no", "id_number"])
def test_every_login_form_creates_a_session_record(client, w, form):
    if form == "account":
        data = {"username": w.student_user.username, "password": PASSWORD}
    else:
        account = w.student.student_no if form == "student_no" else w.student.id_number
        data = {"mode": "student", "school": w.school.id, "username": account, "password": PASSWORD}
    response = client.post("/login/", data=data, headers={"User-Agent": "测试浏览器/1.0"},
                           environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 302 and not response.headers["Location"].startswith("/login")
    [record] = db.session.query(UserSession).all()
    assert record.user_id == w.student_user.id and record.ended_at is None
    assert record.ip == "10.1.2.3" and record.user_agent == "测试浏览器/1.0"
    with client.session_transaction() as sess:
        token = sess["_sid"]
    assert len(token) >= 43 and record.token_hash != token  # 256 random bits; only their SHA-256 stored


def test_a_session_cookie_without_a_record_is_not_a_login(app, client, w):
    """Flask's signed cookie alone (e.g. made before this release, or by someone holding the
    SECRET_KEY's old cookies) carries no session record: not logged in."""
    with client.session_transaction() as sess:
        sess["_user_id"] = str(w.employer_user.id)
        sess["_fresh"] = True
    assert sent_to_login(client.get(PAGE))


def test_the_remember_cookie_is_not_honoured(app, client, w):
    from flask_login.utils import encode_cookie

    with app.test_request_context():
        value = encode_cookie(str(w.employer_user.id))
    client.set_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"), value)
    response = client.get(PAGE)
    assert sent_to_login(response)


# ---------------------------------------------------------------- password change

def change_password(client, old=PASSWORD, new=NEW_PASSWORD):
    return client.post("/account/password", data={"old_password": old, "new_password": new,
                                                   "new_password2": new})


def test_a_password_change_ends_the_other_sessions(app, client, login, w):
    login(client, w.employer_user.username)
    other = second_client(app)
    login(other, w.employer_user.username)
    saved = second_client(app)
    copy_cookies(other, saved)
    assert other.get(PAGE).status_code == 200

    response = change_password(client)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert client.get(PAGE).status_code == 200  # the session that changed it goes on
    assert sent_to_login(other.get(PAGE))
    assert sent_to_login(saved.get(PAGE))
    assert count(UserSession, UserSession.end_reason == "password") == 1


def test_a_password_set_anywhere_ends_every_session_of_that_login(app, client, login, w):
    """An administrator's reset, FAB's reset views, a later 忘记密码: any new password hash."""
    login(client, w.employer_user.username)
    user = db.session.get(AppUser, w.employer_user.id)
    user.password = password_hash(NEW_PASSWORD)
    db.session.commit()
    assert sent_to_login(client.get(PAGE))


def test_fabs_reset_password_ends_the_users_sessions(app, client, login, w):
    """FAB's ResetPasswordView (an administrator) and ResetMyPasswordView both call reset_password."""
    login(client, w.employer_user.username)
    app.appbuilder.sm.reset_password(w.employer_user.id, NEW_PASSWORD)
    assert sent_to_login(client.get(PAGE))


# ---------------------------------------------------------------- timeouts

def test_idle_timeout(app, client, login, clock, w):
    login(client, w.employer_user.username)
    clock(minutes=29)
    assert client.get(PAGE).status_code == 200  # touches last_seen_at
    clock(minutes=29 + 29)
    assert client.get(PAGE).status_code == 200
    clock(minutes=29 + 29 + 31)
    response = client.get(PAGE)
    assert sent_to_login(response)
    assert "next=/employer/offers/" in response.headers["Location"]
    assert count(UserSession, UserSession.end_reason == "idle") == 1
    assert sent_to_login(client.get(PAGE))


def test_last_seen_is_written_at_most_once_a_minute(client, login, clock, w):
    login(client, w.employer_user.username)
    first = db.session.query(UserSession).one().last_seen_at
    clock(seconds=30)
    client.get(PAGE)
    assert reload(db.session.query(UserSession).one()).last_seen_at == first
    clock(seconds=61)
    client.get(PAGE)
    assert db.session.query(UserSession).one().last_seen_at > first


def test_absolute_lifetime(app, client, login, clock, monkeypatch, w):
    monkeypatch.setitem(app.config, "SESSION_ABSOLUTE_HOURS", 1)
    login(client, w.employer_user.username)
    for minutes in (20, 40, 59):
        clock(minutes=minutes)
        assert client.get(PAGE).status_code == 200
    clock(minutes=61)
    assert sent_to_login(client.get(PAGE))
    assert count(UserSession, UserSession.end_reason == "expired") == 1


def test_the_default_lifetimes(app):
    assert app.config["SESSION_ABSOLUTE_HOURS"] == 12 and app.config["SESSION_IDLE_MINUTES"] == 30
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)


# ---------------------------------------------------------------- changes to the login

def test_a_deactivated_login_is_out_at_the_next_request(client, login, w):
    login(client, w.employer_user.username)
    user = db.session.get(AppUser, w.employer_user.id)
    user.active = False
    db.session.commit()
    response = client.get(PAGE)
    assert sent_to_login(response)
    assert "账号已停用" in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("change", [{"training_mode": "targeted"}, {"plan_submitted": True}])
def test_a_student_blocked_by_r7_is_out_at_the_next_request(client, login, w, change):
    login(client, w.student_user.username)
    assert client.get("/student/").status_code == 200
    for key, value in change.items():
        setattr(w.student, key, value)
    db.session.commit()
    response = client.get("/student/")
    assert sent_to_login(response)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "登录网签系统签约" in page
    assert count(UserSession, UserSession.end_reason == "blocked") == 1


def test_a_login_starts_a_new_cookie_session(app, client, login, w):
    """Whatever the cookie held before the login is dropped (no session fixation)."""
    with client.session_transaction() as sess:
        sess["planted"] = "x"
    login(client, w.employer_user.username)
    with client.session_transaction() as sess:
        assert "planted" not in sess


# ---------------------------------------------------------------- cookie settings

def settings_with(base_url):
    env = dict(os.environ, PUBLIC_BASE_URL=base_url, PYTHONPATH=str(ROOT), SECRET_KEY="x")
    code = ("import config; print(getattr(config, 'SESSION_COOKIE_SECURE', False), "
            "getattr(config, 'SESSION_COOKIE_NAME', 'session'), getattr(config, 'REMEMBER_COOKIE_SECURE', False))")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True).stdout.split()


def test_https_deployments_get_secure_host_only_cookies():
    assert settings_with("https://jiuye.example.cn") == ["True", "__Host-session", "True"]
    assert settings_with("http://127.0.0.1:8080") == ["False", "session", "False"]


def test_the_session_cookie_is_httponly_and_lax(client, w):
    response = client.post("/login/", data={"username": w.employer_user.username, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Expires" not in cookie  # a browser-session cookie: closing the browser ends it


def test_after_a_timeout_the_login_form_logs_in_at_once(client, login, clock, w):
    login(client, w.employer_user.username)
    clock(minutes=31)
    response = client.post("/login/", data={"username": w.employer_user.username, "password": PASSWORD})
    assert response.status_code == 302 and not response.headers["Location"].startswith("/login")
    assert client.get(PAGE).status_code == 200
    assert count(UserSession, UserSession.end_reason == "idle") == 1


# ---------------------------------------------------------------- 登录设备

def test_the_password_page_lists_this_logins_sessions_and_ends_the_others(app, client, w):
    def log_in(c, addr):
        response = c.post("/login/", data={"username": w.employer_user.username, "password": PASSWORD},
                          environ_base={"REMOTE_ADDR": addr})
        assert response.status_code == 302

    log_in(client, "10.0.0.1")
    other = second_client(app)
    log_in(other, "10.0.0.2")
    stranger = second_client(app)
    stranger.post("/login/", data={"username": w.reviewer.username, "password": PASSWORD},
                  environ_base={"REMOTE_ADDR": "10.0.0.3"})
    page = client.get("/account/password").get_data(as_text=True)
    assert "登录设备" in page and "10.0.0.1" in page and "10.0.0.2" in page and "10.0.0.3" not in page
    assert page.count("当前设备") == 1

    response = client.post("/account/sessions/end-others")
    assert response.status_code == 302
    assert client.get(PAGE).status_code == 200
    assert sent_to_login(other.get(PAGE))
    assert stranger.get("/school/").status_code == 200  # another login's sessions are not touched
    assert "10.0.0.2" not in client.get("/account/password").get_data(as_text=True)

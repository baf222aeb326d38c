"""API keys (issue 21): made on 接口密钥 by a school, the province or an employer that may offer;
the token shown once and stored as its prefix and SHA-256; revoked on the page."""
import hashlib
import re

from sqlalchemy import select

from app import apikeys
from app.extensions import db
from app.models import ApiAccessKey
from tests.support.checks import count, reload
from tests.support.factories import make_employer, make_user


def test_a_key_is_stored_as_its_prefix_and_sha256_only(w):
    key, token = apikeys.create_key(w.reviewer, "学工系统", ["students:read"])
    assert re.fullmatch(r"jyk_[0-9a-f]{8}_[A-Za-z0-9_\-]{43}", token)
    assert token.split("_")[1] == key.prefix
    assert key.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = db.session.execute(select(ApiAccessKey.__table__)).one()._mapping
    assert token not in {str(v) for v in stored.values()}
    assert key.party == "school" and key.school_id == w.school.id


def test_the_key_page_shows_the_token_once_and_revokes(w, client, login):
    login(client, w.reviewer.username)
    assert client.get("/account/api-keys/").status_code == 200
    page = client.post("/account/api-keys/create", data={"name": "学工系统", "scopes": ["students:read"],
                                                          "ip_allow": "", "expires_days": "30"})
    assert page.status_code == 200
    token = re.search(r"jyk_[0-9a-f]{8}_[A-Za-z0-9_\-]{43}", page.get_data(as_text=True)).group(0)
    assert apikeys.authenticate(token, "127.0.0.1")[0] is not None
    again = client.get("/account/api-keys/").get_data(as_text=True)
    assert token not in again and token.split("_")[1] in again  # the prefix only, from now on
    key = db.session.scalar(select(ApiAccessKey))
    assert client.post(f"/account/api-keys/{key.id}/revoke").status_code == 302
    assert apikeys.authenticate(token, "127.0.0.1") == (None, "revoked or expired")


def test_the_key_form_refuses_bad_input_with_field_errors(w, client, login):
    login(client, w.reviewer.username)
    page = client.post("/account/api-keys/create", data={"name": "", "scopes": ["statistics:read"],
                                                          "ip_allow": "10.0.0.300", "expires_days": "0"})
    assert page.status_code == 400 and count(ApiAccessKey) == 0
    text = page.get_data(as_text=True)
    assert "请填写密钥名称" in text and "所选权限不适用于本单位" in text and "10.0.0.300" in text and "有效期" in text


def test_who_may_have_keys(w, client, login):
    waiting = make_employer()  # no school approved it (R1)
    assert apikeys.party_of(make_user("employer", waiting)) is None
    assert apikeys.party_of(w.employer_user) == apikeys.Party("employer", w.employer.id)
    assert apikeys.party_of(make_user("province")) == apikeys.Party("province")
    assert apikeys.party_of(w.student_user) is None
    login(client, w.student_user.username)
    assert client.get("/account/api-keys/").status_code in (302, 403, 404)


def test_another_partys_key_cannot_be_revoked_from_the_page(w, client, login):
    other = apikeys.create_key(w.other_reviewer, "别校", ["students:read"])[0]
    login(client, w.reviewer.username)
    assert client.post(f"/account/api-keys/{other.id}/revoke").status_code == 404
    assert reload(other).revoked_at is None

"""The open API's test helpers (tests/test_api*.py): a key, a call with it, a problem document."""
from app import apikeys
from tests.support.spreadsheets import roster_row

PROBLEM = "application/problem+json"
ALL_SCHOOL = ["students:read", "students:write", "agreements:read", "agreements:review", "changes:read"]


def key_for(user, scopes=ALL_SCHOOL, **kw):
    return apikeys.create_key(user, kw.pop("name", "学工系统"), scopes, **kw)[1]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def call(client, method, url, token=None, **kw):
    headers = {**(bearer(token) if token else {}), **kw.pop("headers", {})}
    return getattr(client, method)(url, headers=headers, **kw)


def assert_problem(response, status, kind=None):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"]
    if kind:
        assert body["type"] == f"urn:jiuye:problem:{kind}", body
    return body


def student_record(n, **kw):
    values = dict(zip((c for c in ("student_no", "name", "id_number", "gender", "phone", "email", "department",
                                   "major", "education", "graduation_year", "training_mode")), roster_row(n)))
    values["graduation_year"] = int(values["graduation_year"])
    values.update(kw)
    return values

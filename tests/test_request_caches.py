"""The two per-process caches that keep a page to a few statements (bench/README.md, load):
FAB's permission answers (app/security.py) and the 签约审核 filter choices (school.filter_options).
What they may never do: let a revoked permission through in the process that revoked it, or show
another school's choices."""
from flask import current_app
from flask_appbuilder.security.sqla.models import PermissionView

from app.extensions import db
from tests.support.factories import make_reviewer, make_school, make_student
from tests.support.checks import statements


def _permission_statements(client, url):
    with statements() as sql:
        response = client.get(url)
    return response, [s for s in sql if "ab_permission_view" in s]


def _review_permission(sm):
    return db.session.scalars(
        db.select(PermissionView).join(PermissionView.permission).join(PermissionView.view_menu)
        .where(PermissionView.permission.has(name="can_reviews"),
               PermissionView.view_menu.has(name="SchoolPortal"))).one()


def test_permission_answers_are_cached_and_a_revocation_here_applies_at_once(client, login):
    school = make_school()
    make_reviewer(school, username="rev")
    login(client, "rev")
    first, asked = _permission_statements(client, "/school/review/")
    assert first.status_code == 200
    again, asked_again = _permission_statements(client, "/school/review/")
    assert again.status_code == 200 and asked_again == []  # answered from memory

    sm = current_app.appbuilder.sm
    role = sm.find_role("school")
    pv = _review_permission(sm)
    sm.del_permission_role(role, pv)  # what 角色管理 does: a flush in this process
    try:
        refused, asked = _permission_statements(client, "/school/review/")
        assert refused.status_code == 403  # our refusal page (FAB would redirect to login)
        assert asked, "the check went back to the database"
    finally:
        sm.add_permission_role(sm.find_role("school"), _review_permission(sm))
    assert client.get("/school/review/").status_code == 200


def test_a_request_between_flush_and_commit_does_not_keep_the_old_answer(client, login):
    """Another request of this process may check while the revocation is flushed but not yet
    committed: it reads (and caches) the old answer; the commit must clear that too."""
    school = make_school()
    make_reviewer(school, username="rev")
    login(client, "rev")
    assert client.get("/school/review/").status_code == 200
    sm = current_app.appbuilder.sm
    role = sm.find_role("school")
    role.permissions.remove(_review_permission(sm))
    db.session.flush()
    assert client.get("/school/review/").status_code == 200  # the committed state still allows it
    db.session.commit()
    try:
        assert client.get("/school/review/").status_code == 403
    finally:
        sm.find_role("school").permissions.append(_review_permission(sm))
        db.session.commit()
    assert client.get("/school/review/").status_code == 200


def test_permission_cache_off_asks_every_time(client, login, monkeypatch):
    school = make_school()
    make_reviewer(school, username="rev")
    login(client, "rev")
    monkeypatch.setitem(current_app.config, "PERMISSION_CACHE_SECONDS", 0)
    client.get("/school/review/")
    _response, asked = _permission_statements(client, "/school/review/")
    assert asked


def test_filter_choices_are_per_school(client, login):
    a, b = make_school(), make_school("10487", "华中科技大学")
    make_student(a, department="土木学院", major="桥梁工程")
    make_student(b, department="法学院", major="法学")
    make_reviewer(a, username="rev-a")
    make_reviewer(b, username="rev-b")
    login(client, "rev-a")
    page_a = client.get("/school/review/").get_data(as_text=True)
    client.post("/logout/")
    login(client, "rev-b")
    page_b = client.get("/school/review/").get_data(as_text=True)
    assert "桥梁工程" in page_a and "法学院" not in page_a
    assert "法学院" in page_b and "桥梁工程" not in page_b

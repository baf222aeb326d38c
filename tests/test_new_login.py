"""accounts.new_login: the one function that makes a single login, for every party."""
import pytest
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash

from app import accounts
from app.extensions import db
from app.models import AppUser
from app.passwords import PASSWORD_RULE
from app.roles import ROLE_EMPLOYER, ROLE_PROVINCE, ROLE_SCHOOL, ROLE_STUDENT
from tests.support import factories as f

PASSWORD = "Secret2026x"


def reread(user):
    db.session.expire_all()
    return db.session.get(AppUser, user.id)


@pytest.mark.parametrize("kind", ["student", "employer", "school", "province"])
def test_new_login_links_the_login_to_its_party_with_its_role(client, kind):
    school = f.make_school()
    party, role, link = {
        "student": (lambda: f.make_student(school), ROLE_STUDENT, "student_id"),
        "employer": (lambda: f.make_employer(), ROLE_EMPLOYER, "employer_id"),
        "school": (lambda: school, ROLE_SCHOOL, "school_id"),
        "province": (lambda: None, ROLE_PROVINCE, None),
    }[kind]
    party = party()
    user = reread(accounts.new_login(party, f"{kind}-1", "欧阳明", f"{kind}@example.org", PASSWORD, role,
                                     commit=True))
    assert [r.name for r in user.roles] == [role]
    for column in ("student_id", "employer_id", "school_id"):
        assert getattr(user, column) == (party.id if column == link else None)
    assert (user.last_name, user.first_name, user.get_full_name()) == ("欧阳", "明", "欧阳明")
    assert user.active and not user.must_change_password
    assert check_password_hash(user.password, PASSWORD)
    f.login(client, f"{kind}-1", PASSWORD)


def test_a_name_that_does_not_split_after_its_first_character_is_given_as_a_pair():
    user = accounts.new_login(None, "prov", ("欧阳", "明"), "p@example.org", PASSWORD, ROLE_PROVINCE,
                              must_change=True)
    assert (user.last_name, user.first_name, user.must_change_password) == ("欧阳", "明", True)


def test_a_weak_password_makes_no_login():
    with pytest.raises(ValueError, match=PASSWORD_RULE):
        accounts.new_login(None, "weak", "王明", "w@example.org", "password", ROLE_PROVINCE)
    assert db.session.query(AppUser).filter_by(username="weak").count() == 0


def test_a_given_hash_is_stored_as_is_and_the_rule_still_applies():
    hashed = accounts.password_hash(PASSWORD)
    user = accounts.new_login(None, "hashed", "王明", "h@example.org", PASSWORD, ROLE_PROVINCE, hashed=hashed)
    assert user.password == hashed
    with pytest.raises(ValueError):
        accounts.new_login(None, "hashed2", "王明", "h2@example.org", "weak", ROLE_PROVINCE, hashed=hashed)


def test_a_taken_username_fails_at_the_flush_and_commits_nothing():
    accounts.new_login(None, "taken", "王明", "t1@example.org", PASSWORD, ROLE_PROVINCE, commit=True)
    with pytest.raises(IntegrityError):
        accounts.new_login(None, "taken", "王明", "t2@example.org", PASSWORD, ROLE_PROVINCE)
    db.session.rollback()
    assert db.session.query(AppUser).filter_by(username="taken").count() == 1


def test_create_login_is_new_login_with_the_student_rules():
    school = f.make_school()
    student = f.make_student(school, id_number="42011120030101000X", gender="女", email=None)
    user = reread(accounts.create_login(student))
    assert user.username == f"10486-{student.student_no}" and user.student_id == student.id
    assert accounts.is_placeholder_email(user.email)
    assert [r.name for r in user.roles] == [ROLE_STUDENT]
    assert user.password == accounts.NO_PASSWORD and not check_password_hash(user.password, "Jy01000X")

"""Logins: `new_login` makes every single login of any party; students' logins (one FAB user per
Student) follow the rules below, made from the school's roster.

- Username: `<院校代码>-<学号>` (as app/demo.py), e.g. 10486-2022301010001.
- Role `student`; `ab_user.student_id` links the login to its Student (DESIGN.md §2 "Logins").
- Initial password: **`initial_password(student)`** — the one rule, shown on the school's import
  page (`INITIAL_PASSWORD_RULE`): "Jy" + the last six characters of the ID number (an X check digit
  stays upper case), e.g. Jy01000X. It always passes `app.passwords.password_problem` (upper case J,
  lower case y, digits, 8 characters). `must_change_password` is set: the first login must replace
  it (the first-login issue enforces that, and 信息验证 adds the SMS check on the phone on file).
- E-mail: the roster's 邮箱 when given; otherwise a per-login placeholder on the reserved `.invalid`
  domain (RFC 2606; ab_user.email is unique and required) that never receives mail
  (`is_placeholder_email`), replaced when the student enters an address at 信息验证.

**`new_login` makes every single login, of any party**: a student's (`create_login`: the roster
form, 重置密码), an employer's (单位注册), the demo's. It checks the password against
`app.passwords` (ValueError), hashes it with the configured FAB_PASSWORD_HASH_METHOD, finds the
role and links the login to its party. FAB's own entry points keep the same password rule:
`flask fab create-admin` through `AppSecurityManager.add_user`, the admin's 用户列表 form through
FAB_PASSWORD_COMPLEXITY_VALIDATOR (`app.passwords.password_validator`).

Roster imports of thousands of rows use `create_logins` instead — the set-based performance path
(no per-row flush, hash or commit). It applies the same rules as `new_login`: the same username
and e-mail rule (`username_for`, `placeholder_email`), the same name split, role `student`, the
party link, `must_change_password`, and the initial password's complexity check; it stores
`INITIAL_PASSWORD_MARKER` instead of a hash: the initial password is
derived from the ID number stored in the same database, so any hash of it would protect nothing a
database thief does not already have, while hashing costs most of a 20,000-student roster's import
time. `check_password(user, password)` (used by the login and 修改密码) compares a marked login's
password with the rule in constant time; the marker is not a werkzeug hash, so nothing else can
ever accept it. The password the student chooses at first login is hashed by FAB with the
configured (strong) method, which replaces the marker.
"""
import hmac
from datetime import datetime

from flask import current_app
from flask_appbuilder.security.sqla.models import assoc_user_role
from sqlalchemy import Boolean, Date, DateTime, Integer, bindparam, insert, select, text, update

from .extensions import db
from .models import AppUser, Employer, School, Student
from .passwords import password_hash, password_problem
from .roles import ROLE_STUDENT

INITIAL_PASSWORD_RULE = "初始密码为“Jy”加身份证号后6位（末位为X时填大写X），如 Jy01000X；学生首次登录须修改密码"
# Stored in ab_user.password for a login still on its initial password (see the module docstring).
INITIAL_PASSWORD_MARKER = "initial-password-rule:v1"
PLACEHOLDER_DOMAIN = "noemail.invalid"


def check_password(user, password):
    """The login's password: the documented initial rule for a marked login, else FAB's hash."""
    from werkzeug.security import check_password_hash

    if not password:
        return False
    if user.password == INITIAL_PASSWORD_MARKER:
        if not user.student_id:
            return False
        student = db.session.get(Student, user.student_id)
        return student is not None and hmac.compare_digest(password.encode(), initial_password(student).encode())
    return check_password_hash(user.password or "", password)


def username_for(school_code, student_no):
    return f"{school_code}-{student_no}"


def initial_password(student):
    """The documented initial-password rule (see the module docstring); `student` needs `id_number`."""
    password = "Jy" + student.id_number[-6:].upper()
    problem = password_problem(password)
    if problem:  # cannot happen for a valid 18-digit ID number; never create a weak login
        raise ValueError(problem)
    return password


def placeholder_email(username):
    return f"{username}@{PLACEHOLDER_DOMAIN}"


def is_placeholder_email(email):
    return bool(email) and email.endswith("@" + PLACEHOLDER_DOMAIN)


def split_name(name):
    """Chinese order (AppUser.get_full_name joins last_name + first_name): family name first."""
    return name[:1], name[1:]


def role_named(name):
    """The FAB role row of `name` (app.roles), created (uncommitted) when roles were never synced."""
    sm = current_app.appbuilder.sm
    return sm.find_role(name) or sm.add_role(name, commit=False)


def student_role():
    return role_named(ROLE_STUDENT)


def login_of(student):
    return db.session.scalar(select(AppUser).where(AppUser.student_id == student.id))


_PARTY_LINK = {Student: "student_id", Employer: "employer_id", School: "school_id"}


def new_login(party, username, name, email, password, role, must_change=False, commit=False, *,
              hashed=None, now=None):
    """One login of any party (see the module docstring); returns the flushed AppUser.

    - `party`: the Student, Employer or School the login acts for; None for province and admin.
    - `name`: the full name in Chinese order, split by `split_name`; or a (last_name, first_name)
      pair for a name that does not split after its first character (就业指导中心 + 王老师).
    - `password`: the plain password; refused (ValueError, the rule's text) unless it passes
      `password_problem`. Stored hashed with the configured method, or as `hashed` when the caller
      already holds a hash of this very password (the demo hashes its one password once).
    - `role`: a role name of app.roles. `must_change`: the first login must replace the password.
    - `now`: created_on/changed_on (default: FAB's column default).
    - `commit`: commit here; otherwise the caller's transaction commits (or rolls back) it with the
      rest. A username or e-mail already taken raises IntegrityError at the flush.
    """
    problem = password_problem(password)
    if problem:
        raise ValueError(problem)
    last, first = name if isinstance(name, tuple) else split_name(name)
    values = {_PARTY_LINK[type(party)]: party.id} if party is not None else {}
    if now is not None:
        values.update(created_on=now, changed_on=now)
    user = AppUser(username=username, first_name=first, last_name=last, email=email, active=True,
                   password=hashed or password_hash(password), must_change_password=must_change, **values)
    db.session.add(user)
    user.roles = [role_named(role)]
    db.session.flush()
    if commit:
        db.session.commit()
    return user


def create_login(student, commit=True):
    """One login for one Student: username, e-mail and initial password by the rules above."""
    username = username_for(student.school.code, student.student_no)
    return new_login(student, username, student.name, student.email or placeholder_email(username),
                     initial_password(student), ROLE_STUDENT, must_change=True, commit=commit)


def update_login(user, student):
    """Keep the login's name and (real) e-mail in step with the Student row; the password is untouched."""
    user.last_name, user.first_name = split_name(student.name)
    if student.email:
        user.email = student.email
    return user


def create_logins(students, school_code, now=None):
    """Set-based: logins for many new students at once (roster import). `students` are objects or
    namespaces with id, student_no, name, id_number, email. Returns {student_id: user_id}.
    The caller commits (with the students, all or nothing)."""
    if not students:
        return {}
    now = now or datetime.now()
    rows = []
    for s in students:
        initial_password(s)  # the rule's complexity check: never create a weak login
        username = username_for(school_code, s.student_no)
        last, first = split_name(s.name)
        rows.append({
            "username": username, "first_name": first, "last_name": last,
            "email": s.email or placeholder_email(username), "active": True,
            "password": INITIAL_PASSWORD_MARKER,
            "student_id": s.id, "must_change_password": True,
            "login_count": 0, "fail_login_count": 0, "created_on": now, "changed_on": now,
        })
    created = bulk_insert(AppUser.__table__, rows, returning=("id", "student_id"), sequence="ab_user_id_seq")
    role_id = student_role().id
    bulk_insert(assoc_user_role, [{"user_id": uid, "role_id": role_id} for uid, _sid in created],
                sequence="ab_user_role_id_seq")
    return {sid: uid for uid, sid in created}


def _pg_type(column):
    kind = column.type
    if isinstance(kind, Boolean):
        return "boolean"
    if isinstance(kind, Integer):
        return "integer"
    if isinstance(kind, DateTime):
        return "timestamp"
    if isinstance(kind, Date):
        return "date"
    return "text"


def bulk_insert(table, rows, returning=(), sequence=None):
    """INSERT many rows in one statement; returns the `returning` columns of the new rows.

    PostgreSQL: INSERT … SELECT FROM unnest(one array per column). SQLAlchemy's executemany
    ("insertmanyvalues") sends 1,000-row VALUES lists whose 11,000 placeholders psycopg rewrites
    in Python for every batch — most of a 20,000-row roster's time in bench/import_bench.py; the
    unnest form has one placeholder per column. FAB's ids use named sequences (`sequence`) rather
    than a column default, so those are drawn explicitly. Elsewhere: SQLAlchemy's bulk insert.
    Python-side column defaults do not run on PostgreSQL: `rows` carry every NOT NULL column."""
    if not rows:
        return []
    columns = list(rows[0])
    if db.session.get_bind().dialect.name == "postgresql":
        arrays = ", ".join(f"CAST(:c{i} AS {_pg_type(table.c[c])}[])" for i, c in enumerate(columns))
        target, values = ", ".join(columns), "u.*"
        if sequence:
            target, values = "id, " + target, f"nextval('{sequence}'), u.*"
        sql = f"INSERT INTO {table.name} ({target}) SELECT {values} FROM unnest({arrays}) AS u"
        if returning:
            sql += " RETURNING " + ", ".join(returning)
        params = {f"c{i}": [row[c] for row in rows] for i, c in enumerate(columns)}
        result = db.session.execute(text(sql), params)
        return result.all() if returning else []
    stmt = insert(table)
    if returning:
        stmt = stmt.returning(*(table.c[c] for c in returning))
    result = db.session.execute(stmt, rows)
    return result.all() if returning else []


def update_logins(changes, now=None):
    """Set-based: [{"user_id", "first_name", "last_name", "email"}] → one executemany UPDATE."""
    if not changes:
        return 0
    now = now or datetime.now()
    table = AppUser.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        bulk_update(table, [{"id": c["user_id"], "first_name": c["first_name"], "last_name": c["last_name"],
                             "email": c["email"], "changed_on": now} for c in changes])
        return len(changes)
    stmt = (update(table).where(table.c.id == bindparam("b_id"))
            .values(first_name=bindparam("b_first"), last_name=bindparam("b_last"),
                    email=bindparam("b_email"), changed_on=now))
    db.session.execute(stmt, [{"b_id": c["user_id"], "b_first": c["first_name"], "b_last": c["last_name"],
                               "b_email": c["email"]} for c in changes])
    return len(changes)


def bulk_update(table, rows):
    """UPDATE many rows by id, set-based: every row carries "id" and the same other columns.

    PostgreSQL: one UPDATE … FROM unnest(arrays) (see bulk_insert for why); elsewhere an
    executemany of one UPDATE per row."""
    if not rows:
        return 0
    columns = [c for c in rows[0] if c != "id"]
    if db.session.get_bind().dialect.name == "postgresql":
        names = ["id"] + columns
        arrays = ", ".join(f"CAST(:c{i} AS {_pg_type(table.c[c])}[])" for i, c in enumerate(names))
        sets = ", ".join(f"{c} = u.{c}" for c in columns)
        sql = (f"UPDATE {table.name} AS t SET {sets} FROM unnest({arrays}) AS u({', '.join(names)}) "
               f"WHERE t.id = u.id")
        db.session.execute(text(sql), {f"c{i}": [row[c] for row in rows] for i, c in enumerate(names)})
        return len(rows)
    stmt = update(table).where(table.c.id == bindparam("b_id")).values(
        **{c: bindparam(f"b_{c}") for c in columns})
    db.session.execute(stmt, [{"b_id": row["id"], **{f"b_{c}": row[c] for c in columns}} for row in rows])
    return len(rows)

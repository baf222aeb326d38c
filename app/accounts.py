"""Logins: `new_login` makes every single login of any party; students' logins (one FAB user per
Student) follow the rules below, made from the school's roster.

- Username: `<院校代码>-<学号>` (as app/demo.py), e.g. 10486-2022301010001.
- Role `student`; `ab_user.student_id` links the login to its Student (DESIGN.md §2 "Logins").
- No initial password (R18): a login made by the roster or the school's form has NO usable
  password (`NO_PASSWORD`, not a werkzeug hash, so no check ever accepts it). The student's first
  access is 账号激活 (app/views/recovery.py): school + 学号/身份证号 → an SMS code to the phone the
  school has on file → the student chooses the password, which also proves the phone for 信息验证.
  Nothing a third party knows (ID number, 学号) opens an account; the school's 重置密码 makes the
  password unusable again (students.reset_student_password) and the student re-activates by SMS.
- E-mail: the roster's 邮箱 when given; otherwise a per-login placeholder on the reserved `.invalid`
  domain (RFC 2606; ab_user.email is unique and required) that never receives mail
  (`is_placeholder_email`), replaced when the student enters an address at 信息验证.

**`new_login` makes every single login, of any party**: a student's (`create_login`: the roster
form), an employer's (单位注册), the demo's. It checks the password against `app.passwords`
(ValueError), hashes it with the configured FAB_PASSWORD_HASH_METHOD (or stores NO_PASSWORD for
password=None), finds the role and links the login to its party. FAB's own entry points keep the
same password rule: `flask fab create-admin` through `AppSecurityManager.add_user`, the admin's
用户列表 forms through FAB_PASSWORD_COMPLEXITY_VALIDATOR (`app.passwords.password_validator`).

Roster imports of thousands of rows use `create_logins` instead — the set-based performance path
(no per-row flush, hash or commit), with the same rules as `new_login`: the same username and
e-mail rule (`username_for`, `placeholder_email`), the same name split, role `student`, the party
link, and NO_PASSWORD (nothing to hash: the roster's 20,000 logins cost no hashing time).

Every later password change of a login goes through `set_password` (or `clear_password`), which
writes its 账号安全记录 (`record_event`, table account_event); app.security ends the login's other
sessions whenever `ab_user.password` changes.
"""
import hashlib
from datetime import datetime

from flask import current_app
from flask_appbuilder.security.sqla.models import assoc_user_role
from sqlalchemy import Boolean, Date, DateTime, Integer, bindparam, insert, select, text, update

from . import labels
from .extensions import db
from .models import AppUser, Employer, School, Student
from .passwords import password_hash, password_problem
from .roles import ROLE_STUDENT

INITIAL_PASSWORD_RULE = ("学生账号没有初始密码：学生在登录页“毕业生登录”点击“首次登录 / 忘记密码”，"
                         "凭学校登记的手机号接收短信验证码后自行设置密码；学校不掌握、也不能设置学生密码")
# ab_user.password of a login without a usable password (not a werkzeug hash: nothing accepts it).
NO_PASSWORD = "!no-password:activate-by-sms"
PLACEHOLDER_DOMAIN = "noemail.invalid"
EVENT_KINDS = {"phone_changed": "手机号变更", "email_changed": "邮箱变更", "password_reset": "密码重置",
               "activated": "账号激活（短信验证）", "password_changed": "密码修改"}


def check_password(user, password):
    """The login's password against its hash; a login without one (NO_PASSWORD) accepts nothing."""
    from werkzeug.security import check_password_hash

    if not password or not has_password(user):
        return False
    return check_password_hash(user.password, password)


def has_password(user):
    return bool(user.password) and not user.password.startswith("!")


def username_for(school_code, student_no):
    return f"{school_code}-{student_no}"


def placeholder_email(username):
    return f"{username}@{PLACEHOLDER_DOMAIN}"


def is_placeholder_email(email):
    return bool(email) and email.endswith("@" + PLACEHOLDER_DOMAIN)


# 复姓: a name starting with one of these splits after two characters (欧阳晓东 → 欧阳 + 晓东).
COMPOUND_SURNAMES = frozenset("""
欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 令狐 夏侯 轩辕 端木 独孤 南宫 西门 万俟 闻人
澹台 公冶 宗政 濮阳 太叔 申屠 钟离 呼延 司空 淳于 单于 赫连 百里 东郭 南门 羊舌 微生 公羊 梁丘 左丘
东门 第五 拓跋 夹谷 宰父 谷梁 段干 巫马 公良 乐正 漆雕 壤驷 鲜于 闾丘 亓官 仉督 子车 颛孙 司寇 公西
""".split())


def split_name(name):
    """Chinese order (AppUser.get_full_name joins last_name + first_name): family name first."""
    if len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
        return name[:2], name[2:]
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
      `password_problem`. None: no usable password (NO_PASSWORD; a student activates by SMS). Stored hashed with the configured method, or as `hashed` when the caller
      already holds a hash of this very password (the demo hashes its one password once).
    - `role`: a role name of app.roles. `must_change`: the first login must replace the password.
    - `now`: created_on/changed_on (default: FAB's column default).
    - `commit`: commit here; otherwise the caller's transaction commits (or rolls back) it with the
      rest. A username or e-mail already taken raises IntegrityError at the flush.
    """
    problem = password_problem(password) if password is not None else None
    if problem:
        raise ValueError(problem)
    last, first = name if isinstance(name, tuple) else split_name(name)
    values = {_PARTY_LINK[type(party)]: party.id} if party is not None else {}
    if now is not None:
        values.update(created_on=now, changed_on=now)
    user = AppUser(username=username, first_name=first, last_name=last, email=email, active=True,
                   password=hashed or (password_hash(password) if password is not None else NO_PASSWORD),
                   must_change_password=must_change, **values)
    db.session.add(user)
    user.roles = [role_named(role)]
    db.session.flush()
    if commit:
        db.session.commit()
    return user


def create_login(student, commit=True):
    """One login for one Student: username and e-mail by the rules above, no usable password."""
    username = username_for(student.school.code, student.student_no)
    return new_login(student, username, student.name, student.email or placeholder_email(username),
                     None, ROLE_STUDENT, commit=commit)


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
        username = username_for(school_code, s.student_no)
        last, first = split_name(s.name)
        rows.append({
            "username": username, "first_name": first, "last_name": last,
            "email": s.email or placeholder_email(username), "active": True,
            "password": NO_PASSWORD,
            "student_id": s.id, "must_change_password": False,
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


# ---------------------------------------------------------------- 账号安全记录 and password changes

def mask_email(email):
    """a***@x.com: the first character and the domain (R18's old → new of an e-mail)."""
    if not email or "@" not in email or is_placeholder_email(email):
        return "-"
    user, host = email.split("@", 1)
    return f"{user[:1]}***@{host}"


def record_event(user, kind, actor=None, old=None, new=None, now=None, by=None):
    """One 账号安全记录 row (R18). `actor`: the login that acted (None: the owner, by a code or
    link; the owner's own login: the owner, logged in, shown as 本人); `by`: (name, party) when no
    login acts (the roster import); `old`/`new`: already masked values. `user` may be a row or any
    object with id and student_id."""
    from .models import AccountEvent

    if by is not None:
        (name, party), actor_id = by, None
    elif actor is not None and actor.id == user.id:  # the owner, logged in (基本信息管理)
        name, party, actor_id = "本人", None, actor.id
    elif actor is not None:
        name = actor.get_full_name() if hasattr(actor, "get_full_name") else str(actor)
        party = (actor.school.name if getattr(actor, "school", None) is not None
                 else actor.employer.name if getattr(actor, "employer", None) is not None else None)
        actor_id = actor.id
    else:
        name, party, actor_id = "本人", None, None
    event = AccountEvent(user_id=user.id, student_id=user.student_id, actor_id=actor_id, actor_name=name or "-",
                         actor_party=party, kind=kind, old_value=old, new_value=new, created_at=labels.as_utc(now))
    db.session.add(event)
    return event


def set_password(user, password, kind="password_changed", actor=None, now=None):
    """Give `user` a new password (checked against the rule: ValueError) and record it. Every
    other session of the login ends at the flush (app.security watches `ab_user.password`)."""
    problem = password_problem(password)
    if problem:
        raise ValueError(problem)
    user.password = password_hash(password)
    user.must_change_password = False
    user.fail_login_count = 0
    record_event(user, kind, actor=actor, now=now)
    return user


def clear_password(user, actor, now=None):
    """重置密码: no usable password any more; the owner sets a new one by SMS or e-mail link."""
    user.password = NO_PASSWORD
    user.must_change_password = False
    user.fail_login_count = 0
    record_event(user, "password_reset", actor=actor, now=now)
    return user


def recent_events(user_id, limit=5):
    from .models import AccountEvent

    return db.session.scalars(select(AccountEvent).where(AccountEvent.user_id == user_id)
                              .order_by(AccountEvent.created_at.desc(), AccountEvent.id.desc()).limit(limit)).all()


# ---------------------------------------------------------------- e-mailed reset links (忘记密码)

_RESET_SALT = "password-reset-link"


def _password_fingerprint(user):
    # In the token: a link dies once the password it was issued against changes (single use).
    return hashlib.sha256((user.password or "").encode()).hexdigest()[:16]


def reset_token(user):
    """A signed link token for `user`, valid RESET_LINK_MINUTES and until the password changes."""
    from itsdangerous import URLSafeTimedSerializer

    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_RESET_SALT)
    return serializer.dumps({"u": user.id, "p": _password_fingerprint(user)})


def user_of_reset_token(token, now=None):
    """The login a live, unused token was issued for, else None."""
    from itsdangerous import BadSignature, URLSafeTimedSerializer

    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_RESET_SALT)
    try:
        data = serializer.loads(token or "", max_age=current_app.config["RESET_LINK_MINUTES"] * 60)
    except (BadSignature, ValueError, TypeError):
        return None
    user = db.session.get(AppUser, data.get("u")) if isinstance(data, dict) and isinstance(data.get("u"), int) else None
    if user is None or not user.active or data.get("p") != _password_fingerprint(user):
        return None
    return user

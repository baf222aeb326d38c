"""What an import writes (DESIGN.md §6: `imports/` reads and validates, this module decides).

- `import_roster(school, table, valid_only)` — 学生生源: creates or updates the school's students,
  keyed by school + 学号, and their logins (`app.accounts`).
- `import_candidates(employer, table, valid_only)` — 拟签约名单: matches students with the R2 rule
  (school, graduation year, name and ID number or phone, all exact; R7-blocked students are not
  found, as in 签约搜索) and adds them to the employer's 签约发送列表.

Both are set-based: a few bulk lookups for the whole file (in chunks of `CHUNK` keys) and bulk
inserts/updates, never a query per row. Both are all-or-nothing per file: one refused row writes
nothing unless the user chose 只导入正确的行 (`valid_only`), and the writes of a file are one
transaction. Conflicts with existing data are added to the rows' 错误原因 before anything is written.
"""
from dataclasses import asdict, dataclass, field
from types import SimpleNamespace

import imports
from sqlalchemy import insert, or_, select, text, tuple_
from sqlalchemy.exc import IntegrityError

from . import accounts, codes, regions, students, workflow
from .extensions import db
from .models import AppUser, InviteListEntry, School, Student
from .queries import chunks, one_of

CHUNK = 1000
PREVIEW = 20  # refused rows listed on the result page (all of them are in the error report)


class ImportFailed(Exception):
    """The file could not be written (e.g. a concurrent change); nothing was written."""


@dataclass
class Outcome:
    kind: str
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    written: bool = False
    valid_only: bool = False
    preview: list = field(default_factory=list)  # [(row, reason)]
    # row number → created | updated | unchanged, for the rows written (the API's per-row results;
    # not kept in a job run's result)
    rows: dict = field(default_factory=dict)

    def as_dict(self):
        out = asdict(self)
        out.pop("rows")
        return out


def _finish(outcome, checked):
    outcome.refused = len(checked.errors)
    outcome.preview = [(row, checked.reason(row)) for row in sorted(checked.errors)[:PREVIEW]]
    return outcome


def _commit():
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise ImportFailed("写入时数据已被其他操作修改（可能同时在导入同一名单），未导入任何数据，请重新导入") from exc


# ---------------------------------------------------------------- 学生生源

ROSTER_FIELDS = ("name", "id_number", "gender", "phone", "email", "department", "major", "education",
                 "graduation_year", "training_mode")
# Kept from the national layout only (our template has no such columns: a re-import with it leaves them).
NATIONAL_FIELDS = ("exam_no", "ethnicity", "political", "major_code", "origin_region")

# The national 毕业生生源信息 layout (pinyin column codes, code values; docs/national-formats.md).
NATIONAL_ROSTER = imports.national_roster({name: codes.table(name) for name in codes.TABLES}, codes.TABLES,
                                          regions.codes())
# What 导入学生生源 reads: the file's header row picks the layout.
ROSTER_LAYOUTS = (imports.ROSTER, NATIONAL_ROSTER)


def import_roster(school, table, valid_only=False, progress=None):
    spec = table.spec or imports.ROSTER
    checked = imports.check(table, spec, progress=progress)
    keys = {c.key for c in spec.columns}
    fields = ROSTER_FIELDS + tuple(f for f in NATIONAL_FIELDS if f in keys)
    if "school_code" in keys:  # the national layout names the school on every row
        for row, v in checked.values.items():
            if v.get("school_code") and v["school_code"] != school.code:
                checked.refuse(row, f"yxdm：{v['school_code']} 不是本校院校代码（{school.code}）", "school_code")
    outcome = Outcome(kind=spec.kind, total=checked.total, valid_only=valid_only)
    rows = checked.values
    good = {r: v for r, v in rows.items() if "student_no" in v}

    # Existing students of this school, by 学号 (one lookup per CHUNK rows).
    existing = {}
    cols = (Student.id, Student.student_no, Student.verified_at, *(getattr(Student, f) for f in fields))
    for chunk in chunks({v["student_no"] for v in good.values()}, CHUNK):
        for s in db.session.execute(select(*cols).where(Student.school_id == school.id,
                                                        one_of(Student.student_no, chunk))):
            existing[s.student_no] = s

    # The same person under another 学号 of this school in the same year.
    by_id = {}
    ids = {v["id_number"] for v in good.values() if v.get("id_number")}
    for chunk in chunks(ids, CHUNK):
        for s in db.session.execute(select(Student.student_no, Student.id_number, Student.graduation_year)
                                    .where(Student.school_id == school.id, one_of(Student.id_number, chunk))):
            by_id.setdefault((s.id_number, s.graduation_year), []).append(s.student_no)
    for row, v in good.items():
        others = [no for no in by_id.get((v.get("id_number"), v.get("graduation_year")), []) if no != v["student_no"]]
        if others:
            checked.refuse(row, f"身份证号与本校学号为 {others[0]} 的学生重复")

    # Logins: by student (existing ones), by username (taken by someone else?), by e-mail.
    student_ids = [s.id for s in existing.values()]
    login_by_student = {}
    for chunk in chunks(student_ids, CHUNK):
        for u in db.session.execute(select(AppUser.id, AppUser.student_id, AppUser.email, AppUser.first_name,
                                           AppUser.last_name).where(one_of(AppUser.student_id, chunk))):
            login_by_student[u.student_id] = u
    usernames = {accounts.username_for(school.code, v["student_no"]): r for r, v in good.items()}
    for chunk in chunks(usernames, CHUNK):
        for u in db.session.execute(select(AppUser.username, AppUser.student_id).where(one_of(AppUser.username, chunk))):
            row = usernames[u.username]
            mine = existing.get(good[row]["student_no"])
            if mine is None or u.student_id != mine.id:
                checked.refuse(row, f"登录账号 {u.username} 已被其他账号占用，请联系省就业中心")
    emails = {}
    for row, v in good.items():
        if v.get("email"):
            emails.setdefault(v["email"], row)
    for chunk in chunks(emails, CHUNK):
        for u in db.session.execute(select(AppUser.email, AppUser.student_id).where(one_of(AppUser.email, chunk))):
            row = emails[u.email]
            mine = existing.get(good[row]["student_no"])
            if mine is None or u.student_id != mine.id:
                checked.refuse(row, "邮箱已被其他账号使用")

    # What changes for existing students; name / ID number are frozen once an agreement is live.
    changes = {}
    for row, v in good.items():
        s = existing.get(v["student_no"])
        if s is None:
            continue
        diff = {f: v[f] for f in fields if f in v and (v[f] is not None or f != "email")
                and getattr(s, f) != v[f]}
        changes[row] = (s, diff)
    frozen_rows = {row: s.id for row, (s, diff) in changes.items() if workflow.identity_refusal(diff)}
    signed = set()
    for chunk in chunks(set(frozen_rows.values()), CHUNK):
        signed |= workflow.identity_frozen(chunk)
    for row, sid in frozen_rows.items():
        if sid in signed:  # R19
            checked.refuse(row, workflow.identity_refusal(changes[row][1]).message)

    _finish(outcome, checked)
    if checked.errors and not valid_only:
        db.session.rollback()
        return outcome, checked

    # ---- write: one transaction for the file
    valid = checked.valid
    new = [v for _row, v in valid if v["student_no"] not in existing]
    updates = [(changes[row][0], changes[row][1]) for row, v in valid if row in changes and changes[row][1]]
    outcome.rows = {row: "created" if v["student_no"] not in existing else "updated" if changes[row][1] else "unchanged"
                    for row, v in valid}
    outcome.unchanged = sum(1 for status in outcome.rows.values() if status == "unchanged")
    created_ids = {}
    if new:
        values = [{"school_id": school.id, "student_no": v["student_no"], "signing_restricted": False,
                   "plan_submitted": False, **{f: v.get(f) for f in fields}} for v in new]
        for row in values:
            row["email"] = row["email"] or None
        for sid, no in accounts.bulk_insert(Student.__table__, values, returning=("id", "student_no")):
            created_ids[no] = sid
    if updates:  # full rows (new value or the stored one): one column set for the bulk UPDATE
        accounts.bulk_update(Student.__table__, [
            {"id": s.id, **{f: diff[f] if f in diff else getattr(s, f) for f in fields}}
            for s, diff in updates])

    # Logins: new students, and existing students who have none yet; names/e-mails kept in step.
    need_login = [SimpleNamespace(id=created_ids[v["student_no"]], **v) for v in new]
    touched = {s.student_no: diff for s, diff in updates}
    login_changes = []
    for _row, v in valid:
        s = existing.get(v["student_no"])
        if s is None:
            continue
        login = login_by_student.get(s.id)
        if login is None:
            need_login.append(SimpleNamespace(id=s.id, **v))
        elif v["student_no"] in touched:
            last, first = accounts.split_name(v["name"])
            email = v.get("email") or login.email
            if (first, last, email) != (login.first_name, login.last_name, login.email):
                login_changes.append({"user_id": login.id, "first_name": first, "last_name": last, "email": email})
    # R18: a verified student's phone or e-mail changed by the file is recorded and told, as by the form.
    contact = [(s.id, login_by_student[s.id], s.phone, diff.get("phone", s.phone), s.email,
                diff.get("email", s.email)) for s, diff in updates
               if s.verified_at is not None and s.id in login_by_student and ({"phone", "email"} & set(diff))]
    students.record_roster_changes(school, contact)
    accounts.create_logins(need_login, school.code)
    accounts.update_logins(login_changes)
    _commit()
    _analyze_after(len(new), Student, AppUser)
    outcome.created, outcome.updated, outcome.written = len(new), len(updates), True
    return outcome, checked


ANALYZE_AFTER_ROWS = 1000


def _analyze_after(inserted, *models):
    """PostgreSQL: fresh planner statistics after a big bulk insert. Autovacuum gets there within a
    minute or so; until then the planner believes the tables are as small as before, and the next
    import's key lookups (prepared, generic plans) chose a nested loop over a sequential scan —
    measured: re-importing a 20,000-student roster right after importing it took 24 s instead of
    ~3 s. A sampled ANALYZE of the two tables costs well under a second."""
    if inserted < ANALYZE_AFTER_ROWS or db.session.get_bind().dialect.name != "postgresql":
        return
    for model in models:
        db.session.execute(text(f"ANALYZE {model.__tablename__}"))
    db.session.commit()


# ---------------------------------------------------------------- 拟签约名单

def _school_lookup():
    lookup = {}
    for sid, code, name in db.session.execute(select(School.id, School.code, School.name)):
        lookup[code] = sid
        lookup[name] = sid
    return lookup


_MATCH_COLUMNS = ("id", "school_id", "graduation_year", "name", "id_number", "phone", "verified_at",
                  "signing_restricted", "training_mode", "plan_submitted")

# PostgreSQL: the keys travel as four arrays and are joined with unnest(), one statement for the
# whole file. A row-value IN list of 1,000 (school, year, name) triples costs ~0.3 s just to plan
# there (measured in bench/import_bench.py); the join plans in a millisecond and probes ix_student_search.
_MATCH_PG = text(
    "SELECT k.key AS key, " + ", ".join(f"s.{c}" for c in _MATCH_COLUMNS) + " FROM student AS s "
    "JOIN unnest(CAST(:sids AS integer[]), CAST(:years AS integer[]), CAST(:names AS text[]), "
    "CAST(:keys AS text[])) AS k(sid, yr, nm, key) "
    "ON s.school_id = k.sid AND s.graduation_year = k.yr AND s.name = k.nm "
    "AND (s.id_number = k.key OR s.phone = k.key)"
)


def match_students(keys):
    """R2, set-based. `keys`: {(school_id, year, name, id_or_phone), ...} → {key: [student ids]}.

    PostgreSQL: one join against the unnested keys. Elsewhere (SQLite): one query per CHUNK keys,
    (school, year, name) IN (...) AND (id_number IN keys OR phone IN keys), paired in Python.
    R7-blocked students (workflow.student_block_reason) are left out exactly as 签约搜索 hides them."""
    keys = list(keys)
    found = {}
    if not keys:
        return found

    def take(s, key):
        if workflow.student_block_reason(s) is None:
            found.setdefault((s.school_id, s.graduation_year, s.name, key), []).append(s.id)

    if db.session.get_bind().dialect.name == "postgresql":
        sids, years, names, ids = (list(col) for col in zip(*keys))
        for s in db.session.execute(_MATCH_PG, {"sids": sids, "years": years, "names": names, "keys": ids}):
            take(s, s.key)
        return found
    for chunk in chunks(keys, CHUNK):
        triples = list({(sid, year, name) for sid, year, name, _k in chunk})
        ids = list({k for *_t, k in chunk})
        rows = db.session.execute(
            select(*(getattr(Student, c) for c in _MATCH_COLUMNS))
            .where(tuple_(Student.school_id, Student.graduation_year, Student.name).in_(triples),
                   or_(Student.id_number.in_(ids), Student.phone.in_(ids)))
        ).all()
        wanted = set(chunk)
        for s in rows:
            for key in {s.id_number, s.phone}:
                if (s.school_id, s.graduation_year, s.name, key) in wanted:
                    take(s, key)
    return found


def import_candidates(employer, table, valid_only=False, progress=None):
    spec = imports.CANDIDATES
    checked = imports.check(table, spec, progress=progress)
    outcome = Outcome(kind=spec.kind, total=checked.total, valid_only=valid_only)
    schools = _school_lookup()
    keyed = {}
    for row, v in checked.values.items():
        if len(v) < len(spec.columns):
            continue  # a cell already refused
        sid = schools.get(v["school"])
        if sid is None:
            checked.refuse(row, f"毕业院校“{v['school']}”不存在，请填写学校全称或5位院校代码")
            continue
        keyed[row] = (sid, v["graduation_year"], v["name"], v["key"])
    found = match_students(set(keyed.values()))
    first_row = {}
    matched = {}
    for row, key in keyed.items():
        ids = found.get(key)
        if not ids:
            checked.refuse(row, "未找到匹配的学生：毕业院校、毕业年度、姓名和身份证号/手机号须全部正确")
            continue
        for sid in ids:
            if sid in first_row and first_row[sid] != row:
                checked.refuse(row, f"与第 {first_row[sid]} 行是同一名学生")
            first_row.setdefault(sid, row)
        matched[row] = ids
    listed = set()
    for chunk in chunks({sid for ids in matched.values() for sid in ids}, CHUNK):
        listed.update(db.session.scalars(select(InviteListEntry.student_id).where(
            InviteListEntry.employer_id == employer.id, one_of(InviteListEntry.student_id, chunk))))
    _finish(outcome, checked)
    if checked.errors and not valid_only:
        db.session.rollback()
        return outcome, checked

    to_add = []
    for row, _v in checked.valid:
        for sid in matched.get(row, []):
            if sid in listed:
                outcome.unchanged += 1
            else:
                to_add.append(sid)
    to_add = sorted(set(to_add))
    if to_add:
        stmt = _insert_ignore(InviteListEntry, ("employer_id", "student_id"))
        db.session.execute(stmt, [{"employer_id": employer.id, "student_id": sid} for sid in to_add])
    _commit()
    outcome.created, outcome.written = len(to_add), True
    return outcome, checked


def _insert_ignore(model, keys):
    """INSERT … ON CONFLICT DO NOTHING (PostgreSQL and SQLite): a concurrent 加入 is not an error."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover
        return insert(model)
    return dialect_insert(model).on_conflict_do_nothing(index_elements=list(keys))

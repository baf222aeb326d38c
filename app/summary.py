"""The statistics summary (issue 20): live province statistics without reading 500,000 graduates.

Three tables hold what `app.stats` would compute from the base tables:
- `stats_student`: each graduate's cell now (their attributes and live outcome, `STATS_DIMENSIONS`);
- `stats_cell`: graduates per cell (a few thousand rows for a province) — what the dashboards read;
- `stats_day`: 每日签约, FlowEvents of the counted actions per graduation year, school and local day.

They are kept from a change log, `stats_change`, that database triggers (`TRIGGERS`, created with
the tables and by migration 0012) write in the same transaction as every change, whoever makes it
(the workflow, a bulk import, an expiry statement, a console fix): a graduate inserted, deleted or
changed in a counted attribute; an employer registered or changing its 单位性质 (the graduates of
its live agreements); a FlowEvent of an action that moves an outcome or a daily count.

`refresh()` claims the log (DELETE … RETURNING: rows not yet committed stay for the next run),
recomputes the claimed graduates' cells with `stats.graduate_cells` — the same outcome as the live
query — moves their counts from the old cell to the new one, and adds the claimed FlowEvents to
their days. It runs in the one cron process every 20 s and, should the cron be down, on a read that
finds the log older than `STALE_SECONDS` (60): the figures are at most a minute old either way.
On PostgreSQL an advisory lock serialises refreshes (two at once would subtract a graduate twice);
SQLite serialises writers itself. `rebuild()` (`flask stats rebuild`) recomputes everything from the
base tables and says what it changed.
"""
from datetime import timedelta

import pandas as pd
from flask_appbuilder import Model
from sqlalchemy import case, delete, event, func, insert, select, text

from . import stats
from .extensions import db
from .queries import chunks, one_of
from .models import (
    STATS_DIMENSIONS,
    Agreement,
    Destination,
    FlowEvent,
    School,
    StatsCell,
    StatsChange,
    StatsDay,
    StatsStudent,
    Student,
    Termination,
    utcnow,
)

STALE_SECONDS = 60
READ_APPLY_LIMIT = 200  # log rows a page read applies itself (fresh)
CHUNK = 5000
LOCK_KEY = 20_260_020  # pg_advisory_xact_lock key of the refresh

# FlowEvent actions that move a graduate's live outcome (accept … destination_decline) or a daily
# count (invite, accept, paper_record, certify, termination_approve).
ACTIONS = ("invite", "accept", "amend", "paper_record", "certify", "decline", "withdraw", "termination_approve",
           "destination_submit", "destination_withdraw", "destination_approve", "destination_decline")
DAILY_EVENT = {"invite": "sent", "accept": "accepted", "paper_record": "accepted", "certify": "certified",
               "termination_approve": "terminated"}
_STUDENT_COLUMNS = ("graduation_year", "school_id", "department", "major", "education", "gender")
_LIVE = "('accepted', 'certified')"


# ---------------------------------------------------------------- the change log's triggers

def _sql_list(values):
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _postgresql_triggers():
    now = "(now() AT TIME ZONE 'UTC')"
    changed = " OR ".join(f"n.{c} IS DISTINCT FROM o.{c}" for c in _STUDENT_COLUMNS)
    return [
        f"""CREATE OR REPLACE FUNCTION stats_change_student() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            INSERT INTO stats_change (student_id, created_at) SELECT id, {now} FROM new_rows;
          ELSIF TG_OP = 'DELETE' THEN
            INSERT INTO stats_change (student_id, created_at) SELECT id, {now} FROM old_rows;
          ELSE
            INSERT INTO stats_change (student_id, created_at)
              SELECT n.id, {now} FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {changed};
          END IF;
          RETURN NULL;
        END $$""",
        """CREATE OR REPLACE TRIGGER stats_change_student_insert AFTER INSERT ON student REFERENCING NEW TABLE AS new_rows
           FOR EACH STATEMENT EXECUTE FUNCTION stats_change_student()""",
        """CREATE OR REPLACE TRIGGER stats_change_student_update AFTER UPDATE ON student
           REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_change_student()""",
        """CREATE OR REPLACE TRIGGER stats_change_student_delete AFTER DELETE ON student REFERENCING OLD TABLE AS old_rows
           FOR EACH STATEMENT EXECUTE FUNCTION stats_change_student()""",
        f"""CREATE OR REPLACE FUNCTION stats_change_flow_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO stats_change (flow_event_id, created_at)
            SELECT id, {now} FROM new_rows WHERE action IN {_sql_list(ACTIONS)};
          RETURN NULL;
        END $$""",
        """CREATE OR REPLACE TRIGGER stats_change_flow_event AFTER INSERT ON flow_event REFERENCING NEW TABLE AS new_rows
           FOR EACH STATEMENT EXECUTE FUNCTION stats_change_flow_event()""",
        f"""CREATE OR REPLACE FUNCTION stats_change_employer() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            INSERT INTO stats_change (student_id, created_at)
              SELECT a.student_id, {now} FROM new_rows n
              JOIN agreement a ON a.employer_credit_code = n.credit_code AND a.status IN {_LIVE};
          ELSE
            INSERT INTO stats_change (student_id, created_at)
              SELECT a.student_id, {now} FROM new_rows n JOIN old_rows o ON o.id = n.id
              JOIN agreement a ON a.employer_credit_code = n.credit_code AND a.status IN {_LIVE}
              WHERE n.nature IS DISTINCT FROM o.nature OR n.credit_code IS DISTINCT FROM o.credit_code;
          END IF;
          RETURN NULL;
        END $$""",
        """CREATE OR REPLACE TRIGGER stats_change_employer_insert AFTER INSERT ON employer REFERENCING NEW TABLE AS new_rows
           FOR EACH STATEMENT EXECUTE FUNCTION stats_change_employer()""",
        """CREATE OR REPLACE TRIGGER stats_change_employer_update AFTER UPDATE ON employer
           REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_change_employer()""",
    ]


def _sqlite_triggers():
    now = "CURRENT_TIMESTAMP"
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _STUDENT_COLUMNS)
    employer_students = (f"INSERT INTO stats_change (student_id, created_at) SELECT student_id, {now} FROM agreement "
                         f"WHERE employer_credit_code = NEW.credit_code AND status IN {_LIVE};")
    return [
        f"""CREATE TRIGGER IF NOT EXISTS stats_change_student_insert AFTER INSERT ON student
            BEGIN INSERT INTO stats_change (student_id, created_at) VALUES (NEW.id, {now}); END""",
        f"""CREATE TRIGGER IF NOT EXISTS stats_change_student_update AFTER UPDATE ON student WHEN {changed}
            BEGIN INSERT INTO stats_change (student_id, created_at) VALUES (NEW.id, {now}); END""",
        f"""CREATE TRIGGER IF NOT EXISTS stats_change_student_delete AFTER DELETE ON student
            BEGIN INSERT INTO stats_change (student_id, created_at) VALUES (OLD.id, {now}); END""",
        f"""CREATE TRIGGER IF NOT EXISTS stats_change_flow_event AFTER INSERT ON flow_event WHEN NEW.action IN {_sql_list(ACTIONS)}
            BEGIN INSERT INTO stats_change (flow_event_id, created_at) VALUES (NEW.id, {now}); END""",
        f"""CREATE TRIGGER IF NOT EXISTS stats_change_employer_insert AFTER INSERT ON employer
            BEGIN {employer_students} END""",
        f"""CREATE TRIGGER IF NOT EXISTS stats_change_employer_update AFTER UPDATE OF nature, credit_code ON employer
            WHEN OLD.nature IS NOT NEW.nature OR OLD.credit_code IS NOT NEW.credit_code
            BEGIN {employer_students} END""",
    ]


TRIGGERS = {"postgresql": _postgresql_triggers, "sqlite": _sqlite_triggers}
TRIGGER_NAMES = {  # trigger → table (for DROP TRIGGER)
    "stats_change_student_insert": "student", "stats_change_student_update": "student",
    "stats_change_student_delete": "student", "stats_change_flow_event": "flow_event",
    "stats_change_employer_insert": "employer", "stats_change_employer_update": "employer",
}


@event.listens_for(Model.metadata, "after_create")
def _after_create(_metadata, connection, **_kw):
    create_triggers(connection)


def create_triggers(connection):
    """The change log's triggers on this connection's database (create_all, migration 0012)."""
    for statement in TRIGGERS[connection.dialect.name]():
        connection.exec_driver_sql(statement)


def drop_triggers(connection):
    for name, table in TRIGGER_NAMES.items():
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if connection.dialect.name
                                                                          == "postgresql" else ""))
    if connection.dialect.name == "postgresql":
        for function in ("stats_change_student", "stats_change_flow_event", "stats_change_employer"):
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function}()")


# ---------------------------------------------------------------- refresh from the log

def _lock():
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def _day(column):
    return stats._local_day(column)


def refresh(limit=None):
    """Apply the change log to the summary; returns (graduates recomputed, events counted). One
    transaction, committed."""
    _lock()
    top = db.session.scalar(select(func.max(StatsChange.id)))
    if top is None:
        db.session.commit()
        return 0, 0
    if limit:
        low = db.session.scalar(select(func.min(StatsChange.id)))
        top = min(top, low + limit - 1)
    claimed = db.session.execute(delete(StatsChange).where(StatsChange.id <= top)
                                 .returning(StatsChange.student_id, StatsChange.flow_event_id)).all()
    students = {s for s, _e in claimed if s is not None}
    events = sorted({e for _s, e in claimed if e is not None})
    for chunk in chunks(events, CHUNK):
        students |= _count_events(chunk)
    for chunk in chunks(sorted(students), CHUNK):
        _recompute(chunk)
    db.session.commit()
    return len(students), len(events)


def _event_rows(where):
    """(event id, action, day, graduation year, school id, student id) of FlowEvents, their graduate
    found through the agreement, the termination or the destination they belong to."""
    t_student = select(Termination.student_id).where(Termination.id == FlowEvent.termination_id).scalar_subquery()
    d_student = select(Destination.student_id).where(Destination.id == FlowEvent.destination_id).scalar_subquery()
    a_student = select(Agreement.student_id).where(Agreement.id == FlowEvent.agreement_id).scalar_subquery()
    student_id = func.coalesce(a_student, t_student, d_student)
    inner = (select(FlowEvent.id.label("id"), FlowEvent.action.label("action"),
                    _day(FlowEvent.created_at).label("day"), student_id.label("student_id"))
             .where(where).subquery("e"))
    return (select(inner.c.id, inner.c.action, inner.c.day, Student.graduation_year, Student.school_id,
                   inner.c.student_id)
            .join(Student, Student.id == inner.c.student_id))


def _count_events(event_ids):
    """Add the FlowEvents to their days; return their graduates (whose outcome may have moved)."""
    rows = db.session.execute(_event_rows(one_of(FlowEvent.id, event_ids))).all()
    days = {}
    for _id, action, day, year, school_id, _student in rows:
        name = DAILY_EVENT.get(action)
        if name:
            key = (year, school_id, day if isinstance(day, str) else day.isoformat(), name)
            days[key] = days.get(key, 0) + 1
    _add_days(days)
    return {student for *_rest, student in rows}


def _upsert(model, keys, rows):
    """INSERT … ON CONFLICT (keys) DO UPDATE SET n = n + excluded.n: one statement for every row
    (PostgreSQL and SQLite alike)."""
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    for chunk in chunks(rows, 2000):
        statement = dialect_insert(model).values(chunk)
        db.session.execute(statement.on_conflict_do_update(
            index_elements=list(keys), set_={"n": model.n + statement.excluded.n}))


def _add_days(days):
    _upsert(StatsDay, ("graduation_year", "school_id", "day", "event"),
            [{"graduation_year": y, "school_id": s, "day": d, "event": e, "n": n} for (y, s, d, e), n in days.items()])


def _dims(row):
    return tuple(row[1:])


def _recompute(student_ids):
    """Move the graduates' counts from their old cells to their cells now."""
    old = db.session.execute(select(StatsStudent.__table__).where(one_of(StatsStudent.student_id, student_ids))).all()
    new = db.session.execute(stats.graduate_cells(student_ids)).all()
    delta = {}
    for row in old:
        delta[_dims(row)] = delta.get(_dims(row), 0) - 1
    for row in new:
        delta[_dims(row)] = delta.get(_dims(row), 0) + 1
    db.session.execute(delete(StatsStudent).where(one_of(StatsStudent.student_id, student_ids)))
    if new:
        db.session.execute(insert(StatsStudent), [dict(zip(("student_id",) + STATS_DIMENSIONS, row)) for row in new])
    _apply(delta)


def _apply(delta):
    """Add each cell's change (negative: graduates who left it); drop the cells left empty."""
    rows = [{**dict(zip(STATS_DIMENSIONS, key)), "n": n} for key, n in delta.items() if n]
    if rows:
        _upsert(StatsCell, STATS_DIMENSIONS, rows)
        db.session.execute(delete(StatsCell).where(StatsCell.n == 0))


def refresh_all(batch=50_000):
    """refresh() in batches of the log until it is empty (a migration or an import leaves many rows);
    returns the totals."""
    students = events = 0
    while True:
        s, e = refresh(limit=batch)
        students, events = students + s, events + e
        if not s and not e and not db.session.scalar(select(func.count()).select_from(StatsChange)):
            return students, events


def stale(now=None):
    """True when the change log holds a row older than STALE_SECONDS (the cron is behind or down)."""
    oldest = db.session.scalar(select(func.min(StatsChange.created_at)))
    return oldest is not None and oldest < (now or utcnow()) - timedelta(seconds=STALE_SECONDS)


def fresh():
    """Bring the summary up to date before a read, and return the time its figures stand at (naive
    UTC): now when the log is empty, else the oldest change not yet applied. A read applies a short
    log (at most READ_APPLY_LIMIT rows: the few changes since the cron's last run, milliseconds)
    unless another refresh is running; a longer one is the cron's (a page must not spend seconds on
    it: 2,000 changes take ~2 s at province scale) — unless the log is older than STALE_SECONDS
    (the cron is behind or down): then the read applies it all."""
    pending = db.session.scalar(select(func.count()).select_from(
        select(StatsChange.id).limit(READ_APPLY_LIMIT + 1).subquery()))
    if pending:
        if stale() or (pending <= READ_APPLY_LIMIT and _try_lock()):
            refresh_all()
    oldest = db.session.scalar(select(func.min(StatsChange.created_at)))
    db.session.commit()
    return oldest or utcnow()


def _try_lock():
    if db.session.get_bind().dialect.name != "postgresql":
        return True
    got = db.session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    if not got:
        db.session.rollback()
    return got


# ---------------------------------------------------------------- rebuild from the base tables

def rebuild():
    """Recompute the summary from the base tables, set-based (INSERT … SELECT); returns what changed:
    {"cells": cells whose count changed, "graduates": graduates now in another cell (or newly or no
    longer counted), "days": day counts changed} — compared with the summary after its pending log
    is applied, so a summary that was right reports 0 everywhere."""
    refresh_all()
    _lock()
    db.session.execute(delete(StatsChange))
    dims = [getattr(StatsCell, c) for c in STATS_DIMENSIONS]
    before_cells = {tuple(r[:-1]): r[-1] for r in db.session.execute(select(*dims, StatsCell.n))}
    day_key = (StatsDay.graduation_year, StatsDay.school_id, StatsDay.day, StatsDay.event)
    before_days = {tuple(r[:-1]): r[-1] for r in db.session.execute(select(*day_key, StatsDay.n))}
    db.session.execute(text("CREATE TEMPORARY TABLE stats_student_before AS SELECT * FROM stats_student"))
    try:
        db.session.execute(delete(StatsStudent))
        db.session.execute(insert(StatsStudent).from_select(("student_id",) + STATS_DIMENSIONS, stats.graduate_cells()))
        moved = sum(db.session.scalar(text(f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT SELECT * FROM {b}) x"))
                    for a, b in (("stats_student", "stats_student_before"), ("stats_student_before", "stats_student")))
    finally:
        db.session.execute(text("DROP TABLE stats_student_before"))
    db.session.execute(delete(StatsCell))
    columns = [getattr(StatsStudent, c) for c in STATS_DIMENSIONS]
    db.session.execute(insert(StatsCell).from_select(
        STATS_DIMENSIONS + ("n",), select(*columns, func.count()).group_by(*columns)))
    db.session.execute(delete(StatsDay))
    e = _event_rows(FlowEvent.action.in_(list(DAILY_EVENT))).subquery()
    event_name = case(DAILY_EVENT, value=e.c.action)
    db.session.execute(insert(StatsDay).from_select(
        ("graduation_year", "school_id", "day", "event", "n"),
        select(e.c.graduation_year, e.c.school_id, _day_text(e.c.day), event_name, func.count())
        .group_by(e.c.graduation_year, e.c.school_id, e.c.day, event_name)))
    after_cells = {tuple(r[:-1]): r[-1] for r in db.session.execute(select(*dims, StatsCell.n))}
    after_days = {tuple(r[:-1]): r[-1] for r in db.session.execute(select(*day_key, StatsDay.n))}
    db.session.commit()
    return {"cells": sum(1 for k in set(before_cells) | set(after_cells) if before_cells.get(k) != after_cells.get(k)),
            "graduates": moved,
            "days": sum(1 for k in set(before_days) | set(after_days) if before_days.get(k) != after_days.get(k))}


def _day_text(day):
    """A local day (stats._local_day: a date on PostgreSQL, text on SQLite) as 'YYYY-MM-DD'."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(day, "YYYY-MM-DD")
    return day


# ---------------------------------------------------------------- what the dashboards read

def outcome_frame(f):
    """stats.outcome_frame from the summary: the same columns, '' back to None, derived."""
    columns = [getattr(StatsCell, c) for c in STATS_DIMENSIONS if c != "graduation_year"]
    q = (select(*columns, School.code.label("school_code"), School.name.label("school_name"),
                func.sum(StatsCell.n).label("n"))
         .join(School, School.id == StatsCell.school_id)
         .group_by(*columns, School.code, School.name))
    if f.year:
        q = q.where(StatsCell.graduation_year == f.year)
    if f.school_id:
        q = q.where(StatsCell.school_id == f.school_id)
    result = db.session.execute(q)
    df = pd.DataFrame.from_records(result.all(), columns=list(result.keys()))
    for column in ("a_kind", "a_status", "work_region", "nature", "d_kind", "d_status"):
        if column in df:
            df[column] = df[column].where(df[column] != "", None)
    return stats.derive(df)


def daily_frame(f):
    """stats.daily_frame from the summary's days."""
    q = select(StatsDay.day, StatsDay.event, func.sum(StatsDay.n)).group_by(StatsDay.day, StatsDay.event)
    if f.year:
        q = q.where(StatsDay.graduation_year == f.year)
    if f.school_id:
        q = q.where(StatsDay.school_id == f.school_id)
    if f.date_from:
        q = q.where(StatsDay.day >= f.date_from.isoformat())
    if f.date_to:
        q = q.where(StatsDay.day <= f.date_to.isoformat())
    return stats.pivot_days(db.session.execute(q).all())


def dashboard(f):
    """(the statistics page's tables, the time they stand at): from the summary — at most
    STALE_SECONDS old — or, for a date range (outcomes that became live inside it, which the summary
    does not keep), live from the base tables (stats.dashboard_cached)."""
    if f.date_from or f.date_to:
        return stats.dashboard_cached(f)
    at = fresh()
    return stats.tables(outcome_frame(f), daily_frame(f)), at

"""What the tests read back from the database (plain functions; call them inside an app context).

    count(Model, *where)        rows of Model matching the where clauses
    reload(obj)                 obj as the database has it now (the session's cache dropped)
    inbox(user, containing="")  the user's notifications (rows, oldest first), optionally only
                                those whose subject contains `containing`
    events(obj)                 FlowEvent actions of an agreement, termination or destination, in order
    stored_files()              every file under UPLOAD_DIR
    snapshot()                  row counts of every flow table, the stored files and every status
    refused(rule, *fields)      `with refused("R6"): workflow.accept(...)`: the block raises
                                WorkflowError citing `rule` (and a message for each of `fields`)
                                and leaves snapshot() as it was
    statements()                `with statements() as sql: ...`: the SQL the engine ran in the block
"""
import os
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, inspect, select


def _db():
    from app.extensions import db

    return db


def count(model, *where):
    db = _db()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def reload(obj):
    """`obj` re-read: expire the session's cache, get the row again by its primary key."""
    db = _db()
    ident = inspect(obj).identity  # read without a query: obj may be expired
    db.session.expire_all()
    return db.session.get(type(obj), ident)


def inbox(user, containing=""):
    from app.models import Notification

    db = _db()
    db.session.expire_all()
    query = select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    if containing:
        query = query.where(Notification.subject.contains(containing))
    return db.session.scalars(query).all()


def events(obj):
    from app.models import Agreement, Destination, FlowEvent, JobApplication, JobPosting, Termination

    column = {Agreement: FlowEvent.agreement_id, Termination: FlowEvent.termination_id,
              Destination: FlowEvent.destination_id, JobPosting: FlowEvent.posting_id,
              JobApplication: FlowEvent.application_id}[type(obj)]
    return _db().session.scalars(select(FlowEvent.action).where(column == obj.id).order_by(FlowEvent.id)).all()


def stored_files():
    from flask import current_app

    root = current_app.config["UPLOAD_DIR"]
    return sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files)


def snapshot():
    """Everything a refused transition must leave alone."""
    from app.models import (Agreement, Destination, FlowEvent, InviteListEntry, JobApplication, JobPosting,
                            Notification, NumberCounter, PostingHide, Resume, Termination)

    session = _db().session
    statuses = {model.__tablename__: sorted(session.execute(select(model.id, model.status)).all())
                for model in (Agreement, Termination, Destination, JobPosting, JobApplication, PostingHide)}
    counted = (FlowEvent, Notification, NumberCounter, InviteListEntry, Resume)
    return {"rows": {model.__tablename__: count(model) for model in counted},
            "statuses": statuses, "files": stored_files()}


@contextmanager
def refused(rule, *fields):
    """The block must raise WorkflowError citing `rule` (None: a refusal without a rule number),
    with a message for each of `fields`, and write nothing (no row, no status change, no file)."""
    from app.workflow import WorkflowError

    db = _db()
    db.session.commit()
    before = snapshot()
    with pytest.raises(WorkflowError) as info:
        yield info
    assert info.value.rule == rule, f"expected {rule}, got {info.value.rule}: {info.value}"
    assert str(info.value.message)
    for field in fields:
        assert info.value.fields.get(field), f"no message for {field}: {info.value.fields}"
    db.session.expire_all()
    assert snapshot() == before, "a refused transition wrote something"


@contextmanager
def statements():
    """Collect the SQL statements the engine runs inside the block."""
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = _db().engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)

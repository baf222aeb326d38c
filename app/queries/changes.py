"""The changes feed of the API (GET /api/v1/changes): FlowEvents of one party, oldest first, after a
cursor (the last event id the caller has seen). Scoped like the pages: a school's agreements,
terminations and destinations; an employer's agreements and terminations; the province all."""
from datetime import timedelta

from sqlalchemy import false, or_, select

from ..models import Agreement, Destination, FlowEvent, Termination, utcnow


def changes(party, party_id, since, limit, settle_seconds=0):
    """select() of (event, agreement, termination, destination) after event id `since`, `limit`
    rows. Events younger than `settle_seconds` wait: an id is taken at insert and a transaction
    that commits after a later one would otherwise slip behind a cursor already past it."""
    query = (select(FlowEvent, Agreement, Termination, Destination)
             .outerjoin(Agreement, Agreement.id == FlowEvent.agreement_id)
             .outerjoin(Termination, Termination.id == FlowEvent.termination_id)
             .outerjoin(Destination, Destination.id == FlowEvent.destination_id)
             .where(FlowEvent.id > since).order_by(FlowEvent.id).limit(limit))
    if party == "school":
        query = query.where(or_(Agreement.school_id == party_id, Termination.school_id == party_id,
                                Destination.school_id == party_id))
    elif party == "employer":
        query = query.where(or_(Agreement.employer_id == party_id, Termination.employer_id == party_id))
    elif party != "province":
        query = query.where(false())
    if settle_seconds:
        query = query.where(FlowEvent.created_at <= utcnow() - timedelta(seconds=settle_seconds))
    return query

"""Import jobs, run by `app.jobs.runs` (inline, or on rq for files over IMPORT_ASYNC_ROWS rows).

Each takes the JobRun and its params ({"file": upload key, "valid_only": bool}) and re-reads
everything else: the acting party comes from the run's own login (`run.user_id`), not from the
params, so a job can only ever write for the person who started it. The stored upload is deleted
when the run finishes (done or failed); a worker killed half-way leaves it for the retry, and the
retry writes nothing twice (all-or-nothing transaction; re-import updates instead of duplicating).
"""
from flask import current_app

import imports

from .. import importing, uploads
from ..extensions import db
from ..models import AppUser, Employer, School

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _party(run, model, attr):
    user = db.session.get(AppUser, run.user_id)
    party_id = getattr(user, attr, None) if user is not None else None
    party = db.session.get(model, party_id) if party_id else None
    if party is None:
        raise importing.ImportFailed("导入账号已不再关联学校或单位，未导入任何数据")
    return party


def _run(run, params, progress, spec, write, party):
    """`spec`: the layout, or a tuple of layouts the file's header row chooses from."""
    key = params["file"]
    try:
        with open(uploads.path_of(key), "rb") as fh:
            table = imports.read(fh, spec, imports.Limits.from_config(current_app.config))
        progress(0, len(table))
        outcome, checked = write(party, table, bool(params.get("valid_only")), progress=progress)
        result = outcome.as_dict()
        result["errors_key"] = None
        if checked.errors:
            report = imports.error_report(table, checked, table.spec)
            result["errors_key"] = uploads.save(uploads.Upload(report, "xlsx", XLSX_MIME), folder="imports")
        progress(len(table), len(table))
        return result
    finally:
        uploads.discard(key)


def roster(run, params, progress):
    """学生生源 import for the school of the run's login."""
    school = _party(run, School, "school_id")
    return _run(run, params, progress, importing.ROSTER_LAYOUTS, importing.import_roster, school)


def candidates(run, params, progress):
    """拟签约名单 import for the employer of the run's login."""
    employer = _party(run, Employer, "employer_id")
    return _run(run, params, progress, imports.CANDIDATES, importing.import_candidates, employer)

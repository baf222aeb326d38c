"""The spreadsheet layer (DESIGN.md §6): column specs, safe readers, row validation, error reports
and downloadable templates. Flask-free: settings come in as `Limits`, and `app.importing` decides
what to write.

    table = imports.read(stream, imports.ROSTER, imports.Limits.from_config(app.config))
    checked = imports.check(table, imports.ROSTER)
    ... app adds conflicts with checked.refuse(row, reason), writes checked.valid ...
    report = imports.error_report(table, checked, imports.ROSTER)
"""
from .reader import (LOST_DIGITS, ImportRefused, Limits, Received, Table, defusedxml_active, pick_spec, read, read_table,
                     receive, table_from_records)
from .report import REASON, error_report, template
from .spec import CANDIDATES, EDUCATION, GENDER, ROSTER, SPECS, TRAINING_MODE, Column, Spec, national_roster
from .validate import Checked, check, gender_of_id, id_number_problem, year_range

__all__ = [
    "CANDIDATES", "EDUCATION", "GENDER", "LOST_DIGITS", "REASON", "ROSTER", "SPECS", "TRAINING_MODE",
    "Checked", "Column", "ImportRefused", "Limits", "Received", "Spec", "Table",
    "check", "defusedxml_active", "pick_spec", "error_report", "gender_of_id", "id_number_problem", "national_roster", "read",
    "read_table", "receive", "table_from_records", "template", "year_range",
]

"""The national code tables (issue 26): 性别, 民族, 政治面貌, 学历, 培养方式, 毕业去向, 单位性质, 单位行业,
工作职位类别 — one CSV each in app/data/codes/, whose first line names the standard or publication
it follows (docs/national-formats.md lists them). GB/T 2260 (regions) is app.regions.

Plain data, no Flask: app.labels takes its label lists from here, the national 生源 import
(app.importing) its allowed codes, the 毕业去向 export (app.jobs.exports) the codes it writes.
"""
import csv
import os
from functools import lru_cache

DATA = os.path.join(os.path.dirname(__file__), "data", "codes")

# file stem → what a code of the table is called in messages ("3 不是性别代码")
TABLES = {
    "gender": "性别", "ethnicity": "民族", "political": "政治面貌", "education": "学历",
    "training_mode": "培养方式", "outcome": "毕业去向", "employer_nature": "单位性质",
    "industry": "单位行业", "job_category": "工作职位类别",
}


@lru_cache(maxsize=None)
def _load(name):
    if name not in TABLES:
        raise KeyError(name)
    with open(os.path.join(DATA, f"{name}.csv"), encoding="utf-8", newline="") as fh:
        source = fh.readline().lstrip("#").strip()
        rows = list(csv.DictReader(fh))
    return source, {row["code"]: row["label"] for row in rows}


def table(name):
    """{code: label} in the file's order (a new dict: callers may keep or change it)."""
    return dict(_load(name)[1])


def source(name):
    """The standard or publication the table follows, as its file's first line says."""
    return _load(name)[0]


def label(name, code, default="-"):
    return _load(name)[1].get(code, default) if code is not None else default


def code_of(name, text):
    """The code whose label is `text`, or None."""
    for code, value in _load(name)[1].items():
        if value == text:
            return code
    return None

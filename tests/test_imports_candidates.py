"""拟签约名单 import: R2 four-field matching (set-based), R7 hiding, 签约发送列表."""
import pytest
from sqlalchemy import select

import imports
from app import importing
from app.extensions import db
from app.models import InviteListEntry
from tests.support import factories as f
from tests.support.checks import count, statements
from tests.support.spreadsheets import CANDIDATE_HEADER, csv_bytes, xlsx


def run(employer, rows, valid_only=False):
    table = imports.read(xlsx(rows, header=CANDIDATE_HEADER), imports.CANDIDATES)
    return importing.import_candidates(employer, table, valid_only=valid_only)


def listed(employer):
    return set(db.session.scalars(select(InviteListEntry.student_id).where(InviteListEntry.employer_id == employer.id)))


@pytest.fixture
def world():
    wuhan = f.make_school()
    hust = f.make_school("10487", "华中科技大学")
    student = f.make_student(wuhan, name="陈晨", id_number="42011120030101000X", phone="13800000001")
    namesake = f.make_student(hust, name="陈晨")
    employer = f.make_employer(approved_by=wuhan)
    return wuhan, hust, student, namesake, employer


def test_candidate_import_matches_only_exact_four_field_matches(world):
    wuhan, hust, student, namesake, employer = world
    rows = [
        ["武汉大学", "2026", "陈晨", "42011120030101000X"],   # 2 exact by ID, school by name
        ["10486", "2026", "陈晨", "13800000001"],              # 3 exact by phone, school by code (same student)
        ["武汉大学", "2025", "陈晨", "42011120030101000X"],   # 4 wrong year
        ["武汉大学", "2026", "陈明", "42011120030101000X"],   # 5 wrong name
        ["武汉大学", "2026", "陈晨", "13800000009"],           # 6 wrong phone
        ["华中科技大学", "2026", "陈晨", "42011120030101000X"],  # 7 the other school's namesake has another ID
        ["北京大学", "2026", "陈晨", "42011120030101000X"],   # 8 unknown school
    ]
    outcome, checked = run(employer, rows, valid_only=True)
    assert listed(employer) == {student.id}, checked.errors
    assert outcome.created == 1
    assert "与第 2 行是同一名学生" in checked.reason(3)
    for row in (4, 5, 6, 7):
        assert "未找到匹配的学生" in checked.reason(row), row
    assert "毕业院校“北京大学”不存在" in checked.reason(8)
    assert namesake.id not in listed(employer)


def test_all_or_nothing_by_default(world):
    _wuhan, _hust, student, _namesake, employer = world
    outcome, _ = run(employer, [["武汉大学", "2026", "陈晨", "13800000001"], ["武汉大学", "2026", "李四", "13800000002"]])
    assert not outcome.written and outcome.refused == 1
    assert listed(employer) == set()


@pytest.mark.parametrize("reason", [
    {"signing_restricted": True}, {"training_mode": "targeted"}, {"plan_submitted": True}, {"verified_at": None},
])
def test_students_hidden_by_r7_are_not_matched(world, reason):
    wuhan, _hust, _student, _namesake, employer = world
    blocked = f.make_student(wuhan, name="王五", phone="13800000055", **reason)
    _outcome, checked = run(employer, [["武汉大学", "2026", "王五", "13800000055"]])
    assert "未找到匹配的学生" in checked.reason(2)
    assert blocked.id not in listed(employer)


def test_students_already_on_the_list_are_counted_not_duplicated(world):
    _wuhan, _hust, student, _namesake, employer = world
    db.session.add(InviteListEntry(employer_id=employer.id, student_id=student.id))
    db.session.commit()
    outcome, _ = run(employer, [["武汉大学", "2026", "陈晨", "13800000001"]])
    assert (outcome.created, outcome.unchanged, outcome.refused) == (0, 1, 0)
    assert count(InviteListEntry) == 1


def test_matching_is_set_based_not_one_query_per_row(world):
    wuhan, _hust, _student, _namesake, employer = world
    students = [f.make_student(wuhan, name=f"学生{chr(0x4e00 + n)}") for n in range(30)]
    rows = [["武汉大学", "2026", s.name, s.phone] for s in students]
    table = imports.read(csv_bytes(rows, header=CANDIDATE_HEADER), imports.CANDIDATES)
    with statements() as sql:
        outcome, _ = importing.import_candidates(employer, table)
    assert outcome.created == 30
    selects = [s for s in sql if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 4, selects  # schools, students, listed entries, the employer reload
    assert listed(employer) == {s.id for s in students}

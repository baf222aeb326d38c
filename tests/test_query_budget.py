"""Query budget (issue 9): every list page issues a constant number of SQL statements whatever the
number of rows it shows (no N+1), and its page size is capped by PAGE_SIZE_MAX.

`count_queries(client, url)` counts the statements the engine executes during one request
(SQLAlchemy `before_cursor_execute`), after a warm-up request. Each test measures a page with FEW rows, adds rows until it
shows MANY, and measures again: the counts must be equal.
"""
import re
from datetime import datetime, timedelta, timezone

import pytest
from flask import current_app

from app import workflow
from app.extensions import db
from tests.support.checks import statements
from tests.support.factories import (
    NOW,
    approve,
    at,
    make_employer,
    make_reviewer,
    make_school,
    make_student,
    make_user,
    valid_terms,
)

FEW, MANY = 3, 15


def count_queries(client, url):
    """Statements of one request in the steady state: a first request fills the per-process caches
    (permission answers, filter choices — app/security.py, school.filter_options)."""
    client.get(url)
    with statements() as sql:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(sql), response.get_data(as_text=True)


def rows_shown(html, pattern):
    return len(set(re.findall(pattern, html)))


def budget(client, url, pattern, grow, few=FEW, many=MANY):
    """Count at `few` rows, call grow(many - few), count again; return both counts."""
    n_few, html = count_queries(client, url)
    assert rows_shown(html, pattern) == few, f"{url}: expected {few} rows"
    grow(many - few)
    n_many, html = count_queries(client, url)
    assert rows_shown(html, pattern) == many, f"{url}: expected {many} rows"
    return n_few, n_many


# ---------------------------------------------------------------- a small world

class World:
    def __init__(self):
        self.school = make_school()
        self.reviewer = make_reviewer(self.school, username="reviewer")
        self.employer = make_employer(approved_by=self.school)
        make_user("employer", self.employer, username="employer")
        self.other_employers = []

    def student(self):
        return make_student(self.school)

    def offers(self, n, employer=None, now=None):
        students = [self.student() for _ in range(n)]
        return workflow.invite(employer or self.employer, students, valid_terms(), now=now or NOW)

    def accepted(self, n, employer=None):
        return [workflow.accept(a.student, a, now=at(hours=2)) for a in self.offers(n, employer)]

    def certified(self, n, employer=None):
        return [workflow.certify(self.reviewer, a, now=at(hours=3)) for a in self.accepted(n, employer)]

    def terminations_requested_by_students(self, n):
        out = []
        for a in self.certified(n):
            out.append(workflow.request_termination(a.student, a, "个人原因", now=at(days=1)))
        return out

    def terminations_agreed(self, n):
        return [workflow.agree_termination(self.employer, t, now=at(days=1, hours=1))
                for t in self.terminations_requested_by_students(n)]

    def destinations(self, n):
        return [workflow.submit_destination(self.student(), "76", {"occupation": "自媒体运营", "region": "420111"},
                                            now=at(hours=1)) for _ in range(n)]


@pytest.fixture
def world():
    return World()


def assert_constant(n_few, n_many, url):
    print(f"query budget {url}: {n_few} statements at {FEW} rows, {n_many} at {MANY}")  # shown with -s
    assert n_few == n_many, f"{url}: {n_few} statements with {FEW} rows, {n_many} with {MANY} rows (N+1)"


# ---------------------------------------------------------------- school

def test_school_review_list_query_count_is_constant(client, login, world):
    # Two employers, rows in several statuses: nothing per row may be lazy-loaded.
    other = make_employer(approved_by=world.school)
    world.certified(1)
    world.accepted(1, other)
    world.accepted(1)
    login(client, "reviewer")
    url = "/school/review/?status=all"
    n_few, n_many = budget(client, url, r"/school/review/(\d+)\"", lambda k: world.accepted(k, other))
    assert_constant(n_few, n_many, url)


def test_school_termination_review_list_query_count_is_constant(client, login, world):
    world.terminations_agreed(FEW)
    login(client, "reviewer")
    url = "/school/terminations/?status=all"
    n_few, n_many = budget(client, url, r"/school/terminations/(\d+)\"", world.terminations_requested_by_students)
    assert_constant(n_few, n_many, url)


def test_school_destination_review_list_query_count_is_constant(client, login, world):
    world.destinations(FEW)
    login(client, "reviewer")
    url = "/school/destinations/?status=all"
    n_few, n_many = budget(client, url, r"/school/destinations/(\d+)\"", world.destinations)
    assert_constant(n_few, n_many, url)


# ---------------------------------------------------------------- employer

EMPLOYER_TABS = {
    "pending": lambda w, k: w.offers(k, now=datetime.now(timezone.utc)),  # still answerable today
    "accepted": lambda w, k: w.accepted(k),
    "certified": lambda w, k: w.certified(k),
    "rejected": lambda w, k: [workflow.reject(a.student, a, now=at(hours=1)) for a in w.offers(k)],
    "expired": lambda w, k: w.offers(k, now=NOW - timedelta(days=400)),
}


@pytest.mark.parametrize("tab", sorted(EMPLOYER_TABS))
def test_employer_data_management_tab_query_count_is_constant(client, login, world, tab):
    grow = EMPLOYER_TABS[tab]
    grow(world, FEW)
    login(client, "employer")
    url = f"/employer/offers/?tab={tab}"
    n_few, n_many = budget(client, url, r"/employer/offers/(\d+)\"", lambda k: grow(world, k))
    assert_constant(n_few, n_many, url)


@pytest.mark.parametrize("tab, pattern, grow", [
    ("todo", r"/employer/terminations/(\d+)\"", lambda w, k: w.terminations_requested_by_students(k)),
    ("records", r"/employer/terminations/(\d+)\"", lambda w, k: w.terminations_agreed(k)),
    ("signed", r"/employer/offers/(\d+)\"", lambda w, k: w.certified(k)),
])
def test_employer_termination_tab_query_count_is_constant(client, login, world, tab, pattern, grow):
    grow(world, FEW)
    login(client, "employer")
    url = f"/employer/terminations/?tab={tab}"
    n_few, n_many = budget(client, url, pattern, lambda k: grow(world, k))
    assert_constant(n_few, n_many, url)


# ---------------------------------------------------------------- student

def test_student_offer_list_query_count_is_constant(client, login, world):
    student = world.student()
    make_user("student", student, username="student")

    def grow(k):
        for _ in range(k):
            employer = make_employer(approved_by=world.school)
            workflow.invite(employer, [student], valid_terms(), now=NOW)

    grow(FEW)
    login(client, "student")
    url = "/student/offers/"
    n_few, n_many = budget(client, url, r"/student/offers/(\d+)\"", grow)
    assert_constant(n_few, n_many, url)


def test_student_termination_list_query_count_is_constant(client, login, world):
    # Rows: agreements terminated one after the other (TERMINATION_LIMIT raised for the test),
    # then one certified with an open termination.
    current_app.config["TERMINATION_LIMIT"] = 100
    student = world.student()
    make_user("student", student, username="student")
    step = iter(range(1, 1000))

    def grow(k):
        for _ in range(k):
            day = next(step) * 3
            employer = make_employer(approved_by=world.school)
            a = workflow.invite(employer, [student], valid_terms(), now=at(days=day))[0]
            workflow.accept(student, a, now=at(days=day, hours=2))
            workflow.certify(world.reviewer, a, now=at(days=day, hours=3))
            t = workflow.request_termination(student, a, "个人原因", now=at(days=day, hours=4))
            t = workflow.agree_termination(employer, t, now=at(days=day, hours=5))
            workflow.approve_termination(world.reviewer, t, now=at(days=day, hours=6))

    try:
        grow(FEW)
        login(client, "student")
        url = "/student/terminations/"
        n_few, n_many = budget(client, url, r"/student/offers/(\d+)/detail\"", grow)
    finally:
        current_app.config["TERMINATION_LIMIT"] = 1
    assert_constant(n_few, n_many, url)


# ---------------------------------------------------------------- province

@pytest.mark.parametrize("url", ["/province/", "/stats/province/"])
def test_province_pages_query_count_is_constant(client, login, world, url, monkeypatch):
    monkeypatch.setitem(current_app.config, "STATS_CACHE_SECONDS", 0)  # count the SQL, not the cache
    other = make_school(code="10487", name="华中科技大学")
    approve(world.employer, other)
    make_user("province", username="province")
    world.certified(FEW)
    login(client, "province")
    n_few, _ = count_queries(client, url)
    world.certified(MANY - FEW)
    for _ in range(MANY):
        make_student(other)
    n_many, _ = count_queries(client, url)
    assert n_few == n_many, f"{url}: {n_few} statements with few students, {n_many} with many (N+1)"


# ---------------------------------------------------------------- page size cap

CAPPED = [
    ("reviewer", "/school/review/?status=all", r"/school/review/(\d+)\"", lambda w, k: w.accepted(k)),
    ("reviewer", "/school/terminations/?status=all", r"/school/terminations/(\d+)\"",
     lambda w, k: w.terminations_requested_by_students(k)),
    ("reviewer", "/school/destinations/?status=all", r"/school/destinations/(\d+)\"", lambda w, k: w.destinations(k)),
    ("employer", "/employer/offers/?tab=accepted", r"/employer/offers/(\d+)\"", lambda w, k: w.accepted(k)),
    ("employer", "/employer/terminations/?tab=signed", r"/employer/offers/(\d+)\"", lambda w, k: w.certified(k)),
]


@pytest.mark.parametrize("user, url, pattern, grow", CAPPED, ids=[c[1] for c in CAPPED])
def test_page_size_is_capped(client, login, world, user, url, pattern, grow):
    cap = 4
    current_app.config["PAGE_SIZE_MAX"] = cap
    try:
        grow(world, cap + 2)
        login(client, user)
        _n, html = count_queries(client, url + "&size=100000")
        assert rows_shown(html, pattern) == cap
        _n, html = count_queries(client, url + "&size=2")
        assert rows_shown(html, pattern) == 2
    finally:
        current_app.config["PAGE_SIZE_MAX"] = 100


def test_page_size_cap_default_is_page_size_max(app):
    # The cap the pages use by default (config.py): ?size=100000 shows at most PAGE_SIZE_MAX rows.
    from app.views.common import page_args

    with app.test_request_context("/?size=100000"):
        assert page_args()[1] == app.config["PAGE_SIZE_MAX"] == 100


def test_budget_detects_an_n_plus_one(client, login, world, monkeypatch):
    # The helper must see a per-row query: a page that loads each row's student again fails the budget.
    from app.models import Student
    from app.views import school as school_views

    class NPlusOnePage(school_views.Page):
        def __init__(self, query, count_query=None):
            super().__init__(query, count_query)
            for a, _s in self.items:
                db.session.expire_all()
                db.session.get(Student, a.student_id)

    monkeypatch.setattr(school_views, "Page", NPlusOnePage)
    world.accepted(FEW)
    login(client, "reviewer")
    n_few, n_many = budget(client, "/school/review/", r"/school/review/(\d+)\"", world.accepted)
    assert n_many - n_few >= MANY - FEW

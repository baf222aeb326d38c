"""Helpers of the test suite (no tests here; conftest.py offers some of them as fixtures).

factories     make_school, make_student, make_employer, make_user, offers in their states, valid terms
scenes        scene(): a school, its reviewer, an approved employer, students, offers in asked states
checks        count, reload, inbox, events, snapshot, refused, statements: reading the database back
web           IsolatedClient, the test client class
concurrency   at_once(): one call in several threads released together
database      which database the suite runs on (database_url, is_postgres)
jobs          SmtpStub, the private Redis database, the outbox rows of the mail tests
pdf           a rendered PDF read back (pdftotext, pdftoppm)
spreadsheets  builders of .xlsx/.csv files for the import tests
stats_world   the fixed, hand-counted data set of the statistics, export and console tests
axe           axe-core's serious/critical violations on a Playwright page (the desktop walk and the phone checks)
phone         check_page(): what a page must be at 390 px (overflow, overlap, touch targets, text, menu, axe-core)
browser_server  the real app served for tests/browser (`python -m tests.support.browser_server`)
"""

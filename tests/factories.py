"""Moved to tests/support/factories.py. This alias stays only for the callers outside this change's
reach that still import `tests.factories` (bench/documents.py, tests/test_jobs_expiry_bench.py);
delete it once they import tests.support.factories."""
from tests.support.factories import *  # noqa: F401,F403

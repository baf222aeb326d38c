"""Expiry at province scale: 100,000 due offers expired by the set-based `workflow.expire_due`
(one UPDATE … RETURNING and two INSERT … SELECT), against a per-row ORM loop on a slice of the same
data in the same process. Target (issue 7): ≤ 5 s for 100,000.

    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/<scratch db> \\
        .venv/bin/python bench/expiry_bench.py [N]

It runs tests/test_jobs_expiry_bench.py (which builds the data and checks every offer expired once
with one FlowEvent and one notice) with BENCH_N=N (default 100,000) and prints the timings.
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

if __name__ == "__main__":
    if not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        sys.exit("set TEST_DATABASE_URL to a scratch PostgreSQL database (it is wiped)")
    env = dict(os.environ, BENCH_N=sys.argv[1] if len(sys.argv) > 1 else "100000", PYTHONPATH=ROOT)
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                              os.path.join(ROOT, "tests", "test_jobs_expiry_bench.py")], env=env, cwd=ROOT))

"""Backups and the restore drill (docs/operations.md "Backup and restore"): deploy/backup.sh writes a
private set of the database and the upload store and keeps the newest BACKUP_KEEP sets;
deploy/restore_drill.py restores a set into a scratch database and directory and passes only when
the restored copy is the live data, naming the table or file that differs.

PostgreSQL only (pg_dump/pg_restore): the live database is TEST_DATABASE_URL; the drill's scratch
databases are restore_drill_* and none may be left behind.
"""
import importlib.util
import io
import os
import re
import stat
import subprocess
import sys
import tarfile
import time

import psycopg
import pytest

from app import uploads
from tests.support.database import is_postgres
from tests.support.factories import PDF_BYTES, make_student

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not is_postgres(), reason="pg_dump/pg_restore of a PostgreSQL database")]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKUP_SH = os.path.join(REPO, "deploy", "backup.sh")
DRILL_PY = os.path.join(REPO, "deploy", "restore_drill.py")


def _load_drill():
    spec = importlib.util.spec_from_file_location("restore_drill", DRILL_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


drill = _load_drill()


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def scratch_databases():
    url = drill.libpq_url(os.environ["TEST_DATABASE_URL"])
    with psycopg.connect(url, autocommit=True) as conn:
        return [name for (name,) in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'restore\\_drill\\_%'")]


@pytest.fixture(autouse=True)
def no_scratch_left():
    before = set(scratch_databases())  # (someone's `--keep`: not ours to drop)
    yield
    left = sorted(set(scratch_databases()) - before)
    for name in left:  # tidy up for the next test, then fail this one
        drill.drop_scratch(drill.libpq_url(os.environ["TEST_DATABASE_URL"]), name)
    assert left == [], "the drill left scratch databases behind"


@pytest.fixture
def store(app, tmp_path, monkeypatch):
    """The environment backup.sh and the drill read, as a deployment sets it; UPLOAD_DIR is also
    the app's, so uploads.save writes where they look."""
    root = tmp_path / "uploads"
    root.mkdir(mode=0o700)
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(root))
    monkeypatch.setenv("DATABASE_URL", os.environ["TEST_DATABASE_URL"])
    monkeypatch.setenv("UPLOAD_DIR", str(root))
    monkeypatch.setenv("BACKUP_DIR", str(tmp_path / "backups"))
    return root


@pytest.fixture
def proof_key(store):
    # a 纸质协议书扫描件, stored as app/workflow/review.py stores it
    return uploads.save(uploads.from_bytes(PDF_BYTES, "证明.pdf"), folder="paper")


def backup(**env):
    done = subprocess.run([BACKUP_SH], env={**os.environ, **env}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def run_drill(*args, before_compare=None):
    out = io.StringIO()
    status = drill.main(list(args), out=out, before_compare=before_compare)
    return status, out.getvalue()


def table_line(report, table):
    match = re.search(rf"^{table} +(\d+) +(\S+) +(.*)$", report, re.M)
    assert match, f"{table} not in the report:\n{report}"
    return match.groups()


def on_scratch(statement):
    def alter(scratch_url, _scratch_dir):
        assert scratch_url.rsplit("/", 1)[-1].startswith("restore_drill_")
        with psycopg.connect(scratch_url) as conn:
            assert conn.execute(statement).rowcount == 1
    return alter


# ---------------------------------------------------------------- backup.sh

def test_backup_set_is_private_and_leaves_purged_folders_out(signed, store, proof_key):
    from app.jobs.files import PURGED_FOLDERS

    for folder in PURGED_FOLDERS:
        (store / folder).mkdir()
        (store / folder / "personal.csv").write_text("身份证号")
    set_dir = backup()
    assert re.fullmatch(r".*/jiuye-\d{8}T\d{6}Z", set_dir)
    assert mode(set_dir) == 0o700
    assert sorted(os.listdir(set_dir)) == ["SHA256SUMS", "database.dump", "uploads.tar"]
    assert all(mode(os.path.join(set_dir, name)) == 0o600 for name in os.listdir(set_dir))
    subprocess.run(["sha256sum", "--check", "--quiet", "SHA256SUMS"], cwd=set_dir, check=True)
    with tarfile.open(os.path.join(set_dir, "uploads.tar")) as tar:
        files = {m.name for m in tar.getmembers() if m.isfile()}
    assert files == {"./" + proof_key}
    # The drill counts live files there as "not backed up", not as missing: the same folders.
    assert drill.SKIPPED_FOLDERS == PURGED_FOLDERS


def test_backup_keeps_the_newest_sets(store, tmp_path):
    backups = tmp_path / "backups"
    old = ["jiuye-20250101T023000Z", "jiuye-20250102T023000Z", "jiuye-20250103T023000Z"]
    for name in old + ["jiuye-20250104T023000Z.partial", "notes"]:
        (backups / name).mkdir(parents=True)
    new = os.path.basename(backup(BACKUP_KEEP="2"))
    assert sorted(os.listdir(backups)) == sorted(
        ["jiuye-20250103T023000Z", new, "jiuye-20250104T023000Z.partial", "notes"])


@pytest.mark.parametrize("url, message", [
    ("postgresql+psycopg://postgres@127.0.0.1:1/test_drill", "pg_dump of the database did not finish"),
    ("sqlite:///instance/app.db", "DATABASE_URL is not a PostgreSQL URL"),
])
def test_backup_fails_clearly_and_leaves_no_set(store, tmp_path, url, message):
    done = subprocess.run([BACKUP_SH], env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True)
    assert done.returncode != 0
    assert message in done.stderr
    assert not (tmp_path / "backups").exists() or os.listdir(tmp_path / "backups") == []


# ---------------------------------------------------------------- the drill

def test_drill_of_a_fresh_backup_matches(signed, store, proof_key):
    from app.extensions import db
    from app.models import FlowEvent, NumberCounter, Student

    done = subprocess.run([sys.executable, DRILL_PY, "--fresh"], capture_output=True, text=True, env=os.environ)
    assert done.returncode == 0, done.stdout + done.stderr
    report = done.stdout
    for table, model in (("student", Student), ("flow_event", FlowEvent), ("number_counter", NumberCounter)):
        live, restored, sample = table_line(report, table)
        assert int(live) == int(restored) == db.session.query(model).count() > 0
        assert sample == f"ok {min(int(live), 202)}/{min(int(live), 202)}"
    assert "uploads: 1 files identical (sha256), 0 differ, 0 missing" in report
    assert "RESULT: OK" in report
    scratch_dir = re.search(r"scratch directory (\S+)", report).group(1)
    assert not os.path.exists(scratch_dir)


@pytest.mark.parametrize("table, statement", [
    ("student", "UPDATE student SET name = name || '改' WHERE id = (SELECT min(id) FROM student)"),
    ("number_counter", "UPDATE number_counter SET last = last + 1"),  # a two-column primary key
    ("flow_event", "DELETE FROM flow_event WHERE id = (SELECT max(id) FROM flow_event)"),
])
def test_drill_fails_naming_the_table_whose_restored_rows_differ(signed, store, table, statement):
    status, report = run_drill("--fresh", before_compare=on_scratch(statement))
    assert status == 1
    assert table_line(report, table)[2].endswith("<-- MISMATCH")
    assert f"RESULT: FAILED — tables differ: {table}\n" in report
    assert table_line(report, "agreement")[2] == "ok 1/1"


def test_drill_fails_naming_a_restored_upload_that_differs(signed, store, proof_key):
    def alter(_scratch_url, scratch_dir):
        with open(os.path.join(scratch_dir, proof_key), "r+b") as fh:
            fh.write(b"%PDF-9")

    status, report = run_drill("--fresh", before_compare=alter)
    assert status == 1
    assert f"DIFFERS  {proof_key}\n" in report
    assert "RESULT: FAILED — upload files differ or missing: 1\n" in report


def test_drill_fails_on_an_old_upload_the_backup_lacks(signed, store, proof_key):
    def add_old_file(_scratch_url, _scratch_dir):
        path = store / "paper" / "older.pdf"
        path.write_bytes(PDF_BYTES)
        os.utime(path, (time.time() - 86400, time.time() - 86400))

    status, report = run_drill("--fresh", before_compare=add_old_file)
    assert status == 1
    assert "MISSING  paper/older.pdf\n" in report


def test_drill_of_an_older_set_reports_rows_written_since(signed, store):
    set_dir = backup()
    status, report = run_drill(set_dir)
    assert status == 0, report
    assert "compared with the live database as it is now" in report

    make_student(signed.school)
    status, report = run_drill(set_dir)
    assert status == 1
    live, restored, _sample = table_line(report, "student")
    assert int(live) == int(restored) + 1


def test_drill_refuses_a_damaged_set(signed, store):
    set_dir = backup()
    with open(os.path.join(set_dir, "database.dump"), "r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))
    status, report = run_drill(set_dir)
    assert status == 1
    assert "damaged files (SHA256SUMS): database.dump" in report


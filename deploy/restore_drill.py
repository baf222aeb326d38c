#!/usr/bin/env python3
"""Restore drill: restore a backup set (deploy/backup.sh) into a scratch database and a scratch
directory, and compare it with the live database and upload store.

    deploy/restore_drill.py --fresh            # backup.sh now, inside a snapshot, then the drill
    deploy/restore_drill.py BACKUP_DIR/jiuye-20260511T023000Z [--keep]

Settings come from the environment, as for the app and backup.sh: DATABASE_URL (SQLAlchemy URL of
the live PostgreSQL database), UPLOAD_DIR (default <repo>/instance/uploads), BACKUP_DIR (--fresh).

What it checks (docs/operations.md "The restore drill"):
- every table of the live database exists in the restored one with the same number of rows;
- for each table with a primary key, a sample of rows (up to --sample random keys plus the first
  and the last) has the same md5 of its text form on both sides;
- every file of the upload tar has the same sha256 as the live file of that name; a live file
  older than the backup that is missing from it is a failure.

With --fresh the live side is read in the REPEATABLE READ transaction whose exported snapshot
pg_dump dumped (pg_dump --snapshot), kept open until the comparison ends: both sides are the same
instant however busy the live database is. Given an older set, the live database is read as it is
now, so rows written since the backup show as differences (the report says so).

The scratch database is restore_drill_<UTC time>_<pid>, created on the live database's server
(or --scratch-server) and dropped at the end unless --keep; the drill never drops any other
database. Exit status 0 only when everything matches.
"""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SCRATCH_PREFIX = "restore_drill_"
# backup.sh leaves these out of the tar; they are app.jobs.files.PURGED_FOLDERS (the purged
# export and import files), which tests/test_restore_drill.py checks.
SKIPPED_FOLDERS = ("exports", "imports")
# Both sides render rows with the same settings, so equal rows give equal text.
SESSION_SETTINGS = {"TimeZone": "UTC", "DateStyle": "ISO, YMD", "IntervalStyle": "postgres",
                    "extra_float_digits": "3", "bytea_output": "hex"}


def libpq_url(url):
    """SQLAlchemy's postgresql+psycopg://… (any driver) → libpq's postgresql://… (as backup.sh)."""
    libpq = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)
    if not libpq.startswith("postgresql://"):
        raise SystemExit(f"restore_drill: DATABASE_URL is not a PostgreSQL URL: {shown(url)}")
    return libpq


def with_database(url, name):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def shown(url):
    """The URL without its password, for the report."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def connect(url, **kw):
    conn = psycopg.connect(url, **kw)
    for name, value in SESSION_SETTINGS.items():
        conn.execute(sql.SQL("SELECT set_config({}, {}, false)").format(name, value))
    conn.commit()
    return conn


# ---------------------------------------------------------------- backup set

@dataclass
class BackupSet:
    path: str

    @property
    def dump(self):
        return os.path.join(self.path, "database.dump")

    @property
    def tar(self):
        return os.path.join(self.path, "uploads.tar")

    def made_at(self):
        """The set's time from its name (jiuye-20260511T023000Z), else the dump's mtime."""
        match = re.search(r"(\d{8}T\d{6}Z)$", self.path.rstrip("/"))
        if match:
            return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()
        return os.stat(self.dump).st_mtime

    def damaged_files(self):
        """Names in SHA256SUMS whose file no longer has that sha256."""
        damaged = []
        with open(os.path.join(self.path, "SHA256SUMS")) as fh:
            for line in fh:
                digest, name = line.split(maxsplit=1)
                if sha256_of(os.path.join(self.path, name.strip().lstrip("*"))) != digest:
                    damaged.append(name.strip())
        return damaged


def fresh_backup(snapshot, env=None):
    """Run backup.sh with PG_SNAPSHOT; returns the new set."""
    env = dict(env or os.environ, PG_SNAPSHOT=snapshot)
    done = subprocess.run([os.path.join(HERE, "backup.sh")], env=env, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"restore_drill: backup.sh failed (exit {done.returncode})")
    return BackupSet(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- scratch database and directory

def scratch_name():
    return f"{SCRATCH_PREFIX}{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}_{os.getpid()}"


def create_scratch(server_url, name):
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_scratch(server_url, name):
    if not name.startswith(SCRATCH_PREFIX):  # never anything the drill did not create
        raise ValueError(f"not a scratch database: {name}")
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def restore_database(dump, scratch_url):
    # --no-owner/--no-privileges: the drill's user owns what it restores; the data is what counts.
    done = subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                           "--dbname", scratch_url, dump])
    if done.returncode != 0:
        raise SystemExit(f"restore_drill: pg_restore into the scratch database failed (exit {done.returncode})")


def restore_uploads(tar, directory):
    done = subprocess.run(["tar", "--extract", "--no-same-owner", "--file", tar, "--directory", directory])
    if done.returncode != 0:
        raise SystemExit(f"restore_drill: extracting {tar} failed (exit {done.returncode})")


# ---------------------------------------------------------------- database comparison

@dataclass
class TableResult:
    name: str
    live: int
    restored: int | None  # None: the table is missing from the restored database
    sampled: int = 0
    differing: list = field(default_factory=list)  # primary keys whose rows differ
    has_key: bool = True

    @property
    def ok(self):
        return self.restored == self.live and not self.differing


def tables(conn):
    """[(schema, table, [primary key columns], [their types])] of the user's tables."""
    rows = conn.execute("""
        SELECT n.nspname, c.relname,
               coalesce(array_agg(a.attname ORDER BY k.ord) FILTER (WHERE a.attname IS NOT NULL), '{}'),
               coalesce(array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY k.ord)
                        FILTER (WHERE a.attname IS NOT NULL), '{}')
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_constraint p ON p.conrelid = c.oid AND p.contype = 'p'
          LEFT JOIN LATERAL unnest(p.conkey) WITH ORDINALITY AS k(attnum, ord) ON true
          LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
         GROUP BY n.nspname, c.relname
         ORDER BY n.nspname, c.relname""").fetchall()
    return [(schema, table, list(keys), list(types)) for schema, table, keys, types in rows]


def sample_keys(conn, table, keys, size):
    """Up to `size` random primary keys plus the first and the last, each as a tuple of text."""
    cols = sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(k)) for k in keys)
    order = sql.SQL(", ").join(sql.Identifier(k) for k in keys)
    desc = sql.SQL(", ").join(sql.SQL("{} DESC").format(sql.Identifier(k)) for k in keys)
    picked = set()
    for clause, limit in ((sql.SQL("random()"), size), (order, 1), (desc, 1)):
        query = sql.SQL("SELECT {} FROM {} ORDER BY {} LIMIT {}").format(cols, table, clause, limit)
        picked.update(tuple(row) for row in conn.execute(query))
    return sorted(picked)


def row_hashes(conn, table, keys, types, picked):
    """{primary key: md5 of the row's text form} for the picked keys present in `table`."""
    if not picked:
        return {}
    arrays = list(zip(*picked))
    unnest = sql.SQL(", ").join(sql.SQL("CAST(%s AS text[])::{}[]").format(sql.SQL(t)) for t in types)
    key_cols = sql.SQL(", ").join(sql.Identifier(k) for k in keys)
    # (an alias no column of ours is named: a column of the alias's name would shadow the row)
    key_text = sql.SQL(", ").join(sql.SQL("drill_row.{}::text").format(sql.Identifier(k)) for k in keys)
    query = sql.SQL("SELECT {key_text}, md5(drill_row::text) FROM {table} AS drill_row"
                    " WHERE ({key_cols}) IN (SELECT * FROM unnest({unnest}))").format(
        key_text=key_text, table=table, key_cols=key_cols, unnest=unnest)
    return {tuple(row[:-1]): row[-1] for row in conn.execute(query, [list(a) for a in arrays])}


def compare_databases(live, restored, sample=200):
    """One TableResult per table of the live database (read in `live`'s current transaction)."""
    restored_tables = {(s, t) for s, t, _k, _t in tables(restored)}
    results = []
    for schema, name, keys, types in tables(live):
        table = sql.Identifier(schema, name)
        label = name if schema == "public" else f"{schema}.{name}"
        count = sql.SQL("SELECT count(*) FROM {}").format(table)
        live_count = live.execute(count).fetchone()[0]
        if (schema, name) not in restored_tables:
            results.append(TableResult(label, live_count, None, has_key=bool(keys)))
            continue
        result = TableResult(label, live_count, restored.execute(count).fetchone()[0], has_key=bool(keys))
        if keys:
            picked = sample_keys(live, table, keys, sample)
            mine = row_hashes(live, table, keys, types, picked)
            theirs = row_hashes(restored, table, keys, types, picked)
            result.sampled = len(picked)
            result.differing = [k for k in picked if mine.get(k) != theirs.get(k)]
        results.append(result)
    return results


# ---------------------------------------------------------------- upload store comparison

def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_under(root):
    """{relative path: absolute path} of the regular files under root."""
    found = {}
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            if os.path.isfile(path) and not os.path.islink(path):
                found[os.path.relpath(path, root)] = path
    return found


@dataclass
class UploadResult:
    matching: int = 0
    differing: list = field(default_factory=list)  # in both, other content: a failure
    missing: list = field(default_factory=list)  # live, older than the backup, not in it: a failure
    gone_since: list = field(default_factory=list)  # in the backup, no longer live (deleted since)
    newer: int = 0  # live files written after the backup
    skipped: int = 0  # live files in SKIPPED_FOLDERS

    @property
    def ok(self):
        return not self.differing and not self.missing


def compare_uploads(live_root, restored_root, made_at):
    result = UploadResult()
    restored = files_under(restored_root)
    live = files_under(live_root) if os.path.isdir(live_root) else {}
    for rel, path in sorted(restored.items()):
        if rel not in live:
            result.gone_since.append(rel)
        elif sha256_of(path) == sha256_of(live[rel]):
            result.matching += 1
        else:
            result.differing.append(rel)
    for rel, path in sorted(live.items()):
        if rel in restored:
            continue
        if rel.split(os.sep, 1)[0] in SKIPPED_FOLDERS:
            result.skipped += 1
        elif os.lstat(path).st_mtime >= made_at:
            result.newer += 1
        else:
            result.missing.append(rel)
    return result


# ---------------------------------------------------------------- report

def report(out, results, uploads):
    width = max([len("table")] + [len(r.name) for r in results])
    out.write(f"{'table':<{width}}  {'live':>9}  {'restored':>9}  sample\n")
    for r in results:
        restored = "missing" if r.restored is None else str(r.restored)
        if not r.has_key:
            sample = "no primary key"
        elif r.restored is None:
            sample = "-"
        elif r.differing:
            sample = f"DIFFERS {len(r.differing)}/{r.sampled}: " + ", ".join(
                "(" + ",".join(k) + ")" for k in r.differing[:5])
        else:
            sample = f"ok {r.sampled}/{r.sampled}"
        flag = "" if r.ok else "   <-- MISMATCH"
        out.write(f"{r.name:<{width}}  {r.live:>9}  {restored:>9}  {sample}{flag}\n")
    out.write(f"\nuploads: {uploads.matching} files identical (sha256), {len(uploads.differing)} differ, "
              f"{len(uploads.missing)} missing from the backup; {len(uploads.gone_since)} deleted since the "
              f"backup, {uploads.newer} written after it, {uploads.skipped} in {'/, '.join(SKIPPED_FOLDERS)}/ "
              "(not backed up)\n")
    for rel in uploads.differing:
        out.write(f"  DIFFERS  {rel}\n")
    for rel in uploads.missing:
        out.write(f"  MISSING  {rel}\n")
    bad = [r.name for r in results if not r.ok]
    if bad or not uploads.ok:
        parts = ([f"tables differ: {', '.join(bad)}"] if bad else []) + (
            [f"upload files differ or missing: {len(uploads.differing) + len(uploads.missing)}"]
            if not uploads.ok else [])
        out.write("RESULT: FAILED — " + "; ".join(parts) + "\n")
        return False
    rows = sum(r.live for r in results)
    out.write(f"RESULT: OK — {len(results)} tables, {rows} rows, {uploads.matching} files match\n")
    return True


# ---------------------------------------------------------------- the drill

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("set", nargs="?", help="a backup set directory made by backup.sh")
    which.add_argument("--fresh", action="store_true",
                       help="make a set with backup.sh first (into BACKUP_DIR), from the snapshot compared")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database and directory")
    parser.add_argument("--sample", type=int, default=200, help="random rows hashed per table (default 200)")
    parser.add_argument("--scratch-server", help="libpq URL of another server for the scratch database")
    return parser.parse_args(argv)


def main(argv=None, out=sys.stdout, before_compare=None):
    """Run the drill; returns the exit status. `before_compare(scratch_url, scratch_dir)` runs
    after the restore and before the comparison (the tests alter the restored copy there)."""
    args = parse_args(argv)
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("restore_drill: DATABASE_URL is not set")
    live_url = libpq_url(os.environ["DATABASE_URL"])
    upload_dir = os.environ.get("UPLOAD_DIR") or os.path.join(REPO, "instance", "uploads")
    server_url = libpq_url(args.scratch_server) if args.scratch_server else live_url
    name = scratch_name()
    scratch_url = with_database(server_url, name)
    scratch_dir = None
    created = False
    # The live side: one REPEATABLE READ transaction, open until the comparison is done.
    live = connect(live_url)
    try:
        live.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        live.read_only = True
        if args.fresh:
            snapshot = live.execute("SELECT pg_export_snapshot()").fetchone()[0]
            backup = fresh_backup(snapshot)
            how = f"made now by backup.sh from snapshot {snapshot}, compared in that snapshot"
        else:
            live.execute("SELECT 1")  # the transaction (and its snapshot) starts here
            backup = BackupSet(os.path.abspath(args.set))
            age = (time.time() - backup.made_at()) / 3600
            how = (f"made {age:.1f} h ago, compared with the live database as it is now "
                   "(rows written since then show as differences)")
        damaged = backup.damaged_files()
        if damaged:
            out.write(f"backup set {backup.path}: damaged files (SHA256SUMS): {', '.join(damaged)}\n")
            return 1
        out.write(f"restore drill of {backup.path}\n  {how}\n"
                  f"  live {shown(live_url)}, upload store {upload_dir}\n"
                  f"  scratch database {name}, ")
        scratch_dir = tempfile.mkdtemp(prefix=SCRATCH_PREFIX)
        out.write(f"scratch directory {scratch_dir}\n\n")
        out.flush()
        create_scratch(server_url, name)
        created = True
        started = time.monotonic()
        restore_database(backup.dump, scratch_url)
        restore_uploads(backup.tar, scratch_dir)
        if before_compare:
            before_compare(scratch_url, scratch_dir)
        with connect(scratch_url) as restored:
            results = compare_databases(live, restored, args.sample)
        uploads = compare_uploads(upload_dir, scratch_dir, backup.made_at())
        ok = report(out, results, uploads)
        out.write(f"(restore and comparison took {time.monotonic() - started:.1f} s)\n")
        return 0 if ok else 1
    finally:
        live.close()
        if args.keep:
            if created:
                out.write(f"kept: database {name}, directory {scratch_dir}\n")
        else:
            if created:
                drop_scratch(server_url, name)
            if scratch_dir:
                shutil.rmtree(scratch_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

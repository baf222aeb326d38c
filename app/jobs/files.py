"""Files with personal data kept only as long as needed: export files (uploads/exports/<user>/)
and import files (uploads/imports/: uploaded spreadsheets a killed run left behind, error
reports) older than EXPORT_RETENTION_DAYS are deleted by the daily `purge_old_files` (cron.py).
Proofs (uploads/proofs/) belong to agreements and stay. A run page whose file is gone answers that
the file no longer exists (export_path → None), so the purge needs no database change."""
import os
import time

from . import in_app

PURGED_FOLDERS = ("exports", "imports")


def purge(now=None):
    """Delete the files older than the retention; returns how many. Safe to run twice at once
    (a file another run deleted first is skipped)."""
    from flask import current_app

    days = current_app.config["EXPORT_RETENTION_DAYS"]
    cutoff = (now if now is not None else time.time()) - days * 86400
    removed = 0
    for folder in PURGED_FOLDERS:
        root = os.path.join(current_app.config["UPLOAD_DIR"], folder)
        for directory, _dirs, files in os.walk(root):
            for name in files:
                path = os.path.join(directory, name)
                try:
                    if os.lstat(path).st_mtime < cutoff:
                        os.remove(path)
                        removed += 1
                except FileNotFoundError:
                    continue
    if removed:
        current_app.logger.info("purge_old_files: %d files older than %d days deleted", removed, days)
    return removed


def purge_old_files(now=None):
    """The cron entry (a worker builds the app)."""
    return in_app(purge, now)

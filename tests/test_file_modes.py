"""Files with personal data are the app's own (issue 16, finding 10): uploads, import files, exports,
the SQLite database and instance/secret_key are 0600 in 0700 folders; export and import files are
purged after EXPORT_RETENTION_DAYS; production refuses to start without SECRET_KEY and warns about
a per-process rate-limit store."""
import logging
import os
import stat
import time
from types import SimpleNamespace

import pytest

from app import uploads
from tests.support.factories import PDF_BYTES, make_user


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def upload_dir(app, tmp_path, monkeypatch):
    """A fresh UPLOAD_DIR made the way an operator's mkdir (umask 022) makes it: 0755."""
    root = tmp_path / "uploads"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(root))
    return root


def test_uploaded_proof_and_import_file_are_private(app, upload_dir):
    for folder in ("proofs", "imports"):
        key = uploads.save(uploads.from_bytes(PDF_BYTES, "证明.pdf"), folder=folder)
        path = uploads.path_of(key)
        assert mode(path) == 0o600, key
        assert mode(os.path.dirname(path)) == 0o700
    assert mode(upload_dir) == 0o700


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_file_is_private(stats_world, upload_dir, fmt):
    from app.jobs import exports

    prov = make_user("province", username="prov")
    result = exports.certified_list(SimpleNamespace(user_id=prov.id), {"year": 2026, "format": fmt},
                                    lambda done, total=None: None)
    path = exports.export_path(prov.id, result["file"])
    assert result["rows"] > 0 and mode(path) == 0o600
    assert mode(os.path.dirname(path)) == 0o700 and mode(upload_dir / "exports") == 0o700


def test_sqlite_database_file_is_private(tmp_path):
    from app import create_app

    existing = tmp_path / "old.db"
    existing.write_bytes(b"")
    os.chmod(existing, 0o644)  # made by an earlier release
    for path in (tmp_path / "data" / "new.db", existing):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "TESTING": True, "SECRET_KEY": "k" * 32,
                    "REDIS_URL": None})
        assert mode(path) == 0o600, path
    assert mode(tmp_path / "data") == 0o700


def test_instance_secret_key_is_private(tmp_path, monkeypatch):
    import config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(config, "INSTANCE_DIR", str(tmp_path / "instance"))
    key = config._secret_key()
    assert len(key) >= 48 and config._secret_key() == key  # made once, then read
    assert mode(tmp_path / "instance" / "secret_key") == 0o600 and mode(tmp_path / "instance") == 0o700


# ---------------------------------------------------------------- purge (cron)

def test_purge_old_files_deletes_old_exports_and_imports_only(app, upload_dir, monkeypatch):
    from app.jobs.files import purge_old_files

    monkeypatch.setitem(app.config, "EXPORT_RETENTION_DAYS", 7)
    now = time.time()
    files = {}
    for folder, age_days in [("exports/12", 8), ("exports/12", 6), ("imports", 8), ("imports", 1), ("proofs", 400)]:
        os.makedirs(upload_dir / folder, exist_ok=True)
        path = upload_dir / folder / f"f{age_days}.bin"
        path.write_bytes(b"x")
        os.utime(path, (now - age_days * 86400, now - age_days * 86400))
        files[(folder, age_days)] = path
    assert purge_old_files(now=now) == 2
    assert not files[("exports/12", 8)].exists() and not files[("imports", 8)].exists()
    assert files[("exports/12", 6)].exists() and files[("imports", 1)].exists()
    assert files[("proofs", 400)].exists()  # proofs belong to agreements: kept
    assert purge_old_files(now=now) == 0  # twice is harmless


def test_purge_is_scheduled_daily():
    import importlib

    from rq import cron

    import app.jobs.cron as schedule

    cron._job_data_registry.clear()
    importlib.reload(schedule)
    entries = {d["func"].__name__: d for d in cron._job_data_registry}
    cron._job_data_registry.clear()
    assert entries["purge_old_files"]["cron"] == "17 3 * * *"


def test_purged_export_answers_404(stats_world, client, login, upload_dir, app, monkeypatch):
    from app.jobs.files import purge_old_files

    make_user("province", username="prov")
    login(client, "prov")
    r = client.post("/stats/province/export", data={"year": "2026", "format": "csv"})
    job_url = r.headers["Location"]
    assert client.get(job_url + "/download").status_code == 200
    monkeypatch.setitem(app.config, "EXPORT_RETENTION_DAYS", 0)
    assert purge_old_files(now=time.time() + 1) == 1
    assert client.get(job_url + "/download").status_code == 404


# ---------------------------------------------------------------- start-up checks

@pytest.fixture
def production_env(monkeypatch, tmp_path):
    for name in ("SECRET_KEY", "APP_ENV", "FLASK_DEBUG", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}", "APP_ENV": "production",
            "TESTING": False, "REDIS_URL": None, "RATELIMIT_STORAGE_URI": "memory://"}


def test_production_refuses_to_start_without_secret_key(production_env):
    from app import create_app

    with pytest.raises(RuntimeError, match="SECRET_KEY 未设置"):
        create_app(production_env)


def test_production_starts_with_secret_key_and_warns_about_memory_limiter(production_env, monkeypatch, caplog):
    from app import create_app

    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    with caplog.at_level(logging.WARNING):
        create_app(production_env)
    assert any("RATELIMIT_STORAGE_URI is memory://" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        create_app({**production_env, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"})
    assert not any("memory://" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("how", ["APP_ENV", "FLASK_DEBUG"])
def test_development_starts_with_the_instance_key(production_env, monkeypatch, caplog, how):
    from app import create_app

    overrides = dict(production_env)
    if how == "APP_ENV":
        overrides["APP_ENV"] = "development"  # (config.py reads the variable once, at import)
    else:
        del overrides["APP_ENV"]
        monkeypatch.setenv("FLASK_DEBUG", "1")  # Flask reads it for every new app
    with caplog.at_level(logging.WARNING):
        create_app(overrides)
    assert not any("memory://" in r.getMessage() for r in caplog.records)  # one process: fine
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    with caplog.at_level(logging.WARNING):
        create_app(overrides)
    assert any("RATELIMIT_STORAGE_URI is memory://" in r.getMessage() for r in caplog.records)

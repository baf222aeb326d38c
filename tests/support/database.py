"""Which database the suite runs on: TEST_DATABASE_URL (PostgreSQL, the second half of `make test`)
or a fresh SQLite file in pytest's tmp dir."""
import os


def database_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")


def is_postgres():
    return os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")

"""The real app for the browser tests, in its own process: `python -m tests.support.browser_server DB UPLOADS PORT`.

A fresh SQLite file: tables from FAB's `Model.metadata`, roles synced, the demo world of
`flask demo seed` (app/demo.py), plus one graduate who has never logged in (a roster login: no
password until the student activates it by an SMS code, R18; not verified). Then werkzeug's
`make_server` on 127.0.0.1:PORT, threaded. Prints `READY` when it accepts connections.

Settings for the tests: cooling-off 0 minutes (R5 is a setting, nothing sleeps), no rate limits,
uploads in the tmp dir, CSRF on (the browser sends the tokens like a person's would), the dev SMS
backend (codes land in `sms_message`), cheap password hashing.
"""
import sys

NEW_STUDENT = {
    "student_no": "2023301019901", "name": "欧阳新生", "gender": "女", "phone": "13886009901",
    "education": "本科生毕业", "department": "计算机学院", "major": "软件工程",
}


def build(db_path, upload_dir):
    from datetime import datetime

    from flask_appbuilder import Model
    from sqlalchemy import event

    from app import accounts, create_app, demo
    from app.extensions import db
    from app.models import School, Student
    from app.security import sync_roles

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + db_path,
        "SECRET_KEY": "browser-tests-secret-0123456789abcdef",
        "SERVER_NAME": None,
        "REDIS_URL": None,
        "RATELIMIT_ENABLED": False,
        "COOLING_OFF_MINUTES": 0,
        "UPLOAD_DIR": upload_dir,
        "SMS_BACKEND": "dev",
        "MAIL_SERVER": None,
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "FAB_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    })
    with app.app_context():
        # A throw-away file: no fsync per commit (the demo seed commits a lot); WAL so the tests
        # can read (SMS codes) while the server writes.
        @event.listens_for(db.engine, "connect")
        def _fast_sqlite(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA synchronous=OFF")
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

        db.engine.dispose()
        Model.metadata.create_all(db.engine)
        sync_roles(app.appbuilder)
        demo.seed()
        school = db.session.query(School).filter_by(code="10486").one()
        year = demo.graduation_year()
        student = Student(
            school_id=school.id, graduation_year=year, training_mode="non_targeted",
            id_number=demo.id_number("420111", datetime(year - 22, 3, 9), 321, False),
            address="湖北省武汉市武昌区八一路299号", email=None, verified_at=None,
            signing_restricted=False, plan_submitted=False, **NEW_STUDENT)
        db.session.add(student)
        db.session.flush()
        accounts.create_login(student)
        db.session.remove()
    return app


def main(db_path, upload_dir, port):
    from werkzeug.serving import make_server

    app = build(db_path, upload_dir)
    server = make_server("127.0.0.1", int(port), app, threaded=True)
    print("READY", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:4])

"""Agreement PDF: uncached render vs cached fetch (issue 6 targets: render ≤ 1 s, cached ≤ 50 ms).

    PYTHONPATH=. .venv/bin/python bench/documents.py [--n 10] [--database-url URL]

Builds one school, employer and N certified agreements through app.workflow on a throw-away
SQLite database (or the URL given: its tables are dropped and re-created), then times
  render  documents.render_agreement (Jinja HTML + QR + wkhtmltopdf), never stored;
  first   documents.agreement_pdf on an empty store (render + store);
  cached  documents.agreement_pdf again (HTML fingerprint + one SELECT of the stored PDF);
  http    GET /documents/agreement/<id>.pdf by the student, served from the store.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    from flask_appbuilder import Model

    from app import create_app, documents
    from app.extensions import db
    from app.security import sync_roles
    from tests.support import factories as f
    from tests.support.web import IsolatedClient

    url = args.database_url or "sqlite:///" + os.path.join(tempfile.mkdtemp(), "bench.db")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False, "SECRET_KEY": "bench", "REDIS_URL": None,
                      "FAB_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    app.test_client_class = IsolatedClient
    with app.app_context():
        Model.metadata.drop_all(db.engine)
        Model.metadata.create_all(db.engine)
        sync_roles(app.appbuilder)
        school = f.make_school()
        employer = f.make_employer(approved_by=school)
        reviewer = f.make_reviewer(school)
        agreements, students = [], []
        for _ in range(args.n):
            student = f.make_student(school)
            students.append(student)
            agreements.append(f.certified_offer(employer, student, reviewer))

        def timed(fn, items):
            out = []
            for item in items:
                start = time.perf_counter()
                fn(item)
                out.append((time.perf_counter() - start) * 1000)
            return out

        results = {
            "render": timed(documents.render_agreement, agreements),
            "first": timed(documents.agreement_pdf, agreements),
            "cached": timed(documents.agreement_pdf, agreements),
        }
        user = f.make_user("student", students[0])
        client = app.test_client()
        f.login(client, user.username)
        target = f"/documents/agreement/{agreements[0].id}.pdf"
        assert client.get(target).data.startswith(b"%PDF")

        def fetch(_):
            assert client.get(target).status_code == 200

        results["http"] = timed(fetch, range(args.n))
        size = len(documents.agreement_pdf(agreements[0]))
        print(f"database: {db.engine.url.get_backend_name()}, agreements: {args.n}, PDF size: {size // 1024} KiB")
        for name, values in results.items():
            print(f"{name:7s} median {statistics.median(values):7.1f} ms   max {max(values):7.1f} ms")
        db.session.remove()


if __name__ == "__main__":
    main()

"""The test client class (conftest.py's `client`, second apps built by tests, bench/documents.py) and
small helpers of the page tests."""
import contextvars
import io

from flask.testing import FlaskClient


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh contextvars context, so it pushes its own app context.

    Tests run inside an app context (factories need one); Flask would otherwise reuse it for the
    request, and `g` (Flask-Login's cached user, our party cache) and the db session would leak
    from one request — or one client — to the next. After the request the test's own session
    is expired so it re-reads what the request committed.
    (Side effect: `with client:` cannot keep the request context alive after a request.)"""

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        from flask import has_app_context

        from app.extensions import db

        if has_app_context():
            db.session.expire_all()
        return response


def switch(client, user):
    """Log out whoever is logged in on `client`, then log in as `user` (a login row)."""
    from tests.support.factories import login, logout

    logout(client)
    login(client, user.username)


def form_with_file(fields, data=None, name="scan.pdf"):
    """A multipart form: `fields` plus the upload `proof` (default: a small PDF)."""
    from tests.support.factories import PDF_BYTES

    payload = dict(fields)
    payload["proof"] = (io.BytesIO(PDF_BYTES if data is None else data), name)
    return payload


def redirect_of(response):
    """(status, Location) of a response: `assert redirect_of(r) == (302, "/employer/confirm")`."""
    return response.status_code, response.headers.get("Location")

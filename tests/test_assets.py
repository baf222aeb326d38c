"""Fingerprinted static URLs (issue 25, app/assets.py): a static file asked for with its current
`?v=<digest>` is kept by the browser for a year (`Cache-Control: public, max-age=31536000,
immutable`); the same file without `v`, with a stale `v`, a missing file and every page are not."""
import re

import pytest
from flask import url_for

from app.assets import IMMUTABLE, asset_url

STATIC_LINK = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def cache_control(client, url):
    response = client.get(url)
    try:
        return response.status_code, response.headers.get("Cache-Control", "")
    finally:
        response.close()


def fingerprinted(app, filename, endpoint="static"):
    with app.test_request_context():
        return asset_url(filename, endpoint)


@pytest.mark.parametrize("filename, endpoint", [
    ("mobile.css", "static"),
    ("portal.js", "static"),
    ("css/bootstrap.min.css", "appbuilder.static"),  # FAB's static folder
])
def test_a_fingerprinted_static_url_is_cached_for_a_year(app, client, filename, endpoint):
    url = fingerprinted(app, filename, endpoint)
    assert re.search(r"\?v=[0-9a-f]{12}$", url), url
    assert cache_control(client, url) == (200, IMMUTABLE)
    assert IMMUTABLE == "public, max-age=31536000, immutable"


def test_the_same_file_without_or_with_a_stale_fingerprint_is_revalidated(app, client):
    url = fingerprinted(app, "mobile.css")
    plain, stale = url.split("?")[0], url[:-12] + "0" * 12
    for other in (plain, stale):
        status, header = cache_control(client, other)
        assert status == 200, other
        assert "immutable" not in header and "max-age=31536000" not in header, (other, header)


def test_a_missing_file_or_a_path_out_of_the_folder_is_not_cached(app, client):
    with app.test_request_context():
        digest = asset_url("mobile.css").rsplit("=", 1)[1]
        missing = url_for("static", filename="no-such-file.css", v=digest)
    status, header = cache_control(client, missing)
    assert status == 404 and "immutable" not in header
    status, header = cache_control(client, f"/static/../config.py?v={digest}")
    assert status == 404 and "immutable" not in header


def test_pages_link_fingerprinted_files_and_are_never_cached(client, login, signed):
    """The login page and a student's home (what a phone opens first) link every static file of
    ours with its fingerprint; the pages themselves stay no-store (app/headers.py)."""
    pages = [client.get("/login/?mode=student")]
    login(client, signed.student_user.username)
    pages.append(client.get("/student/", follow_redirects=True))
    for response in pages:
        assert response.status_code == 200
        header = response.headers["Cache-Control"]
        assert "no-store" in header and "immutable" not in header, header
        links = STATIC_LINK.findall(response.get_data(as_text=True))
        assert links and all("?v=" in link for link in links), links
        for link in links:
            assert cache_control(client, link.replace("&amp;", "&")) == (200, IMMUTABLE), link

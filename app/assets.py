"""Fingerprinted static URLs with far-future caching (issue 25: a phone downloads the portal's CSS
and JS once).

`asset_url('portal.css')` (our static folder) or `asset_url('css/bootstrap.min.css',
'appbuilder.static')` (FAB's) is the file's URL plus `?v=<first 12 hex of its SHA-256>`. A request
for a static file that carries the file's current `v` gets `Cache-Control: public,
max-age=31536000, immutable`: the browser keeps it for a year without asking again, and a changed
file has a new URL. Without `v` (or with a stale one) Flask's default stays: the browser revalidates
(ETag / Last-Modified, 304).

Digests are kept per (path, mtime, size): one stat per URL, a file edited under `flask run` gets a
new URL without a restart.
"""
import hashlib
import os

from flask import current_app, request, url_for

YEAR_SECONDS = 365 * 24 * 3600
IMMUTABLE = f"public, max-age={YEAR_SECONDS}, immutable"
_digests = {}


def _folder(endpoint):
    if endpoint == "static":
        return current_app.static_folder
    return current_app.blueprints[endpoint.rpartition(".")[0]].static_folder


def _digest(path):
    stat = os.stat(path)
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _digests:
        with open(path, "rb") as f:
            _digests[key] = hashlib.sha256(f.read()).hexdigest()[:12]
    return _digests[key]


def asset_url(filename, endpoint="static"):
    return url_for(endpoint, filename=filename, v=_digest(os.path.join(_folder(endpoint), filename)))


def far_future(response):
    endpoint = request.endpoint or ""
    version = request.args.get("v")
    if version and response.status_code == 200 and (endpoint == "static" or endpoint.endswith(".static")):
        filename = (request.view_args or {}).get("filename", "")
        folder = _folder(endpoint)
        path = os.path.realpath(os.path.join(folder, filename))
        if path.startswith(os.path.realpath(folder) + os.sep) and os.path.isfile(path) and _digest(path) == version:
            response.headers["Cache-Control"] = IMMUTABLE
    return response


def init_assets(app):
    app.after_request(far_future)

"""Security headers of every response (Flask-Talisman), and no caching of what is not a static file.

- Content-Security-Policy: scripts only from this origin or an inline <script> carrying the
  request's nonce (`csp_nonce()` in templates; FAB's `baselib.get_nonce()` and Flask-Admin's
  `admin_csp_nonce_attribute` read the same one). No 'unsafe-inline' or 'unsafe-eval' for scripts:
  inline event handlers (onclick=…) and javascript: URLs do not run; app/static/portal.js does
  their work from data-* attributes. Styles keep 'unsafe-inline': our templates, FAB's and
  Flask-Admin's carry style="" attributes, and a style cannot run code.
- frame-ancestors 'none' and X-Frame-Options DENY: no page (the accept and certify buttons) can be
  framed by another site (clickjacking).
- Referrer-Policy same-origin: URLs (ids, search terms) never leave for another site.
- HSTS and the redirect to https only when PUBLIC_BASE_URL is https: a development or test server
  on http is not redirected, and a browser is never told to insist on https for a plain-http host.
- Cache-Control: no-store on every response but static files: pages show ID numbers and phones,
  downloads (xlsx exports, agreement PDFs, uploaded proofs) carry them; neither the browser nor a
  shared proxy may keep a copy (logout, a shared computer in a school office).
"""
from flask import request
from flask_talisman import DENY, Talisman

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",  # + the request's nonce (content_security_policy_nonce_in)
    "style-src": "'self' 'unsafe-inline'",
    # data: images: Bootstrap 4's stylesheet (the console) draws its icons as data: SVGs.
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
REFERRER_POLICY = "same-origin"
HSTS_SECONDS = 365 * 24 * 3600


def init_headers(app):
    """Registered first in create_app, so the nonce exists even for a request an extension refuses
    in its own before_request (CSRF, rate limit): its error page keeps its scripts."""
    https = app.config.get("PUBLIC_BASE_URL", "").lower().startswith("https://")
    # One Talisman per app: it keeps its options on itself, and tests build many apps.
    app.extensions["talisman"] = Talisman(
        app,
        force_https=https,
        strict_transport_security=https,
        strict_transport_security_max_age=HSTS_SECONDS,
        content_security_policy=CSP,
        content_security_policy_nonce_in=["script-src"],
        frame_options=DENY,
        referrer_policy=REFERRER_POLICY,
        # Talisman would otherwise force these cookie settings; config.py owns them.
        session_cookie_secure=https,
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
        session_cookie_http_only=app.config.get("SESSION_COOKIE_HTTPONLY", True),
    )
    app.after_request(no_store)


def csp_nonce():
    """This request's script nonce (for Flask-Admin's csp_nonce_generator)."""
    return getattr(request, "csp_nonce", "")


def no_store(response):
    endpoint = request.endpoint or ""
    if endpoint == "static" or endpoint.endswith(".static"):
        return response
    if "no-store" not in (response.headers.get("Cache-Control") or ""):
        response.headers["Cache-Control"] = "no-store"
    return response

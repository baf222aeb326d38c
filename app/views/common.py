"""Pieces every portal shares: the base view, pagination, the scoped ModelView, error flashing."""
import json
import math
import re

from flask import abort, current_app, flash, redirect, request
from flask_appbuilder import BaseView, ModelView, expose
from flask_login import current_user
from sqlalchemy import func, select

from .. import regions
from ..extensions import db
from ..models import Notification
from ..security import safe_next
from ..workflow import DESTINATION_FIELDS


class PortalView(BaseView):
    """A role's pages; the sidebar comes from `roles.MENUS`."""

    default_view = "home"


def page_args():
    size = request.args.get("size", type=int) or current_app.config["PAGE_SIZE"]
    size = max(1, min(size, current_app.config["PAGE_SIZE_MAX"]))  # page size is capped
    page = max(1, request.args.get("page", type=int) or 1)
    return page, size


class Page:
    """One page of a select(): `items`, `total`, and the numbers the pager shows."""

    def __init__(self, query, count_query=None):
        self.page, self.size = page_args()
        if count_query is None:
            count_query = select(func.count()).select_from(query.order_by(None).subquery())
        self.total = db.session.scalar(count_query)
        self.pages = max(1, math.ceil(self.total / self.size))
        self.page = min(self.page, self.pages)
        self.items = db.session.execute(
            query.limit(self.size).offset((self.page - 1) * self.size)
        ).all()

    def url(self, page):
        args = request.args.to_dict()
        args["page"] = page
        from urllib.parse import urlencode

        return request.path + "?" + urlencode(args)


def flash_error(error):
    """A refused rule (WorkflowError: its message, without the rule number users don't know),
    a bad upload (UploadError) or a plain message."""
    flash(getattr(error, "message", None) or str(error), "danger")


def attempt(action, success):
    """Run a workflow call from a form: flash `success` and return None, or flash the refusal and
    return its field errors (an upload's problem lands on the `proof` field)."""
    from ..uploads import UploadError
    from ..workflow import WorkflowError

    try:
        action()
    except UploadError as e:
        flash(str(e), "danger")
        return {"proof": str(e)}
    except WorkflowError as e:
        flash(e.message, "danger")
        return e.fields or {"_": e.message}
    flash(success, "success")
    return None


def back(default):
    """Redirect to a same-site `next` path only (no open redirect)."""
    return redirect(safe_next(request.form.get("next") or request.args.get("next")) or default)


def recent_messages(limit=5):
    return db.session.scalars(
        select(Notification).where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    ).all()



def ids_from_form(name="ids"):
    from ..labels import parse_id

    out = []
    for raw in request.form.getlist(name):
        value = parse_id(raw)
        if value is None:
            abort(400)
        out.append(value)
    return out


_FAB_NUMBER_ARG = re.compile(r"(page|psize)_.+")
_FAB_FILTER_ARG = re.compile(r"_flt_\d_(.+)")


def refuse_malformed_list_args():
    """FAB's list and show pages turn `page_<View>`, `psize_<View>` and `<pk>` into integers
    without a check (`int("x")` → 500) and pass `_flt_…` values on integer columns to the
    database as they are (a 20-digit number → 500; on PostgreSQL the failed transaction then broke
    the error page too). Here, before any FAB view runs: a page or page size that is not a small
    number → 400; a pk that is not an id → 404; an integer filter that is not one → 400.
    Every FAB model view (ours and FAB's users/roles) has an integer primary key."""
    from ..labels import parse_id

    for key, value in request.args.items(multi=True):
        if _FAB_NUMBER_ARG.fullmatch(key) and parse_id(value) is None:
            abort(400)
    view = getattr(current_app.view_functions.get(request.endpoint), "__self__", None)
    datamodel = getattr(view, "datamodel", None)
    if not isinstance(view, BaseView) or datamodel is None:
        return None
    pk = (request.view_args or {}).get("pk")
    if pk is not None and parse_id(pk) is None:
        abort(404)
    for key, value in request.args.items(multi=True):
        match = _FAB_FILTER_ARG.fullmatch(key)
        if match and datamodel.is_integer(match.group(1)) and value.strip() and parse_id(value) is None:
            abort(400)
    return None


class ScopedModelView(ModelView):
    """FAB's `action` and `action_post` fetch rows by pk without `base_filters` (STACK-NOTES):
    one party could act on another's rows. Here both fetch through the base filters; a pk outside
    them answers 404. `page_size` is capped too (FAB's psize_ has no upper bound)."""

    def _get_scoped(self, pk):
        item = self.datamodel.get(self._deserialize_pk_if_composite(pk), self._base_filters)
        if item is None:
            abort(404)
        return item

    @expose("/action/<string:name>/<pk>", methods=["GET", "POST"])
    def action(self, name, pk):
        abort(404)  # single-row actions go through action_post (POST, CSRF-protected) only

    @expose("/download/<string:filename>")
    def download(self, filename):
        abort(404)  # FAB's file-column download (UPLOAD_FOLDER): no model here has file columns

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        name = request.form.get("action", "")
        action = self.actions.get(name)
        if action is None:
            abort(404)
        permission_name = self.get_action_permission_name(name)
        if not self.appbuilder.sm.has_access(permission_name, self.class_permission_name):
            abort(404)
        items = [self._get_scoped(pk) for pk in request.form.getlist("rowid")]
        return action.func(items)

    def _get_list_widget(self, *args, **kwargs):
        cap = current_app.config["PAGE_SIZE_MAX"]
        if not kwargs.get("page_size") or kwargs["page_size"] > cap or kwargs["page_size"] < 1:
            kwargs["page_size"] = min(self.page_size, cap)
        return super()._get_list_widget(*args, **kwargs)


def destination_details(destination):
    """(label, value) pairs of a destination's details, in the kind's field order."""
    values = json.loads(destination.details or "{}")
    out = []
    for name, label, kind, _required in DESTINATION_FIELDS.get(destination.kind, []):
        value = values.get(name)
        if value:
            out.append((label, regions.full_name(value) if kind == "region" else value))
    return out


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_download(wb, name):
    """An openpyxl workbook built in the request, sent as an .xlsx attachment."""
    import io

    from flask import send_file

    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return send_file(buf, as_attachment=True, download_name=name, mimetype=XLSX_MIME)


_FALLBACK = {}


def rate_allowed(name, setting, key):
    """One hit against the limits in config[`setting`] (e.g. "30 per minute" or
    "5 per minute;30 per hour") for `key` (a client address, an employer id, a login id) under
    `name`; False when over any of them."""
    return rate_hit(name, current_app.config[setting], key)[0]


def rate_hit(name, limits_text, key):
    """One hit against `limits_text` for `key` under `name`: (allowed, seconds until the exhausted
    window frees a hit — 0 when allowed). Flask-Limiter's storage (Redis in production) is shared
    by all workers; when it does not answer, the hit is counted in this process's memory instead,
    so a Redis outage neither fails the page nor lifts the limit."""
    import time

    from limits import parse_many
    from limits.storage import MemoryStorage
    from limits.strategies import MovingWindowRateLimiter

    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True, 0
    key = str(key or "-")
    extension = current_app.appbuilder.sm.limiter
    limiter = None
    if extension is not None and extension.enabled:
        limiter = extension.limiter
    allowed, retry_after = True, 0
    for limit in parse_many(limits_text):
        strategy = limiter
        if strategy is not None:
            try:
                hit = strategy.hit(limit, name, key)
            except Exception:  # noqa: BLE001 — the storage is down: count locally
                current_app.logger.warning("rate-limit storage unavailable; counting %s in process memory", name)
                strategy = None
        if strategy is None:
            strategy = _FALLBACK.setdefault("limiter", MovingWindowRateLimiter(MemoryStorage()))
            hit = strategy.hit(limit, name, key)
        if not hit:
            allowed = False
            try:
                reset = strategy.get_window_stats(limit, name, key).reset_time
                retry_after = max(retry_after, int(reset - time.time()) + 1)
            except Exception:  # noqa: BLE001 — the window's end unknown: the limit's whole period
                retry_after = max(retry_after, limit.get_expiry())
    return allowed, retry_after

"""接口密钥 (issue 21, API keys): a school, the province or an employer that may offer makes keys for its own
systems, sees them (name, prefix, scopes, addresses, expiry, last use) and revokes them. The token
is shown once, on the answer to 创建 (never in a URL, a flash message or a log)."""
from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_login import current_user

from .. import apikeys
from ..workflow import WorkflowError


class ApiKeyView(BaseView):
    route_base = "/account/api-keys"
    default_view = "index"

    def _party(self):
        party = apikeys.party_of(current_user)
        if party is None:
            abort(404)  # a student, or an employer not yet approved (R1)
        return party

    def _page(self, party, values=None, errors=None, token=None, status=200):
        keys = apikeys.keys_of(party)
        return self.render_template(
            "account/api_keys.html", keys=[(k, apikeys.status_of(k)) for k in keys], scopes=apikeys.scopes_for(party),
            values=values or {"scopes": []}, errors=errors or {}, token=token,
            expiry_max=apikeys.EXPIRY_DAYS_MAX), status

    @expose("/")
    @has_access
    def index(self):
        return self._page(self._party())

    @expose("/create", methods=["POST"])
    @has_access
    def create(self):
        party = self._party()
        values = {"name": request.form.get("name", ""), "scopes": request.form.getlist("scopes"),
                  "ip_allow": request.form.get("ip_allow", ""), "expires_days": request.form.get("expires_days", "")}
        try:
            _key, token = apikeys.create_key(current_user, **values)
        except WorkflowError as e:
            flash(e.message, "danger")
            return self._page(party, values, e.fields, status=400)
        flash("接口密钥已创建。密钥只显示这一次，请立即复制并妥善保存", "success")
        return self._page(party, token=token)

    @expose("/<int:key_id>/revoke", methods=["POST"])
    @has_access
    def revoke(self, key_id):
        self._party()
        key = apikeys.revoke_key(current_user, key_id)
        if key is None:
            abort(404)
        flash(f"接口密钥“{key.name}”已吊销，使用它的请求将被拒绝", "success")
        return redirect(url_for(".index"))


def register(appbuilder):
    appbuilder.add_view_no_menu(ApiKeyView())


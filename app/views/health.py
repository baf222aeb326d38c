"""Probes for the load balancer and the person on call: no login, no personal data.

- `/healthz`: the process answers (touches nothing else, so a database outage does not make a
  load balancer restart healthy web processes).
- `/readyz`: the database answers; with REDIS_URL, Redis answers and at least one rq worker has
  sent a heartbeat within READY_WORKER_SECONDS; the outbox backlog (mail pending for longer than
  READY_OUTBOX_MINUTES) is reported. 200 when the database and Redis answer and a worker is alive;
  503 otherwise, with each check's result as JSON.
"""
from datetime import timedelta

from flask import current_app, jsonify
from flask_appbuilder import BaseView, expose
from sqlalchemy import func, select, text

from ..extensions import db
from ..models import Notification, utcnow


class HealthView(BaseView):
    route_base = ""
    default_view = "healthz"

    @expose("/healthz")
    def healthz(self):
        return jsonify(status="ok")

    @expose("/readyz")
    def readyz(self):
        checks = {"database": _database(), "redis": _redis_and_workers()}
        checks["outbox"] = _outbox_backlog() if checks["database"]["ok"] else {"ok": False, "error": "database"}
        ready = checks["database"]["ok"] and checks["redis"]["ok"]
        return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503


def _database():
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 — any failure is "not ready", told by class name only
        db.session.rollback()
        return {"ok": False, "error": exc.__class__.__name__}


def _redis_and_workers():
    if not current_app.config.get("REDIS_URL"):
        return {"ok": True, "configured": False}  # jobs run inline in the web process
    try:
        from rq import Worker

        from ..jobs import redis_connection

        conn = redis_connection()
        conn.ping()
        horizon = utcnow() - timedelta(seconds=current_app.config.get("READY_WORKER_SECONDS", 120))
        beats = [w.last_heartbeat for w in Worker.all(connection=conn)]
        alive = sum(1 for beat in beats if beat is not None and beat.replace(tzinfo=None) >= horizon)
        return {"ok": alive > 0, "configured": True, "workers_alive": alive, "workers": len(beats)}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "configured": True, "error": exc.__class__.__name__}


def _outbox_backlog():
    minutes = current_app.config.get("READY_OUTBOX_MINUTES", 10)
    stale = db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.email_status == "pending", Notification.created_at < utcnow() - timedelta(minutes=minutes)))
    return {"ok": not stale, "pending_over_minutes": minutes, "count": stale}


def register(appbuilder):
    appbuilder.add_view_no_menu(HealthView())

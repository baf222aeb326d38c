"""rq jobs. Jobs take ids (or nothing), re-read state and are idempotent (STYLE.md).

Without REDIS_URL nothing needs to run on a schedule: an overdue offer already reads as expired
(R4, `workflow.effective_status`), and `expire_due_offers` only makes the stored status and the
FlowEvent catch up. The worker/cron processes come with the jobs issue.
"""
from datetime import datetime, timezone


def _app():
    from flask import has_app_context

    if has_app_context():
        return None
    from app import create_app

    return create_app()


def expire_due_offers(now_iso=None):
    """Mark overdue offers 已过期 (set-based, safe to run twice or concurrently). Returns the count."""
    from app import workflow

    now = datetime.fromisoformat(now_iso) if now_iso else datetime.now(timezone.utc)
    app = _app()
    if app is None:
        return workflow.expire_due(now)
    with app.app_context():
        return workflow.expire_due(now)

"""Text messages and the 6-digit codes of 信息验证 (manual §2.2).

Backends (setting SMS_BACKEND):
- ``dev``: records each message in the SMS outbox (`SmsMessage`) and sends nothing; admins read
  the outbox page, tests read the table.
- ``http``: POSTs ``{"phone", "text"}`` as JSON to SMS_HTTP_URL with ``Authorization: Bearer
  SMS_HTTP_TOKEN`` (a provider's gateway or an in-house relay) and records the outcome too.

Codes are stored as an HMAC (never in clear; the outbox masks them except on the dev backend), expire after SMS_CODE_MINUTES, are used once (a
conditional UPDATE claims them), and die after SMS_MAX_ATTEMPTS wrong tries. Sending is limited per
phone (SMS_PER_PHONE_MINUTE per minute, SMS_PER_PHONE_DAY per Shanghai day) and per IP address
(SMS_PER_IP_HOUR per hour) in the database, so the limits hold across processes.
"""
import hashlib
import hmac
import json
import secrets
import urllib.request
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from . import labels
from .extensions import db
from .models import SmsCode, SmsMessage, utcnow


# After a code is sent, 发送验证码 counts down this long (static/sms-countdown.js): the phone gets
# SMS_PER_PHONE_MINUTE codes a minute, so an earlier click would only be refused.
RESEND_SECONDS = 60


class SmsError(Exception):
    """A refused send or a wrong code; the message is shown to the user."""


def _hash(phone, code):
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- backends

def _send_dev(phone, text):
    return "sent", None


def _send_http(phone, text):
    url = current_app.config.get("SMS_HTTP_URL")
    if not url:
        return "failed", "SMS_HTTP_URL 未配置"
    request = urllib.request.Request(
        url, data=json.dumps({"phone": phone, "text": text}, ensure_ascii=False).encode(), method="POST",
        headers={"Content-Type": "application/json",
                 "Authorization": f"Bearer {current_app.config.get('SMS_HTTP_TOKEN') or ''}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            if 200 <= response.status < 300:
                return "sent", None
            return "failed", f"HTTP {response.status}"
    except OSError as exc:  # URLError, timeouts, refused connections
        return "failed", str(exc)[:300]


BACKENDS = {"dev": _send_dev, "http": _send_http}


def send(phone, text, now=None, secret=None):
    """Send one message through the configured backend and record it in the outbox. A real
    backend's outbox row has `secret` (the code) masked; the dev backend keeps it, since reading
    the outbox is how a developer or a test receives it."""
    name = current_app.config.get("SMS_BACKEND", "dev")
    status, error = BACKENDS[name](phone, text)
    recorded = text.replace(secret, "******") if secret and name != "dev" else text
    db.session.add(SmsMessage(phone=phone, body=recorded, backend=name, status=status, error=error,
                              created_at=now or utcnow()))
    return status == "sent"


# ---------------------------------------------------------------- verification codes

def _count(*where):
    return db.session.scalar(select(func.count()).select_from(SmsCode).where(*where))


def send_code(phone, ip=None, student_id=None, purpose="verify", now=None):
    """Issue a new code for `phone` unless a limit says no (SmsError). Commits."""
    cfg = current_app.config
    now = now or utcnow()
    if _count(SmsCode.phone == phone, SmsCode.created_at > now - timedelta(minutes=1)) >= cfg["SMS_PER_PHONE_MINUTE"]:
        raise SmsError("验证码发送过于频繁，请1分钟后再试")
    day_start = labels.day_start_utc(labels.local(now).date())
    if _count(SmsCode.phone == phone, SmsCode.created_at >= day_start) >= cfg["SMS_PER_PHONE_DAY"]:
        raise SmsError("该手机号今日获取验证码次数已达上限，请明天再试；如仍收不到短信，请联系学校就业部门老师")
    if ip and _count(SmsCode.ip == ip, SmsCode.created_at > now - timedelta(hours=1)) >= cfg["SMS_PER_IP_HOUR"]:
        raise SmsError("本网络获取验证码次数过多，请稍后再试")
    code = f"{secrets.randbelow(10 ** 6):06d}"
    minutes = cfg["SMS_CODE_MINUTES"]
    db.session.add(SmsCode(phone=phone, purpose=purpose, student_id=student_id, code_hash=_hash(phone, code),
                           ip=ip, created_at=now, expires_at=now + timedelta(minutes=minutes)))
    sent = send(phone, f"{cfg['SMS_SIGN']}您的验证码为{code}，{minutes}分钟内有效。如非本人操作，请忽略本短信。", now,
                secret=code)
    db.session.commit()
    if not sent:
        raise SmsError("短信发送失败，请稍后重试；如仍收不到短信，请联系学校就业部门老师")
    return True


def consume_code(phone, code, purpose="verify", now=None):
    """Check `code` against the newest live code of `phone` and use it up (inside the caller's
    transaction: the caller commits). Wrong codes count against the code and are committed at once."""
    now = now or utcnow()
    code = (code or "").strip()
    latest = db.session.scalar(
        select(SmsCode).where(SmsCode.phone == phone, SmsCode.purpose == purpose, SmsCode.used_at.is_(None),
                              SmsCode.expires_at > now)
        .order_by(SmsCode.id.desc()).limit(1))
    if latest is None:
        raise SmsError("验证码已失效或尚未获取，请点击“发送验证码”重新获取")
    if not hmac.compare_digest(latest.code_hash, _hash(phone, code)):
        latest.attempts += 1
        spent = latest.attempts >= current_app.config["SMS_MAX_ATTEMPTS"]
        if spent:
            latest.used_at = now
        db.session.commit()
        if spent:
            raise SmsError("验证码错误次数过多，该验证码已失效，请重新获取")
        raise SmsError("验证码不正确")
    # Claim it: of two requests with the same code, only one sees used_at still empty.
    claimed = db.session.execute(
        update(SmsCode).where(SmsCode.id == latest.id, SmsCode.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if not claimed:
        raise SmsError("验证码已使用，请重新获取")
    return True

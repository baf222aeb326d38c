"""API keys (issue 21): who may make one, what it may do, and the check of every API call.

A key belongs to a party — a school, the province, or an employer that may offer (R1) — and acts
with the authority of the login that made it. The token `jyk_<prefix>_<secret>` is shown once;
the database keeps the prefix (its public id, shown on the page and in logs) and the SHA-256 of
the whole token. A key works within its scopes, from its allowed addresses, until it expires or is
revoked, and only while the login that made it is active.
"""
import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from . import labels, workflow
from .workflow.base import control_problem
from .extensions import db
from .models import ApiAccessKey, AppUser, Employer
from .roles import ROLE_EMPLOYER, ROLE_PROVINCE, ROLE_SCHOOL

TOKEN_PREFIX = "jyk_"
_TOKEN = re.compile(r"jyk_([0-9a-f]{8})_([A-Za-z0-9_\-]{43})")
NAME_MAX = 50
IP_ALLOW_MAX = 500
EXPIRY_DAYS_MAX = 730

# scope → (label, the parties that may hold it)
SCOPES = {
    "students:read": ("读取本校学生", ("school",)),
    "students:write": ("同步学生生源（批量新增/更新）", ("school",)),
    "agreements:read": ("读取本校协议书", ("school",)),
    "agreements:review": ("签约审核（鉴证 / 不通过）", ("school",)),
    "statistics:read": ("读取全省统计数据", ("province",)),
    "changes:read": ("读取状态变更流水", ("school", "province", "employer")),
}


@dataclass(frozen=True)
class Party:
    """Whose keys: kind (school | employer | province) and the party's id (province: None)."""

    kind: str
    id: int | None = None

    def clause(self):
        """ApiAccessKey rows of this party."""
        return ((ApiAccessKey.party == self.kind) & (ApiAccessKey.school_id.is_(None) if self.kind != "school"
                                                     else ApiAccessKey.school_id == self.id)
                & (ApiAccessKey.employer_id.is_(None) if self.kind != "employer"
                   else ApiAccessKey.employer_id == self.id))


def party_of(user):
    """The party whose keys `user` manages, or None: a school's reviewer, the province,
    an employer that may offer (R1)."""
    names = {r.name for r in getattr(user, "roles", [])}
    if ROLE_SCHOOL in names and user.school_id:
        return Party("school", user.school_id)
    if ROLE_EMPLOYER in names and user.employer_id:
        employer = db.session.get(Employer, user.employer_id)
        if employer is not None and workflow.employer_offer_refusal(employer) is None:
            return Party("employer", employer.id)
        return None
    if ROLE_PROVINCE in names:
        return Party("province")
    return None


def scopes_for(party):
    return {name: label for name, (label, parties) in SCOPES.items() if party.kind in parties}


def keys_of(party):
    return db.session.scalars(select(ApiAccessKey).where(party.clause())
                              .order_by(ApiAccessKey.created_at.desc(), ApiAccessKey.id.desc())).all()


def status_of(key, now=None):
    """有效 / 已吊销 / 已过期, for the page and the check."""
    if key.revoked_at is not None:
        return "已吊销"
    if key.expires_at is not None and key.expires_at <= labels.as_utc(now):
        return "已过期"
    return "有效"


def _networks(text):
    """'10.0.0.0/8, 203.0.113.7' → [networks], or raises ValueError with the bad entry."""
    out = []
    for part in re.split(r"[\s,;，]+", (text or "").strip()):
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(part) from None
    return out


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(user, name, scopes, ip_allow="", expires_days=None, now=None):
    """A new key of `user`'s party: (the row, the token to show once). Input problems raise
    WorkflowError with field errors (nothing is written)."""
    party = party_of(user)
    if party is None:
        raise workflow.WorkflowError("当前账号不能创建接口密钥", "R0")
    n = labels.as_utc(now)
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "请填写密钥名称"
    elif len(name) > NAME_MAX:
        errors["name"] = f"名称不能超过{NAME_MAX}个字"
    elif control_problem(name, "名称"):
        errors["name"] = control_problem(name, "名称")
    allowed = scopes_for(party)
    scopes = sorted(set(scopes or ()))
    if not scopes:
        errors["scopes"] = "请至少选择一项权限"
    elif any(s not in allowed for s in scopes):
        errors["scopes"] = "所选权限不适用于本单位"
    ip_allow = (ip_allow or "").strip()
    try:
        networks = _networks(ip_allow)
    except ValueError as exc:
        errors["ip_allow"] = f"“{str(exc)[:40]}”不是有效的地址或网段（如 202.114.0.0/16）"
    else:
        if len(ip_allow) > IP_ALLOW_MAX:
            errors["ip_allow"] = f"来源地址白名单不能超过{IP_ALLOW_MAX}个字符"
        ip_allow = ",".join(str(net) for net in networks)
    expires_at = None
    if expires_days not in (None, ""):
        days = labels.parse_id(expires_days)
        if days is None or not 1 <= days <= EXPIRY_DAYS_MAX:
            errors["expires_days"] = f"有效期为 1 至 {EXPIRY_DAYS_MAX} 天，或留空表示长期有效"
        else:
            expires_at = n + timedelta(days=days)
    if errors:
        raise workflow.WorkflowError("接口密钥信息填写有误，请按提示修改", "R15", errors)
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiAccessKey(prefix=prefix, token_hash=token_hash(token), name=name, party=party.kind,
                       school_id=party.id if party.kind == "school" else None,
                       employer_id=party.id if party.kind == "employer" else None,
                       user_id=user.id, scopes=" ".join(scopes), ip_allow=ip_allow or None,
                       expires_at=expires_at, created_at=n)
    db.session.add(key)
    db.session.commit()
    return key, token


def revoke_key(user, key_id, now=None):
    """吊销 a key of `user`'s party (another party's id: None, the page answers 404)."""
    party = party_of(user)
    if party is None:
        return None
    key = db.session.scalar(select(ApiAccessKey).where(ApiAccessKey.id == key_id, party.clause()))
    if key is None:
        return None
    if key.revoked_at is None:
        key.revoked_at, key.revoked_by_id = labels.as_utc(now), user.id
        db.session.commit()
    return key


def authenticate(token, address, now=None):
    """The key a bearer token names, if it may be used now from `address`: (key, None), or
    (None, why) — why is for the log (by prefix only), never for the caller."""
    match = _TOKEN.fullmatch(token or "")
    if match is None:
        return None, "malformed"
    key = db.session.scalar(select(ApiAccessKey).where(ApiAccessKey.prefix == match.group(1)))
    if key is None or not hmac.compare_digest(key.token_hash, token_hash(token)):
        return None, "unknown"
    n = labels.as_utc(now)
    if status_of(key, n) != "有效":
        return None, "revoked or expired"
    user = db.session.get(AppUser, key.user_id)
    if user is None or not user.is_active:
        return None, "login inactive"
    if party_of(user) != Party(key.party, key.school_id or key.employer_id):
        return None, "the login's party changed (or the employer may no longer offer)"
    if key.ip_allow:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return None, "address"
        if not any(ip in net for net in _networks(key.ip_allow)):
            return None, "address"
    if key.last_used_at is None or n - key.last_used_at >= timedelta(seconds=60) or key.last_used_ip != address:
        db.session.execute(update(ApiAccessKey).where(ApiAccessKey.id == key.id)
                           .values(last_used_at=n, last_used_ip=(address or "")[:45]))
        db.session.commit()
    return key, None


def has_scope(key, scope):
    return scope in (key.scopes or "").split()
